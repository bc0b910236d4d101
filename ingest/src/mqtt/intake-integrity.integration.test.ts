/**
 * Intake integrity against a real InfluxDB 1.6 (the probe's findings, read back with InfluxQL, not
 * through orlink's reader): an over-cap envelope dead-lettered while the next is stored; 5,000 codes
 * create at most the budget's series; future/stale readings land in numeric_quarantine and the main
 * series is untouched; after a restart (empty index) the same readings under a new boot id are
 * duplicates and other values (60 → 10) stay apart in numeric_conflict, found by reading InfluxDB.
 */
import t, { type Test } from 'tap';
import { startTestInfluxd } from '../../../test/helpers/influxdb.js';
import { encodeEnvelope, type DeviceBatch, type Envelope } from '../../../schemas/src/envelope.js';
import type { NumericObs } from '../../../schemas/src/observation.js';
import { InfluxV1Store } from '../series/influx-v1.js';
import { BatchProcessor, type ProcessorDeps } from './processor.js';
import { fixtureDb, silent } from './test-fixtures.js';

const influx = await startTestInfluxd(t);
const T = 'orlink/v1/s1/or1/bed1/gw1/data';
const HOUR = 3_600_000;
const signal = () => new AbortController().signal;

const num = (t: number, value: number, vendorCode = 'hr'): NumericObs => ({ kind: 'numeric', mdc: null, code: null, value, unit: '/min', t, vendorCode });
const dev = (numerics: NumericObs[]): DeviceBatch => ({ deviceId: 'mon1', profileId: 'ge/s5', numerics, waves: [], alarms: [], settings: [] });
const env = (seq: number, sentAt: number, numerics: NumericObs[], bootId = 'boot-a'): Envelope => ({
  gatewayId: 'gw1',
  bootId,
  seq,
  sentAt,
  devices: [dev(numerics)],
});
const msg = (e: Envelope) => ({ topic: T, payload: encodeEnvelope(e) });

async function setup(t: Test) {
  const database = await influx.createDatabase('integrity');
  const store = new InfluxV1Store({
    url: influx.url,
    database,
    retentionPolicy: 'raw',
    retentionDuration: '30d',
    createDatabase: true,
    maxLinesPerRequest: 5000,
    concurrency: 2,
    requestTimeoutMs: 10_000,
    retryMinMs: 10,
    retryMaxMs: 50,
    retryAttempts: 3,
  });
  await store.open();
  const f = await fixtureDb();
  t.teardown(() => f.db.close());
  const processor = (extra: Partial<ProcessorDeps> = {}) =>
    new BatchProcessor({ prefix: 'orlink/v1', ...f, series: store, logger: silent, retryMinMs: 5, retryMaxMs: 20, ...extra });
  const influxql = async (q: string): Promise<unknown[][]> => {
    const res = await fetch(`${influx.url}/query?db=${database}&rp=raw&epoch=ms`, { method: 'POST', body: new URLSearchParams({ q }) });
    const j = (await res.json()) as { results: { series?: { values: unknown[][] }[] }[] };
    return (j.results[0].series ?? []).flatMap((s) => s.values);
  };
  return { ...f, store, processor, influxql };
}

t.test("over-cap envelope dead-lettered and counted, the next stored; 5,000 codes create only the budget's series", async (t) => {
  const s = await setup(t);
  const p = s.processor({ intake: { maxReadingsPerEnvelope: 6000, maxNewSeriesPerGatewayHour: 100 } });
  const now = Date.now();
  const over = env(
    1,
    now,
    Array.from({ length: 6001 }, (_, i) => num(now - i, 1)),
  );
  const codes = env(
    2,
    now,
    Array.from({ length: 5000 }, (_, i) => num(now, i, `code-${i}`)),
  );
  const out = await p.process([msg(over), msg(codes)], signal());
  t.same(out.ack, [true, true]);
  t.equal(s.metrics.get('envelopes_over_cap_total'), 1);
  t.same(
    s.deadLetters
      .list()
      .map((d) => d.code)
      .sort(),
    ['ING_ERR_ENVELOPE_OVER_CAP', 'ING_ERR_SERIES_BUDGET'],
  );
  t.equal(s.metrics.get('series_budget_refused_total'), 4900);
  t.equal((await s.influxql('SHOW SERIES FROM "numeric"')).length, 100, '100 series in InfluxDB, not 5,000');
  t.same(await s.influxql('SELECT count("value") FROM "numeric"'), [[0, 100]], 'nothing of the over-cap envelope');
});

t.test('future and stale readings are quarantined; the main series is untouched', async (t) => {
  const s = await setup(t);
  const p = s.processor();
  const now = Date.now();
  await p.process([msg(env(1, now, [num(now, 60)]))], signal());
  await p.process([msg(env(2, now, [num(now + 365 * 24 * HOUR, 10)])), msg(env(3, now, [num(now - 24 * HOUR, 11)]))], signal());
  t.equal(s.metrics.get('readings_time_quarantined_total'), 2);
  t.same(await s.influxql('SELECT "value" FROM "numeric" WHERE time > 0'), [[now, 60]]);
  const q = await s.influxql('SELECT "value", "q_reason", "q_boot", "q_seq" FROM "numeric_quarantine" WHERE time > 0 AND time < now() + 400d');
  t.same(q, [
    [now - 24 * HOUR, 11, 'behind-envelope', 'boot-a', 3],
    [now + 365 * 24 * HOUR, 10, 'future', 'boot-a', 2],
  ]);
  const timeline = await s.store.query({ bed: 'bed1', from: now - 2 * 24 * HOUR, to: now + 400 * 24 * HOUR });
  t.same(
    timeline.numerics.map((n) => n.value),
    [60],
    'the reader (timeline) sees the main series only',
  );
});

t.test('after a restart: same readings under a new boot id are duplicates, other values (60 → 10) stay apart', async (t) => {
  const s = await setup(t);
  const now = Date.now();
  const old = now - 30 * 60_000; // older than the in-memory window: found by a lookup in InfluxDB
  await s.processor().process([msg(env(1, now, [num(now, 60), num(old, 61)]))], signal());
  const p2 = s.processor(); // a new process: nothing in memory
  await p2.process([msg(env(1, now + 100, [num(now, 60), num(old, 61)], 'boot-b'))], signal());
  t.equal(p2.integrity.index.stats.loads + p2.integrity.index.stats.lookups, 2, 'one load of the bed, one lookup');
  t.equal(s.metrics.get('readings_duplicate_total'), 2);
  await p2.process([msg(env(2, now + 200, [num(now, 10), num(old, 11)], 'boot-c'))], signal());
  t.equal(s.metrics.get('readings_conflicting_total'), 2);
  t.same(
    await s.influxql('SELECT "value" FROM "numeric" WHERE time > 0'),
    [
      [old, 61],
      [now, 60],
    ],
    'the stored values stay',
  );
  t.same(await s.influxql('SELECT "value", "c_boot", "c_seq" FROM "numeric_conflict" WHERE time > 0'), [
    [old, 11, 'boot-c', 2],
    [now, 10, 'boot-c', 2],
  ]);
});
