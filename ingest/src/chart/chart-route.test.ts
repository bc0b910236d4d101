/**
 * Over REST (build() + inject, memory series): GET /cases/:id/chart (roles, site limits, response
 * schema, grid and params) and GET /cases/:id/timeline?resolution= (means per bucket computed by the
 * store, equal to the raw points averaged by hand; raw unchanged; paging keeps the resolution).
 */
import t, { type Test } from 'tap';
import { Value } from '@sinclair/typebox/value';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import type { NumericObs } from '../../../schemas/src/observation.js';
import { build } from '../app.js';
import { bearer, mintToken } from '../auth/test-tokens.js';
import { ChartBody } from '../routes/chart.js';
import { envelopeToPoints } from '../series/layout.js';
import { MemorySeriesStore } from '../series/memory.js';
import { createServices } from '../services.js';
import { checkChart, simulatedCase } from './sim-case.fixture.js';

const config = loadIngestConfig({ input: { db: { path: ':memory:' }, series: { kind: 'memory' }, log: { level: 'silent' } }, env: {} });
const T0 = Math.floor((Date.now() - 3 * 3600_000) / 300_000) * 300_000;

async function setup(t: Test) {
  const series = new MemorySeriesStore();
  const services = createServices(config, { series });
  const app = await build({ config, services });
  t.teardown(async () => {
    await app.close();
    services.db.close();
  });
  const admin = bearer(mintToken(services, 'admin'));
  const get = async (url: string, headers = admin) => {
    const r = await app.inject({ method: 'GET', url, headers });
    return { status: r.statusCode, body: r.json() };
  };
  const post = async (url: string, payload: object) => (await app.inject({ method: 'POST', url, headers: admin, payload })).json();
  await post('/sites', { id: 's', name: 'S' });
  await post('/sites', { id: 's2', name: 'S2' });
  await post('/rooms', { id: 'r', siteId: 's', name: 'R' });
  await post('/beds', { id: 'b1', roomId: 'r', name: 'b1' });
  return { app, series, services, get, post };
}

t.test('chart over REST: roles, site limit, schema, equals the truth', async (t) => {
  const { series, services, get, post } = await setup(t);
  const sim = await simulatedCase(series, { seed: 3, start: T0, seconds: 1800, bed: 'b1', perKind: 1 });
  const c = await post('/cases', { bed: 'b1', start: T0, end: T0 + 1800_000 });
  const r = await get(`/cases/${c.id}/chart?grid=5m`);
  t.equal(r.status, 200);
  t.ok(Value.Check(ChartBody, r.body), 'body matches the documented schema');
  const check = checkChart(r.body, { ...sim, case: { ...sim.case, id: c.id } });
  t.same([check.mismatches, check.missed, check.spurious], [[], [], []], `${check.points} points equal the truth, artifacts rejected by their rules`);
  t.equal((await get(`/cases/${c.id}/chart`)).body.grid, '5m', 'grid defaults to 5m');
  const one = await get(`/cases/${c.id}/chart?grid=15m&params=MDC_PULS_OXIM_SAT_O2,etco2`);
  t.same(one.body.series.map((s: { vendorCode: string }) => s.vendorCode).sort(), ['etco2', 'spo2']);
  t.equal((await get(`/cases/${c.id}/chart?grid=2m`)).status, 400);
  t.equal((await get('/cases/nope/chart')).status, 404);
  t.equal((await get(`/cases/${c.id}/chart`, bearer(mintToken(services, 'viewer')))).status, 200, 'viewer');
  t.equal((await get(`/cases/${c.id}/chart`, bearer(mintToken(services, 'recorder', { site: 's' })))).status, 200, 'recorder of the site');
  t.equal((await get(`/cases/${c.id}/chart`, bearer(mintToken(services, 'recorder', { site: 's2' })))).status, 403, 'recorder of another site');
  t.equal((await get(`/cases/${c.id}/chart`, bearer(mintToken(services, 'biomed')))).status, 403, 'biomed');
  t.equal((await get(`/cases/${c.id}/chart`, bearer(mintToken(services, 'metrics')))).status, 403, 'metrics');
});

t.test('timeline resolution: means per bucket from the store, raw unchanged, pages keep the resolution', async (t) => {
  const { series, get, post } = await setup(t);
  const numerics: NumericObs[] = [];
  const hr = (s: number) => 60 + (s % 8) / 4;
  for (let s = 0; s < 900; s++)
    numerics.push({ kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, value: hr(s), unit: '/min', t: T0 + s * 1000 + 500, vendorCode: 'hr' });
  const alarms = Array.from({ length: 30 }, (_, i) => i).map((i) => ({
    kind: 'alarm' as const,
    mdc: null,
    code: null,
    text: `a${i}`,
    priority: 'low' as const,
    source: 'technical' as const,
    phase: 'start' as const,
    t: T0 + 10_000 + i * 30_000,
  }));
  await series.write(
    envelopeToPoints(
      { gatewayId: 'g', bootId: 'b', seq: 1, sentAt: T0, devices: [{ deviceId: 'mon', profileId: 'p', numerics, waves: [], alarms, settings: [] }] },
      { site: 's', room: 'r', bed: 'b1' },
    ),
  );
  const c = await post('/cases', { bed: 'b1', start: T0, end: T0 + 900_000 });
  const mean = (a: number, b: number) => {
    let x = 0;
    for (let s = a; s < b; s++) x += hr(s);
    return x / (b - a);
  };
  const pts = async (q: string) => (await get(`/cases/${c.id}/timeline?${q}`)).body;
  const m1 = await pts('resolution=1m');
  t.same(
    m1.numerics[0].points,
    Array.from({ length: 15 }, (_, i) => [T0 + i * 60_000, mean(i * 60, i * 60 + 60)]),
    '1m: one mean per minute at the bucket start',
  );
  t.same(m1.alarms.length, 30, 'alarms unchanged');
  const m5 = await pts('resolution=5m');
  t.same(
    m5.numerics[0].points,
    [0, 1, 2].map((i) => [T0 + i * 300_000, mean(i * 300, i * 300 + 300)]),
  );
  const s1 = await pts('resolution=1s&to=' + (T0 + 4999));
  t.same(
    s1.numerics[0].points,
    [0, 1, 2, 3, 4].map((i) => [T0 + i * 1000, hr(i)]),
    '1s: each second its own bucket',
  );
  const raw = await pts('');
  t.equal(raw.numerics[0].points.length, 900, 'raw by default');
  t.same(raw.numerics[0].points[1], [T0 + 1500, hr(1)]);
  t.equal((await get(`/cases/${c.id}/timeline?resolution=1s&limit=100`)).status, 400, 'more buckets than limit: refused');
  // paged by the alarms (30, limit 20): each page cut on a 1-min boundary, pages together = the whole
  let cursor: string | undefined;
  const all: [number, number][] = [];
  let pages = 0;
  do {
    const p = await pts(`resolution=1m&limit=20${cursor ? `&cursor=${cursor}` : ''}&to=${T0 + 899_999}`);
    if (p.nextCursor) t.equal(Number(p.nextCursor) % 60_000, 0, 'cut on a bucket boundary');
    for (const n of p.numerics) all.push(...n.points);
    cursor = p.nextCursor;
    pages++;
  } while (cursor && pages < 20);
  t.equal(pages, 2, 'two pages');
  t.same(all, m1.numerics[0].points, 'pages concatenate to the one-page answer');
});
