/**
 * The wrong-patient guard over REST (build() + inject, in-memory series): 409 on a second open
 * case, transfer, move + timeline from both beds each in its window, correction, latest labelling
 * readings with their own case, audit entries for every change, and response schemas that match
 * what the routes send.
 */
import Fastify from 'fastify';
import t, { type Test } from 'tap';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { build } from '../app.js';
import { bearer, mintToken } from '../auth/test-tokens.js';
import { envelope } from '../mqtt/test-fixtures.js';
import { envelopeToPoints } from '../series/layout.js';
import { MemorySeriesStore } from '../series/memory.js';
import { createServices } from '../services.js';
import { TimelineBody } from './case-schemas.js';

const config = loadIngestConfig({ input: { db: { path: ':memory:' }, series: { kind: 'memory' }, log: { level: 'silent' } }, env: {} });

async function setup(t: Test) {
  const series = new MemorySeriesStore();
  const services = createServices(config, { series });
  const app = await build({ config, services });
  t.teardown(async () => {
    await app.close();
    services.db.close();
  });
  const token = mintToken(services, 'admin', { name: 'case-tests' });
  const headers = bearer(token);
  const req = async (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) => {
    const res = await app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.json() };
  };
  await req('POST', '/sites', { id: 's', name: 'S' });
  await req('POST', '/rooms', { id: 'r', siteId: 's', name: 'R' });
  for (const b of ['b1', 'b2']) await req('POST', '/beds', { id: b, roomId: 'r', name: b });
  /** one heart-rate reading (and a wave block) per second on a bed */
  const record = async (bed: string, from: number, n: number, hr0: number) => {
    for (let i = 0; i < n; i++) await series.write(envelopeToPoints(envelope(i + 1, from + i * 1000, hr0 + i), { site: 's', room: 'r', bed }));
  };
  return { app, series, req, record, token, headers };
}

const base = () => Math.floor(Date.now() / 1000) * 1000 - 60_000;
const hrOf = (body: { numerics: { mdc: string | null }[] }) =>
  body.numerics.find((n) => n.mdc === 'MDC_ECG_HEART_RATE') as { points: [number, number][]; value?: number; caseId?: string } | undefined;

t.test('a second open case on a bed is refused with 409 naming the open case; transfer closes the first', async (t) => {
  const { req } = await setup(t);
  const T = base();
  const first = await req('POST', '/cases', { bed: 'b1', start: T, externalIds: { mrn: 'P-778' } });
  t.equal(first.status, 201);
  t.same(first.body.bindings, [{ bed: 'b1', from: T, to: null }]);
  const second = await req('POST', '/cases', { bed: 'b1' });
  t.equal(second.status, 409);
  t.equal(second.body.error, 'ING_ERR_CONFLICT');
  t.match(second.body.message, first.body.id);
  const retro = await req('POST', '/cases', { bed: 'b1', start: T + 1000, end: T + 2000 });
  t.equal(retro.status, 409, 'a retroactive case inside the open one is refused');
  t.equal((await req('POST', '/cases', { bed: 'b1', replaces: { caseId: first.body.id, action: 'discard' } })).status, 400, 'only action close');

  const next = await req('POST', '/cases', { bed: 'b1', start: T + 30_000, replaces: { caseId: first.body.id, action: 'close' } });
  t.equal(next.status, 201);
  const closed = await req('GET', `/cases/${first.body.id}`);
  t.equal(closed.body.status, 'closed');
  t.equal(closed.body.end, T + 30_000, 'closed where the new case starts');
  t.same(closed.body.bindings, [{ bed: 'b1', from: T, to: T + 30_000 }]);
  t.same(closed.body.externalIds, { mrn: 'P-778' });
  t.equal((await req('POST', `/cases/${first.body.id}/close`, {})).status, 409);
  t.equal((await req('GET', '/cases/nope')).status, 404);
});

t.test('move: the timeline returns each bed over its own window', async (t) => {
  const { req, record } = await setup(t);
  const T = base();
  await record('b1', T, 10, 60); // b1: T .. T+9s, HR 60..69
  await record('b2', T + 2000, 8, 82); // b2: T+2s .. T+9s, HR 82..89 (someone else's, until the move)
  const c = (await req('POST', '/cases', { bed: 'b1', start: T })).body;
  const occupied = (await req('POST', '/cases', { bed: 'b2', start: T + 1000 })).body;
  const refused = await req('POST', `/cases/${c.id}/move`, { bed: 'b2', at: T + 5000 });
  t.equal(refused.status, 409, 'the target bed has an open case');
  t.match(refused.body.message, occupied.id);
  t.equal((await req('POST', `/cases/${occupied.id}/close`, { end: T + 5000 })).status, 200);

  const moved = await req('POST', `/cases/${c.id}/move`, { bed: 'b2', at: T + 5000 });
  t.equal(moved.status, 200);
  t.equal(moved.body.bedId, 'b2');
  t.same(moved.body.bindings, [
    { bed: 'b1', from: T, to: T + 5000 },
    { bed: 'b2', from: T + 5000, to: null },
  ]);
  t.equal((await req('POST', `/cases/${c.id}/move`, { bed: 'b2' })).status, 400, 'already there');
  t.equal((await req('POST', `/cases/${c.id}/move`, { bed: 'zz' })).status, 404);

  const tl = await req('GET', `/cases/${c.id}/timeline?to=${T + 9000}`);
  t.equal(tl.status, 200);
  t.same(
    hrOf(tl.body)?.points,
    [
      [T, 60],
      [T + 1000, 61],
      [T + 2000, 62],
      [T + 3000, 63],
      [T + 4000, 64],
      [T + 5000, 85],
      [T + 6000, 86],
      [T + 7000, 87],
      [T + 8000, 88],
      [T + 9000, 89],
    ],
    'b1 up to the move, b2 from the move: one series for the monitor that moved along',
  );
  t.same(
    tl.body.waves[0].blocks.map((b: { t0: number }) => b.t0),
    Array.from({ length: 10 }, (_, i) => T + i * 1000),
  );
  t.same(tl.body.case.bindings, moved.body.bindings, 'the case in the timeline carries its bindings');
  const other = await req('GET', `/cases/${occupied.id}/timeline`);
  t.same(
    hrOf(other.body)?.points.map((p) => p[1]),
    [82, 83, 84],
    'the earlier case on b2 keeps its data, up to the move',
  );
  const late = await req('GET', `/cases/${c.id}/timeline?from=${T + 6000}&to=${T + 7000}`);
  t.same(
    hrOf(late.body)?.points,
    [
      [T + 6000, 86],
      [T + 7000, 87],
    ],
    'a window inside the second binding reads b2 only',
  );
});

t.test('PATCH corrects the window, re-checked for overlaps, without touching stored data', async (t) => {
  const { req, record, series } = await setup(t);
  const T = base();
  await record('b1', T, 10, 60);
  const points = series.size();
  const a = (await req('POST', '/cases', { bed: 'b1', start: T, end: T + 3000 })).body;
  const b = (await req('POST', '/cases', { bed: 'b1', start: T + 5000, end: T + 8000 })).body;
  const overlap = await req('PATCH', `/cases/${b.id}`, { start: T + 2000 });
  t.equal(overlap.status, 409);
  t.match(overlap.body.message, a.id);
  t.equal((await req('PATCH', `/cases/${b.id}`, {})).status, 400, 'nothing to correct');
  t.equal((await req('PATCH', `/cases/${b.id}`, { start: T + 9000 })).status, 400, 'end before start');
  const fixed = await req('PATCH', `/cases/${b.id}`, { start: T + 3000, end: T + 10_000 });
  t.equal(fixed.status, 200);
  t.same(fixed.body.bindings, [{ bed: 'b1', from: T + 3000, to: T + 10_000 }]);
  const tl = await req('GET', `/cases/${b.id}/timeline`);
  t.same(
    hrOf(tl.body)?.points.map((p) => p[1]),
    [63, 64, 65, 66, 67, 68, 69],
  );
  t.same(
    hrOf((await req('GET', `/cases/${a.id}/timeline`)).body)?.points.map((p) => p[1]),
    [60, 61, 62],
    'the reading at the boundary belongs to the later case',
  );
  t.equal(series.size(), points, 'no point rewritten or added');
  const open = (await req('POST', '/cases', { bed: 'b2' })).body;
  t.equal((await req('PATCH', `/cases/${open.id}`, { end: T + 1 })).status, 409, 'an open case ends by close');
});

t.test('latest: each reading carries the case of its own time; a switch is visible', async (t) => {
  const { req, record } = await setup(t);
  const T = base();
  await record('b1', T, 3, 70);
  const a = (await req('POST', '/cases', { bed: 'b1', start: T - 1000 })).body;
  const before = (await req('GET', '/beds/b1/latest')).body;
  t.equal(before.caseId, a.id);
  t.equal(before.caseSince, T - 1000);
  t.equal(hrOf(before)?.caseId, a.id);
  const b = (await req('POST', '/cases', { bed: 'b1', start: T + 2500, replaces: { caseId: a.id, action: 'close' } })).body;
  const after = (await req('GET', '/beds/b1/latest')).body;
  t.equal(after.caseId, b.id, 'the case bound now');
  t.equal(after.caseSince, T + 2500, 'since when: differs from before, so a client sees the switch');
  t.equal(hrOf(after)?.value, 72);
  t.equal(hrOf(after)?.caseId, a.id, "the newest reading predates the switch: it stays with the first patient's case");
  await record('b1', T + 3000, 1, 99);
  t.equal(hrOf((await req('GET', '/beds/b1/latest')).body)?.caseId, b.id);
  await req('POST', `/cases/${b.id}/close`, { end: T + 2600 });
  const none = (await req('GET', '/beds/b1/latest')).body;
  t.equal(none.caseId, null);
  t.equal(none.caseSince, null);
  t.equal(hrOf(none)?.caseId, null, 'a reading outside any case has no case');
});

t.test('every case binding change is audited, without patient identifiers', async (t) => {
  const { req, token } = await setup(t);
  const T = base();
  const a = (await req('POST', '/cases', { bed: 'b1', start: T, externalIds: { mrn: 'P-999', visit: 'V-1' } })).body;
  await req('POST', `/cases/${a.id}/move`, { bed: 'b2', at: T + 1000 });
  const b = (await req('POST', '/cases', { bed: 'b2', start: T + 2000, replaces: { caseId: a.id, action: 'close' } })).body;
  await req('PATCH', `/cases/${a.id}`, { start: T - 1000 });
  await req('POST', `/cases/${b.id}/close`, { end: T + 3000 });
  await req('POST', '/cases', { bed: 'b1', replaces: { caseId: b.id, action: 'close' } }); // refused: not audited
  const changes = (await req('GET', `/audit?entity=case&entityId=${a.id}`)).body as {
    action: string;
    actor: string;
    role: string;
    ip: string;
    detail: Record<string, unknown>;
  }[];
  const ofA = changes.filter((e) => e.action !== 'case.read-identifiers');
  t.same(
    ofA.map((e) => e.action),
    ['case.correct', 'case.transfer', 'case.move', 'case.open'],
    'newest first',
  );
  const tokenId = /^orl_([0-9a-f]{16})_/.exec(token)?.[1];
  t.ok(
    ofA.every((e) => e.actor === `token:${tokenId}:case-tests` && e.role === 'admin' && e.ip),
    'actor (the API token), its role and the address of the request',
  );
  t.same(ofA[3].detail, { bed: 'b1', from: T, to: null });
  t.same(ofA[1].detail, { bed: 'b2', from: T + 1000, to: T + 2000, replacedBy: b.id });
  const ofB = ((await req('GET', `/audit?entity=case&entityId=${b.id}`)).body as { action: string; detail: Record<string, unknown> }[]).filter(
    (e) => e.action !== 'case.read-identifiers',
  );
  t.same(
    ofB.map((e) => e.action),
    ['case.close', 'case.open'],
  );
  t.same(ofB[0].detail, { bed: 'b2', from: T + 2000, to: T + 3000 });
  t.equal(ofB[1].detail.replaces, a.id);
  const all = (await req('GET', '/audit?entity=case')).body as { action: string }[];
  t.equal(all.filter((e) => e.action !== 'case.read-identifiers').length, 6);
  t.notMatch(JSON.stringify(all), /P-999|V-1|mrn|visit/);
});

t.test('the OpenAPI document describes the new routes and the response schemas match the responses', async (t) => {
  const { app, req, record, headers } = await setup(t);
  const docs = (await req('GET', '/docs/json')).body;
  t.ok(docs.paths['/cases/{id}/move'].post);
  t.ok(docs.paths['/cases/{id}'].patch);
  const created = docs.paths['/cases'].post.responses['201'].content['application/json'].schema;
  t.ok(created.properties.bindings, 'CaseBody with bindings');
  t.same(created.properties.end, { type: 'integer', minimum: 0, description: 'UTC epoch milliseconds', nullable: true });
  t.ok(docs.paths['/cases'].post.responses['409']);
  t.ok(docs.paths['/beds/{bed}/latest'].get.responses['200'].content['application/json'].schema.properties.caseSince);
  t.ok(docs.paths['/cases/{id}/timeline'].get.responses['200'].content['application/json'].schema.properties.numerics);

  // the timeline is sent with JSON.stringify (speed); its documented schema must still fit: a
  // serializer compiled from the schema reproduces the body (a missing required field throws,
  // a wrong type is coerced and differs, an undocumented field is dropped and differs)
  const T = base();
  await record('b1', T, 3, 60);
  const c = (await req('POST', '/cases', { bed: 'b1', start: T - 1000 })).body;
  const raw = (await app.inject({ url: `/cases/${c.id}/timeline`, headers })).body;
  const body = JSON.parse(raw);
  body.numerics[0].points.push([T + 5000, null]);
  body.settings.push({ kind: 'setting', name: 'PEEP', value: 5, unit: 'cm[H2O]', t: T, device: 'd', site: 's', room: 'r', bed: 'b1' });
  body.settings.push({ kind: 'setting', name: 'mode', value: 'VCV', t: T, device: 'd', site: 's', room: 'r', bed: 'b1' });
  body.alarms.push({
    kind: 'alarm',
    mdc: null,
    code: null,
    text: 'leak',
    priority: 'low',
    source: 'technical',
    phase: 'start',
    t: T,
    device: 'd',
    site: 's',
    room: 'r',
    bed: 'b1',
  });
  const check = Fastify();
  t.teardown(() => check.close());
  check.get('/x', { schema: { response: { 200: TimelineBody } } }, async () => body);
  t.strictSame(JSON.parse((await check.inject('/x')).body), body);
  t.ok(body.waves.length && body.numerics.length);
});
