/**
 * OR → PACU over REST: a case on an OR bed with readings, a `pacu-in` event naming a PACU bed (an
 * ordinary registry bed in a room named PACU) moves the case there at the event's time; the
 * timeline from start to now then holds the OR bed's data up to pacu-in, the PACU bed's from then
 * on (not the PACU bed's earlier data, which belongs to nobody's case here), its alarm, and the
 * events — PACU scores included — in the same answer.
 */
import t from 'tap';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import type { Envelope } from '../../../schemas/src/envelope.js';
import { build } from '../app.js';
import { bearer, mintToken } from '../auth/test-tokens.js';
import { envelope } from '../mqtt/test-fixtures.js';
import { envelopeToPoints } from '../series/layout.js';
import { MemorySeriesStore } from '../series/memory.js';
import { createServices } from '../services.js';

const config = loadIngestConfig({ input: { db: { path: ':memory:' }, series: { kind: 'memory' }, log: { level: 'silent' } }, env: {} });

t.test('pacu-in moves the case; the timeline spans the OR and the PACU bed with events and alarms', async (t) => {
  const series = new MemorySeriesStore();
  const services = createServices(config, { series });
  const app = await build({ config, services });
  t.teardown(async () => {
    await app.close();
    services.db.close();
  });
  const headers = bearer(mintToken(services, 'recorder', { name: 'or-record' }));
  const admin = bearer(mintToken(services, 'admin'));
  const req = async (method: 'GET' | 'POST', url: string, payload?: object, h = headers) => {
    const res = await app.inject({ method, url, headers: h, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.json() };
  };
  await req('POST', '/sites', { id: 's', name: 'S' }, admin);
  await req('POST', '/rooms', { id: 'or3', siteId: 's', name: 'OR 3' }, admin);
  await req('POST', '/rooms', { id: 'pacu', siteId: 's', name: 'PACU' }, admin);
  await req('POST', '/beds', { id: 'or3-table', roomId: 'or3', name: 'table' }, admin);
  await req('POST', '/beds', { id: 'pacu-4', roomId: 'pacu', name: 'PACU 4' }, admin);

  const T = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  const PACU_IN = T + 20_000;
  /** one HR reading per second on a bed from its own monitor (and gateway) */
  const record = async (bed: string, device: string, from: number, n: number, hr0: number) => {
    for (let i = 0; i < n; i++) {
      const env: Envelope = envelope(i + 1, from + i * 1000, hr0 + i, 'boot', `gw-${bed}`);
      env.devices[0].deviceId = device;
      if (bed === 'pacu-4' && i === 25)
        env.devices[0].alarms.push({
          kind: 'alarm',
          mdc: null,
          code: null,
          text: 'SpO2 low',
          priority: 'high',
          source: 'physiological',
          phase: 'start',
          t: from + i * 1000,
        });
      await series.write(envelopeToPoints(env, { site: 's', room: bed === 'pacu-4' ? 'pacu' : 'or3', bed }));
    }
  };
  await record('or3-table', 'or-mon', T, 30, 60); // OR monitor keeps sending after the patient left (until T+29 s)
  await record('pacu-4', 'pacu-mon', T, 40, 100); // PACU monitor sends from T on (idle bed before pacu-in)

  const c = (await req('POST', '/cases', { bed: 'or3-table', start: T })).body;
  for (const [kind, dt] of [
    ['in-room', 0],
    ['induction', 2000],
    ['incision', 5000],
    ['surgery-end', 15_000],
    ['out-of-room', 18_000],
  ] as const) {
    t.equal((await req('POST', `/cases/${c.id}/events`, { kind, t: T + dt })).status, 201, kind);
  }
  const pacuIn = await req('POST', `/cases/${c.id}/events`, { kind: 'pacu-in', t: PACU_IN, bed: 'pacu-4' });
  t.equal(pacuIn.status, 201);
  const score = await req('POST', `/cases/${c.id}/events`, {
    kind: 'pacu-score',
    t: PACU_IN + 10_000,
    data: { scheme: 'steward', consciousness: 2, airway: 2, movement: 1, total: 5 },
  });
  t.equal(score.status, 201);

  const kase = (await req('GET', `/cases/${c.id}`)).body;
  t.equal(kase.bedId, 'pacu-4', 'the case follows its patient to the PACU bed');
  t.same(kase.bindings, [
    { bed: 'or3-table', from: T, to: PACU_IN },
    { bed: 'pacu-4', from: PACU_IN, to: null },
  ]);

  const tl = await req('GET', `/cases/${c.id}/timeline`);
  t.equal(tl.status, 200);
  const hr = (device: string) =>
    (tl.body.numerics as { device: string; mdc: string; points: [number, number][] }[]).find((n) => n.device === device && n.mdc === 'MDC_ECG_HEART_RATE')
      ?.points ?? [];
  t.same(
    hr('or-mon').map((p) => p[0]),
    Array.from({ length: 20 }, (_, i) => T + i * 1000),
    'the OR monitor up to pacu-in only',
  );
  t.same(
    hr('pacu-mon').map((p) => p[0]),
    Array.from({ length: 20 }, (_, i) => PACU_IN + i * 1000),
    'the PACU monitor from pacu-in on',
  );
  t.same(hr('pacu-mon')[0], [PACU_IN, 120]);
  t.same(
    tl.body.alarms.map((a: { text: string; bed: string; t: number }) => [a.text, a.bed, a.t]),
    [['SpO2 low', 'pacu-4', T + 25_000]],
    'the PACU alarm',
  );
  t.same(
    tl.body.events.map((e: { kind: string }) => e.kind),
    ['in-room', 'induction', 'incision', 'surgery-end', 'out-of-room', 'pacu-in', 'pacu-score'],
    'the events, ordered by t, in the same answer',
  );
  t.same(tl.body.events[6].data, { scheme: 'steward', consciousness: 2, airway: 2, movement: 1, total: 5 }, 'the PACU score is kept as an event');
  t.equal(tl.body.events[5].bed, 'pacu-4');

  const out = await req('POST', `/cases/${c.id}/events`, { kind: 'pacu-out', t: PACU_IN + 15_000 });
  t.equal(out.status, 201);
  t.equal((await req('POST', `/cases/${c.id}/close`, { end: PACU_IN + 15_000 })).status, 200);
  const closed = (await req('GET', `/cases/${c.id}/timeline`)).body;
  t.equal(closed.events.at(-1).kind, 'pacu-out', 'an event at the end of the case is on its timeline');
  t.equal(
    (closed.numerics as { device: string; points: unknown[] }[]).find((n) => n.device === 'pacu-mon')?.points.length,
    15,
    'the closed case ends at pacu-out',
  );
});
