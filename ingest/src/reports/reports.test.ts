/**
 * Billing and QC rules on the memory series store with the hand-computed scenario of
 * synthetic-case.fixture.ts; the routes (roles, site limits, JSON = computed report, CSV parsed back,
 * no patient identifier); CSV quoting; hypothermia runs.
 */
import t, { type Test } from 'tap';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { build } from '../app.js';
import type { Role } from '../auth/roles.js';
import { bearer, mintToken } from '../auth/test-tokens.js';
import { EventStore } from '../events/event-store.js';
import { MemorySeriesStore } from '../series/memory.js';
import { createServices } from '../services.js';
import { billingOf, computeBilling } from './billing.js';
import { collectCase, minuteOf, type CaseData } from './case-data.js';
import { parseCsv, toCsv } from './csv.js';
import { familyOf } from './families.js';
import { computeQc, hypothermiaEpisodes } from './qc.js';
import { EXPECTED, M, scenarioPoints, setupScenario } from './synthetic-case.fixture.js';

const config = loadIngestConfig({ input: { db: { path: ':memory:' }, series: { kind: 'memory' }, log: { level: 'silent' } }, env: {} });
const T0 = minuteOf(Date.now()) - 240 * M;

async function setup(t: Test) {
  const series = new MemorySeriesStore();
  const services = createServices(config, { series });
  const ids = setupScenario(services, T0);
  services.registry.createSite({ id: 'elsewhere', name: 'Elsewhere' });
  await series.write(scenarioPoints(T0));
  const app = await build({ config, services });
  t.teardown(async () => {
    await app.close();
    services.db.close();
  });
  const as = (role: Role, site?: string) => {
    const headers = bearer(mintToken(services, role, { site }));
    return async (url: string) => {
      const res = await app.inject({ method: 'GET', url, headers });
      return { status: res.statusCode, type: String(res.headers['content-type']), text: res.body };
    };
  };
  return { services, ids, as };
}

t.test('family table', async (t) => {
  for (const [param, fam] of [
    ['MDC_ECG_HEART_RATE', 'ecg'],
    ['MDC_PRESS_BLD_NONINV_SYS', 'nibp'],
    ['MDC_PRESS_CUFF_MEAN', 'nibp'],
    ['MDC_PULS_OXIM_SAT_O2', 'spo2'],
    ['MDC_CONC_AWAY_CO2_ET', 'etco2'],
    ['MDC_PRESS_BLD_ART_ABP_MEAN', 'invasive-pressure'],
    ['MDC_PRESS_BLD_VEN_CENT_MEAN', 'invasive-pressure'],
    ['MDC_EEG_BISPECTRAL_INDEX', 'bis-entropy'],
    ['MDC_X_GE_ENTROPY_STATE', 'bis-entropy'],
    ['BIS', 'bis-entropy'],
    ['MDC_TEMP_ESOPH', 'temperature'],
    ['MDC_TEMP_SKIN', 'temperature'],
    ['MDC_TEMP_DIFF', null],
    ['MDC_CONC_AWAY_CO2_INSP', null],
    ['MDC_PULS_OXIM_PULS_RATE', null],
    ['MDC_SAT_O2_VEN', null],
    ['XYZ', null],
  ] as const)
    t.equal(familyOf(param), fam, param);
});

t.test('billing of the scenario: minutes per family and NIBP measurements', async (t) => {
  const { services, ids } = await setup(t);
  const b = await computeBilling(services.series, services.cases.get(ids.case1)!, Date.now());
  t.equal(b.caseMinutes, 60);
  t.equal(b.open, false);
  t.same(Object.fromEntries(b.families.map((f) => [f.family, f.monitoredMinutes])), EXPECTED.billing1);
  t.equal(b.families.find((f) => f.family === 'nibp')?.measurements, EXPECTED.nibpMeasurements);
  t.ok(b.families.filter((f) => f.family !== 'nibp').every((f) => f.measurements === null));
});

t.test('NIBP read in small pages (cut inside a time) finds the same measurements', async (t) => {
  const { services, ids } = await setup(t);
  const c = services.cases.get(ids.case1)!;
  const whole = await collectCase(services.series, c, Date.now());
  t.equal(whole.nibpTimes.length, EXPECTED.nibpMeasurements);
  t.same(
    whole.nibpTimes.slice(0, 6),
    [0, 5, 10, 15, 20, 30].map((m) => T0 + m * M + 30_000),
    'held repeats and the failed cycle at 25 are no measurements',
  );
  t.equal(whole.nibpTruncated, false);
  for (const page of [7, 10]) {
    const d = await collectCase(services.series, c, Date.now(), page);
    t.same(d.nibpTimes, whole.nibpTimes, `page ${page}`);
    t.equal(d.nibpTruncated, false);
  }
  // 3 readings a time, pages of 3: two pages per time, so the page cap (NIBP_MAX_PAGES) ends the read early and says so
  const capped = await collectCase(services.series, c, Date.now(), 3);
  t.equal(capped.nibpTruncated, true);
  t.ok(capped.nibpTimes.length < whole.nibpTimes.length);
  t.same(capped.nibpTimes, whole.nibpTimes.slice(0, capped.nibpTimes.length), 'a prefix of the measurements');
});

t.test('QC report of the scenario', async (t) => {
  const { services, ids } = await setup(t);
  const events = new EventStore(services.db, services.cases, services.audit);
  const r = await computeQc({ series: services.series, cases: services.cases, events, registry: services.registry }, { from: T0, to: T0 + 60 * M }, Date.now());
  t.same(r.cases.map((c) => c.caseId).sort(), [ids.case1, ids.case2].sort());
  const c1 = r.cases.find((c) => c.caseId === ids.case1)!;
  t.same(c1.anesthesia, {
    from: T0 + 2 * M,
    to: T0 + 58 * M,
    minutes: EXPECTED.qc1.anesthesiaMinutes,
    startFrom: 'anesthesia-start',
    endFrom: 'out-of-room',
    fromEvents: true,
  });
  t.same(Object.fromEntries(c1.families.map((f) => [f.family, f.monitoredMinutes])), EXPECTED.qc1.minutes);
  t.same(Object.fromEntries(c1.families.map((f) => [f.family, f.share])), EXPECTED.qc1.share);
  t.ok(c1.families.every((f) => f.monitored));
  t.same(
    c1.hypothermia,
    EXPECTED.qc1.hypothermia.map((e) => ({ start: T0 + e.startMin * M, end: T0 + e.endMin * M, minutes: e.minutes, minTempC: e.minTempC })),
  );
  t.equal(c1.minutesToIncision, EXPECTED.qc1.minutesToIncision);
  t.same(c1.completeness, { present: ['in-room', 'anesthesia-start', 'incision', 'surgery-end', 'out-of-room'], missing: [], share: 1 });

  const c2 = r.cases.find((c) => c.caseId === ids.case2)!;
  t.same(c2.anesthesia, { from: T0, to: T0 + 30 * M, minutes: EXPECTED.qc2.anesthesiaMinutes, startFrom: 'case', endFrom: 'case', fromEvents: false });
  t.match(
    c2.families.find((f) => f.family === 'ecg'),
    { monitored: true, monitoredMinutes: EXPECTED.qc2.ecgMinutes, share: EXPECTED.qc2.ecgShare },
  );
  t.match(
    c2.families.find((f) => f.family === 'spo2'),
    { monitored: false, monitoredMinutes: 0, share: 0 },
  );
  t.equal(c2.minutesToIncision, null);
  t.same(c2.completeness.share, 0);
  t.same(c2.hypothermia, []);

  t.same(Object.fromEntries(r.devices.map((d) => [d.device, [d.caseMinutes, d.minutesWithData, d.uptime]])), EXPECTED.devices);
  t.same(Object.fromEntries(r.rooms.map((m) => [m.room, [m.caseMinutes, m.monitoredMinutes]])), EXPECTED.rooms);

  // a window over the second half of case 1 only: device and room minutes are clipped to it, per-case numbers are not
  const half = await computeQc(
    { series: services.series, cases: services.cases, events, registry: services.registry },
    { from: T0 + 30 * M, to: T0 + 60 * M },
    Date.now(),
  );
  t.same(
    half.cases.map((c) => c.caseId),
    [ids.case1],
  );
  t.same(half.cases[0].families, c1.families);
  t.same(Object.fromEntries(half.devices.map((d) => [d.device, [d.caseMinutes, d.minutesWithData]])), { mon1: [30, 30], vent1: [30, 25], pump9: [30, 0] });
});

t.test('routes: roles, JSON equals the computed report, CSV parses back, no identifiers', async (t) => {
  const { services, ids, as } = await setup(t);
  const admin = as('admin');

  const billing = await as('recorder')(`/cases/${ids.case1}/billing`);
  t.equal(billing.status, 200);
  const bj = JSON.parse(billing.text);
  const direct = await computeBilling(services.series, services.cases.get(ids.case1)!, Date.now());
  t.same(bj, direct, 'the response schema keeps every field');
  const bcsv = await admin(`/cases/${ids.case1}/billing?format=csv`);
  t.equal(bcsv.status, 200);
  t.match(bcsv.type, /^text\/csv/);
  const rows = parseCsv(bcsv.text);
  t.same(rows[0], ['case_id', 'from', 'to', 'open', 'case_minutes', 'family', 'monitored_minutes', 'measurements']);
  t.equal(rows.length, 1 + 7);
  for (const row of rows.slice(1)) {
    const f = bj.families.find((x: { family: string }) => x.family === row[5]);
    t.equal(Number(row[6]), f.monitoredMinutes, row[5]);
    t.equal(row[7], f.measurements === null ? '' : String(f.measurements));
    t.equal(row[0], ids.case1);
    t.equal(row[4], '60');
  }
  t.equal((await as('viewer')(`/cases/${ids.case1}/billing`)).status, 403);
  t.equal((await as('biomed')(`/cases/${ids.case1}/billing`)).status, 403);
  t.equal((await as('recorder', 'elsewhere')(`/cases/${ids.case1}/billing`)).status, 403);
  t.equal((await admin('/cases/nope/billing')).status, 404);

  const url = `/qc?from=${T0}&to=${T0 + 60 * M}`;
  const qc = await as('viewer')(url);
  t.equal(qc.status, 200);
  const events = new EventStore(services.db, services.cases, services.audit);
  t.same(
    JSON.parse(qc.text),
    await computeQc({ series: services.series, cases: services.cases, events, registry: services.registry }, { from: T0, to: T0 + 60 * M }, Date.now()),
  );
  t.notMatch(qc.text, /MRN-SECRET-1|externalIds|mrn/);
  const qcsv = await admin(`${url}&format=csv`);
  t.match(qcsv.type, /^text\/csv/);
  t.notMatch(qcsv.text, /MRN-SECRET-1/);
  const q = parseCsv(qcsv.text);
  t.same(q[0], ['record', 'id', 'metric', 'value']);
  const get = (record: string, id: string, metric: string) => q.find((r) => r[0] === record && r[1] === id && r[2] === metric)?.[3];
  t.equal(get('case', ids.case1, 'spo2.share'), '0.8929');
  t.equal(get('case', ids.case1, 'hypothermia.1.min_temp_c'), '35.2');
  t.equal(get('case', ids.case1, 'minutes_to_incision'), '15.5');
  t.equal(get('case', ids.case2, 'minutes_to_incision'), '');
  t.equal(get('case', ids.case2, 'completeness.missing'), 'in-room anesthesia-start incision surgery-end out-of-room');
  t.equal(get('device', 'vent1', 'uptime'), '0.8333');
  t.equal(get('room', 'or2', 'monitored_minutes'), '25');

  t.equal((await as('recorder')(url)).status, 403);
  t.equal((await as('viewer', 's')(url)).status, 200);
  t.equal((await as('viewer', 'elsewhere')(`${url}&site=s`)).status, 403);
  const none = JSON.parse((await as('viewer', 'elsewhere')(url)).text);
  t.same(none.cases, [], 'a token limited to another site sees no case');
  t.equal((await admin(`/qc?from=${T0}&to=${T0}`)).status, 400);
  t.equal((await admin(`/qc?from=${T0}&to=${T0 + 32 * 86_400_000}`)).status, 400);
  t.equal((await admin(`/qc?from=${T0}`)).status, 400);

  const doc = JSON.parse((await admin('/docs/json')).text);
  t.ok(doc.paths['/qc'].get.responses['200'].content['text/csv'], 'OpenAPI lists the CSV answer');
  t.ok(doc.paths['/cases/{id}/billing'].get.responses['200'].content['application/json']);
});

t.test('CSV: RFC 4180 quoting round-trips', async (t) => {
  const rows = [
    ['a,b', 'say "hi"', 'line1\r\nline2', '', 'plain'],
    [1, true, null, 'x\ny', '"'],
  ];
  const text = toCsv(['h1', 'h,2', 'h3', 'h4', 'h5'], rows);
  t.ok(text.endsWith('\r\n'));
  t.same(parseCsv(text), [
    ['h1', 'h,2', 'h3', 'h4', 'h5'],
    ['a,b', 'say "hi"', 'line1\r\nline2', '', 'plain'],
    ['1', 'true', '', 'x\ny', '"'],
  ]);
  t.throws(() => parseCsv('"open'));
});

t.test('hypothermia: runs need 5 consecutive minutes below 36.0; a gap or a warm minute ends a run', async (t) => {
  const temps = new Map<number, number>();
  const base = 1_000 * M;
  for (let m = 0; m < 4; m++) temps.set(base + m * M, 35); // 4 minutes: no episode
  temps.set(base + 4 * M, 36.0); // exactly 36.0 is not below
  for (let m = 5; m < 11; m++) temps.set(base + m * M, 35.9); // 6 minutes: an episode
  for (let m = 12; m < 15; m++) temps.set(base + m * M, 34); // after a gap (minute 11 missing): 3 + 3 split by minute 15
  for (let m = 16; m < 19; m++) temps.set(base + m * M, 34);
  t.same(hypothermiaEpisodes(temps, base, base + 30 * M), [{ start: base + 5 * M, end: base + 11 * M, minutes: 6, minTempC: 35.9 }]);
  t.same(
    hypothermiaEpisodes(temps, base + 6 * M, base + 30 * M),
    [{ start: base + 6 * M, end: base + 11 * M, minutes: 5, minTempC: 35.9 }],
    'clipped to the window',
  );
});

t.test("billing of a moved case: the minute of the move is one case minute, a family's minute counts once", async (t) => {
  const or = { bed: 'or', from: T0 + 20_000, to: T0 + M + 30_000 };
  const pacu = { bed: 'pacu', from: T0 + M + 30_000, to: T0 + 2 * M + 10_000 };
  const d: CaseData = {
    windows: [or, pacu],
    // ECG only in the OR (minutes 0, 1), SpO2 on both beds (minute 1 on both, 2 in the PACU)
    family: new Map([
      ['ecg', new Set([T0, T0 + M])],
      ['spo2', new Set([T0 + M, T0 + 2 * M])],
    ]),
    nibpTimes: [],
    coreTemp: new Map(),
    monitoredByBed: new Map(),
    deviceMinutes: new Map(),
    nibpTruncated: false,
  };
  const b = billingOf({ id: 'moved', bedId: 'pacu', start: or.from, end: pacu.to, status: 'closed', externalIds: {}, createdAt: T0, bindings: [or, pacu] }, d);
  t.equal(b.caseMinutes, 3, "minutes 0, 1, 2: the move's minute once");
  t.equal(b.families.find((f) => f.family === 'ecg')?.monitoredMinutes, 2, 'ECG: its two OR minutes, not again in the PACU');
  t.equal(b.families.find((f) => f.family === 'spo2')?.monitoredMinutes, 2, 'SpO2: minute 1 once although both beds measured in it');
});
