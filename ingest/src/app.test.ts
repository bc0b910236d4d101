import t from 'tap';
import { loadIngestConfig } from '../../schemas/src/ingest-config.js';
import { build } from './app.js';
import { bearer, mintToken } from './auth/test-tokens.js';
import { envelopeToPoints } from './series/layout.js';
import { MemorySeriesStore } from './series/memory.js';
import { envelope } from './mqtt/test-fixtures.js';
import { createServices } from './services.js';

const config = loadIngestConfig({ input: { db: { path: ':memory:' }, series: { kind: 'memory' }, log: { level: 'silent' } }, env: {} });

t.test('build() without listen: registry, cases, timeline, latest, health, docs', async (t) => {
  const series = new MemorySeriesStore();
  const services = createServices(config, { series });
  const app = await build({ config, services });
  t.teardown(async () => {
    await app.close();
    services.db.close();
  });
  const headers = bearer(mintToken(services, 'admin'));
  const post = (url: string, payload: object) => app.inject({ method: 'POST', url, payload, headers });
  const get = (url: string) => app.inject({ url, headers });
  t.equal((await post('/sites', { id: 's', name: 'S' })).statusCode, 201);
  t.equal((await post('/rooms', { id: 'r', siteId: 's', name: 'R' })).statusCode, 201);
  t.equal((await post('/beds', { id: 'b', roomId: 'r', name: 'B' })).statusCode, 201);
  t.equal((await post('/gateways', { id: 'g', bedId: 'b', password: 'short' })).statusCode, 400, 'password too short');
  t.equal((await post('/gateways', { id: 'g', bedId: 'b', password: 'long-enough' })).statusCode, 201);
  t.equal((await post('/sites', { id: 's', name: 'S' })).statusCode, 409, 'duplicate id');
  const extra = await post('/sites', { id: 's2', name: 'S2', extra: 1 });
  t.same(extra.json(), { id: 's2', name: 'S2' }, 'unknown properties are removed (fastify ajv removeAdditional)');
  t.equal((await post('/sites', { id: 'a/b', name: 'x' })).statusCode, 400, 'ids cannot carry topic separators');

  const base = Math.floor(Date.now() / 1000) * 1000 - 600_000;
  for (let i = 0; i < 3; i++) await series.write(envelopeToPoints(envelope(i + 1, base + i * 1000, 60 + i), { site: 's', room: 'r', bed: 'b' }));
  const c = (await post('/cases', { bed: 'b', start: base, end: base + 400_000 })).json();
  t.equal(c.status, 'closed');
  const tl = (await get(`/cases/${c.id}/timeline?to=${base + 2000}`)).json();
  t.same(tl.numerics[0].points, [
    [base, 60],
    [base + 1000, 61],
    [base + 2000, 62],
  ]);
  t.same(tl.waves[0].blocks[0], { t0: base, samples: [0.1, 0.2, null, -0.3] });
  const wide = (await get(`/cases/${c.id}/timeline`)).json();
  t.equal(wide.waves.length, 0, 'waves omitted over the 5 min limit');
  t.match(wide.wavesOmitted, /exceeds 300000 ms/);
  t.equal(wide.numerics[0].points.length, 3);
  t.equal((await get(`/cases/${c.id}/timeline?from=${base + 500_000}`)).statusCode, 400);
  t.equal((await post(`/cases/${c.id}/close`, {})).statusCode, 409);
  const overlapping = await post('/cases', { bed: 'b', start: base - 1000 });
  t.equal(overlapping.statusCode, 409, 'a case overlapping the closed one is refused');
  t.match(overlapping.json().message, c.id);
  const open = (await post('/cases', { bed: 'b', start: base + 400_000 })).json();
  t.equal((await post('/cases', { bed: 'b' })).statusCode, 409, 'a second open case on the bed is refused');
  const latest = (await get('/beds/b/latest')).json();
  t.equal(latest.caseId, open.id);
  t.equal(latest.caseSince, base + 400_000);
  const hr = latest.numerics.find((n: { mdc: string }) => n.mdc === 'MDC_ECG_HEART_RATE');
  t.equal(hr.value, 62);
  t.equal(hr.caseId, c.id, 'the reading belongs to the case of its own time, not to the case open now');
  t.equal((await get('/beds/zz/latest')).statusCode, 404);
  const health = await get('/health');
  t.equal(health.statusCode, 200);
  t.equal(health.json().checks.series, true);
  t.match((await get('/metrics')).body, /# TYPE orlink_ingest_envelopes_received_total counter/);
  const docs = (await get('/docs/json')).json();
  t.equal(docs.openapi, '3.0.3');
  t.ok(docs.paths['/gateways']);
});
