/**
 * The database-side counting (countNumerics: InfluxQL COUNT … GROUP BY time(1m) with the flag mask)
 * on a real influxd 1.6 gives the same buckets as the memory store's arithmetic, and the billing and
 * QC reports computed over it give the hand-computed numbers of synthetic-case.fixture.ts.
 */
import t from 'tap';
import { startTestInfluxd } from '../../../test/helpers/influxdb.js';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { EventStore } from '../events/event-store.js';
import { InfluxV1Store } from '../series/influx-v1.js';
import { MemorySeriesStore } from '../series/memory.js';
import type { NumericCounts, SeriesStore } from '../series/types.js';
import { createServices } from '../services.js';
import { computeBilling } from './billing.js';
import { EXCLUDE_FLAGS, MINUTE, minuteOf } from './case-data.js';
import { computeQc } from './qc.js';
import { EXPECTED, M, scenarioPoints, setupScenario } from './synthetic-case.fixture.js';

const influx = await startTestInfluxd(t);
const config = loadIngestConfig({ input: { db: { path: ':memory:' }, series: { kind: 'memory' }, log: { level: 'silent' } }, env: {} });
const T0 = minuteOf(Date.now()) - 240 * M;

/** means rounded: the database sums in another order than the memory store */
const rounded = (c: NumericCounts) => ({ ...c, series: c.series.map((s) => ({ ...s, mean: Math.round(s.mean * 1e9) / 1e9 })) });

t.test('countNumerics, billing and QC: influxd equals the memory store and the hand-computed numbers', async (t) => {
  const db = await influx.createDatabase('reports');
  const real = new InfluxV1Store({
    url: influx.url,
    database: db,
    retentionPolicy: 'autogen',
    retentionDuration: '0s',
    createDatabase: false,
    maxLinesPerRequest: 5000,
    concurrency: 2,
    requestTimeoutMs: 15_000,
    retryMinMs: 10,
    retryMaxMs: 50,
    retryAttempts: 3,
  });
  await real.open();
  t.teardown(() => real.close());
  const memory = new MemorySeriesStore();
  const pts = scenarioPoints(T0);
  t.equal((await real.write(pts)).points, pts.length);
  await memory.write(pts);

  for (const bed of ['or1-bed', 'or2-bed']) {
    const q = { bed, from: T0, to: T0 + 60 * M - 1, bucketMs: MINUTE, excludeFlags: EXCLUDE_FLAGS };
    const [a, b] = await Promise.all([real.countNumerics(q), memory.countNumerics(q)]);
    t.ok(a.series.length > 0 && a.devices.length > 0, `${bed}: buckets came back`);
    t.same(rounded(a), rounded(b), `${bed}: same buckets, counts, min/max/mean`);
  }
  const spo2 = await real.countNumerics({
    bed: 'or1-bed',
    from: T0,
    to: T0 + 60 * M - 1,
    bucketMs: MINUTE,
    excludeFlags: EXCLUDE_FLAGS,
    mdcs: ['MDC_PULS_OXIM_SAT_O2'],
  });
  t.equal(new Set(spo2.series.map((s) => s.t)).size, EXPECTED.billing1.spo2, 'invalid and demo values are not counted');
  t.ok(
    spo2.devices.some((d) => d.t === T0 + 12 * M && d.points > 0),
    'the device still stored points in an invalid minute',
  );

  const services = createServices(config, { series: memory });
  t.teardown(() => services.db.close());
  const ids = setupScenario(services, T0);
  const events = new EventStore(services.db, services.cases, services.audit);
  const c1 = services.cases.get(ids.case1)!;
  const report = (series: SeriesStore) =>
    computeQc({ series, cases: services.cases, events, registry: services.registry }, { from: T0, to: T0 + 60 * M }, Date.now());

  const [br, bm] = await Promise.all([computeBilling(real, c1, Date.now()), computeBilling(memory, c1, Date.now())]);
  t.same(br, bm);
  t.same(Object.fromEntries(br.families.map((f) => [f.family, f.monitoredMinutes])), EXPECTED.billing1);
  t.equal(br.families.find((f) => f.family === 'nibp')?.measurements, EXPECTED.nibpMeasurements);

  const [qr, qm] = await Promise.all([report(real), report(memory)]);
  t.same(qr, qm);
  t.same(Object.fromEntries(qr.devices.map((d) => [d.device, [d.caseMinutes, d.minutesWithData, d.uptime]])), EXPECTED.devices);
  t.same(
    qr.cases.find((c) => c.caseId === ids.case1)?.hypothermia.map((e) => e.minTempC),
    [35.2],
  );
});
