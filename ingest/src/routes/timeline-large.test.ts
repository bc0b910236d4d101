/**
 * Long windows over a real InfluxDB 1.6 (issue "trust boundary", item 9): 30 h of 20 parameters at
 * one point per 10 s (216,000 points; a 24 h look-back holds 172,800) — past the ~125k arguments a
 * `push(...rows)` spread could take. The timeline pages through it with `next` and every point comes
 * back once; `latest` reads one point per series; a short window keeps the one-page shape.
 */
import t from 'tap';
import type { Envelope } from '../../../schemas/src/envelope.js';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import type { NumericObs } from '../../../schemas/src/observation.js';
import { startTestInfluxd } from '../../../test/helpers/influxdb.js';
import { build } from '../app.js';
import { bearer, mintToken } from '../auth/test-tokens.js';
import { InfluxV1Store } from '../series/influx-v1.js';
import { envelopeToPoints, INT_FIELDS } from '../series/layout.js';
import { toLine } from '../series/line-protocol.js';
import { createServices } from '../services.js';

const PARAMS = 20;
const STEP = 10_000;
const STEPS = 30 * 360; // 30 h
const valueOf = (k: number, i: number) => k * 1000 + (i % 1000) / 8;

const influx = await startTestInfluxd(t);
const database = `large_${process.pid}`;
const series = new InfluxV1Store({
  url: influx.url,
  database,
  retentionPolicy: 'raw',
  retentionDuration: '30d',
  createDatabase: true,
  maxLinesPerRequest: 5000,
  concurrency: 2,
  requestTimeoutMs: 30_000,
  retryMinMs: 10,
  retryMaxMs: 50,
  retryAttempts: 3,
});
await series.open();

// the newest point 10 s ago, so a 24 h look-back of `latest` holds 8,640 points per parameter
const tEnd = Math.floor(Date.now() / STEP) * STEP - STEP;
const t0 = tEnd - (STEPS - 1) * STEP;
for (let i = 0; i < STEPS; i += 250) {
  const numerics: NumericObs[] = [];
  for (let j = i; j < Math.min(i + 250, STEPS); j++) {
    for (let k = 0; k < PARAMS; k++)
      numerics.push({ kind: 'numeric', mdc: `MDC_P${k}`, code: k, value: valueOf(k, j), unit: '1', t: t0 + j * STEP, vendorCode: `p${k}` });
  }
  const env: Envelope = {
    gatewayId: 'gw',
    bootId: 'b',
    seq: i,
    sentAt: t0,
    devices: [{ deviceId: 'mon', profileId: 'p', numerics, waves: [], alarms: [], settings: [] }],
  };
  // straight to /write in 5,000-line batches: this test is about the read path
  const body = envelopeToPoints(env, { site: 's', room: 'r', bed: 'b' })
    .map((p) => toLine(p, INT_FIELDS))
    .join('\n');
  const res = await fetch(`${influx.url}/write?db=${database}&rp=raw&precision=ms`, { method: 'POST', body });
  if (res.status !== 204) throw new Error(`write failed: ${res.status} ${await res.text()}`);
}

const config = loadIngestConfig({ input: { db: { path: ':memory:' }, series: { kind: 'memory' }, log: { level: 'silent' } }, env: {} });
const services = createServices(config, { series });
const app = await build({ config, services });
t.teardown(async () => {
  await app.close();
  services.db.close();
});
const headers = bearer(mintToken(services, 'admin'));
const post = (url: string, payload: object) => app.inject({ method: 'POST', url, payload, headers });
const get = (url: string) => app.inject({ url, headers });
await post('/sites', { id: 's', name: 'S' });
await post('/rooms', { id: 'r', siteId: 's', name: 'R' });
await post('/beds', { id: 'b', roomId: 'r', name: 'B' });
const kase = (await post('/cases', { bed: 'b', start: t0, end: tEnd + 1 })).json() as { id: string };

t.test('a 30 h timeline of 216,000 points: paged with next, every point once and exact', async (t) => {
  const points = new Map<string, [number, number | null][]>();
  const statuses: number[] = [];
  let url: string | undefined = `/cases/${kase.id}/timeline`;
  let pages = 0;
  while (url && pages < 20) {
    const res = await get(url);
    statuses.push(res.statusCode);
    if (res.statusCode !== 200) {
      t.fail(res.body.slice(0, 300));
      break;
    }
    const body = res.json() as {
      from: number;
      to: number;
      next?: string;
      nextCursor?: string;
      numerics: { vendorCode: string; points: [number, number | null][] }[];
    };
    if (pages === 0) {
      t.same([body.from, body.to], [t0, tEnd + 1], 'the window of the case');
      t.match(body.next, new RegExp(`^/cases/${kase.id}/timeline\\?from=${t0}&to=${tEnd + 1}&limit=100000&cursor=${body.nextCursor}$`));
    }
    for (const n of body.numerics) {
      const list = points.get(n.vendorCode) ?? [];
      for (const p of n.points) list.push(p);
      points.set(n.vendorCode, list);
    }
    url = body.next;
    pages++;
  }
  t.same(statuses, [200, 200, 200], '3 pages of at most 100,000 points, no 500');
  t.equal(points.size, PARAMS);
  let complete = true;
  for (let k = 0; k < PARAMS; k++) {
    const list = points.get(`p${k}`) ?? [];
    if (list.length !== STEPS) complete = false;
    for (let i = 0; i < list.length; i++) if (list[i][0] !== t0 + i * STEP || list[i][1] !== valueOf(k, i)) complete = false;
  }
  t.ok(complete, 'every parameter: 10,800 points, each time once, in order, with its exact value');
});

t.test('latest over 24 h (172,800 points in the window) reads the newest point of each series', async (t) => {
  const res = await get('/beds/b/latest?windowMs=86400000');
  t.equal(res.statusCode, 200, res.statusCode === 200 ? 'no 500' : res.body.slice(0, 300));
  const body = res.json() as { caseId: string | null; numerics: { vendorCode: string; t: number; value: number; caseId: string | null }[] };
  t.equal(body.numerics.length, PARAMS);
  t.ok(
    body.numerics.every((n) => n.t === tEnd && n.value === valueOf(Number(n.vendorCode.slice(1)), STEPS - 1)),
    'each its newest value',
  );
  t.ok(
    body.numerics.every((n) => n.caseId === kase.id),
    'labelled with the case of its time',
  );
});

t.test('a window that fits in one page keeps the one-page shape', async (t) => {
  const res = await get(`/cases/${kase.id}/timeline?from=${tEnd - 3_600_000}`);
  t.equal(res.statusCode, 200);
  const body = res.json();
  t.equal(body.next, undefined);
  t.equal(body.nextCursor, undefined);
  t.equal(body.numerics.length, PARAMS);
  t.equal(body.numerics[0].points.length, 361);
  t.match(body.wavesOmitted, /exceeds 300000 ms/);
});
