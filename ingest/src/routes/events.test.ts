/**
 * Case events over REST (build() + inject): add, list, correct, delete with coded 400/404/409,
 * roles (viewer reads only; includeDeleted for admin only), site-limited tokens, the audit trail
 * under the request's actor, events on the timeline, and response schemas that match.
 */
import t, { type Test } from 'tap';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { build } from '../app.js';
import type { Role } from '../auth/roles.js';
import { bearer, mintToken } from '../auth/test-tokens.js';
import { MemorySeriesStore } from '../series/memory.js';
import { createServices } from '../services.js';

const config = loadIngestConfig({ input: { db: { path: ':memory:' }, series: { kind: 'memory' }, log: { level: 'silent' } }, env: {} });
const M = 60_000;

async function setup(t: Test) {
  const services = createServices(config, { series: new MemorySeriesStore() });
  const app = await build({ config, services });
  t.teardown(async () => {
    await app.close();
    services.db.close();
  });
  const as = (role: Role, site?: string) => {
    const headers = bearer(mintToken(services, role, { site, name: `${role}${site ? `-${site}` : ''}` }));
    return async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) => {
      const res = await app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
      return { status: res.statusCode, body: res.json() };
    };
  };
  const admin = as('admin');
  await admin('POST', '/sites', { id: 's', name: 'S' });
  await admin('POST', '/sites', { id: 'other', name: 'Other' });
  await admin('POST', '/rooms', { id: 'or1', siteId: 's', name: 'OR 1' });
  await admin('POST', '/rooms', { id: 'pacu', siteId: 's', name: 'PACU' });
  await admin('POST', '/rooms', { id: 'x', siteId: 'other', name: 'X' });
  for (const [id, roomId] of [
    ['or1-bed', 'or1'],
    ['pacu-1', 'pacu'],
    ['x-bed', 'x'],
  ])
    await admin('POST', '/beds', { id, roomId, name: id });
  return { services, admin, as };
}

t.test('add, list, correct and delete events; errors are coded', async (t) => {
  const { admin, as, services } = await setup(t);
  const rec = as('recorder', 's');
  const T = Date.now() - 60 * M;
  const c = (await rec('POST', '/cases', { bed: 'or1-bed', start: T, externalIds: { mrn: 'P-99' } })).body;

  const ind = await rec('POST', `/cases/${c.id}/events`, { kind: 'induction', t: T + 5 * M });
  t.equal(ind.status, 201);
  t.match(ind.body, { caseId: c.id, kind: 'induction', t: T + 5 * M, createdBy: /^token:.*:recorder-s$/ });
  const note = await rec('POST', `/cases/${c.id}/events`, { kind: 'note', t: T + 2 * M, text: 'patient anxious' });
  t.equal(note.status, 201);
  const score = await rec('POST', `/cases/${c.id}/events`, {
    kind: 'pacu-score',
    t: T + 50 * M,
    data: { scheme: 'steward', consciousness: 2, airway: 2, movement: 1, total: 5 },
  });
  t.equal(score.status, 201);
  t.same(score.body.data, { scheme: 'steward', consciousness: 2, airway: 2, movement: 1, total: 5 });

  for (const [body, why] of [
    [{ kind: 'lunch', t: T }, 'unknown kind'],
    [{ kind: 'incision', t: T - 1 }, 'before the case'],
    [{ kind: 'note', t: T }, 'note without text'],
    [{ kind: 'note', t: T, text: 'x'.repeat(2001) }, 'text too long'],
    [{ kind: 'pacu-score', t: T, data: { scheme: 'steward', consciousness: 5, airway: 0, movement: 0 } }, 'steward item out of range'],
    [{ kind: 'note', t: T, text: 'x', data: { nested: { a: 1 } } }, 'nested data'],
    [{ kind: 'incision' }, 'no t'],
  ] as const) {
    const r = await rec('POST', `/cases/${c.id}/events`, body);
    t.equal(r.status, 400, why);
    t.equal(r.body.error, 'ING_ERR_BAD_REQUEST', why);
  }
  t.equal((await rec('POST', '/cases/nope/events', { kind: 'incision', t: T })).body.error, 'ING_ERR_NOT_FOUND');

  const list = await rec('GET', `/cases/${c.id}/events`);
  t.equal(list.status, 200);
  t.same(
    list.body.map((e: { kind: string }) => e.kind),
    ['note', 'induction', 'pacu-score'],
    'ordered by t',
  );

  const fixed = await rec('PATCH', `/cases/${c.id}/events/${note.body.id}`, { t: T + 3 * M, text: 'anxious' });
  t.equal(fixed.status, 200);
  t.match(fixed.body, { t: T + 3 * M, text: 'anxious', updatedBy: /recorder-s$/ });
  t.equal((await rec('PATCH', `/cases/${c.id}/events/${note.body.id}`, { kind: 'incision' })).status, 400, 'kind is not correctable');
  t.equal((await rec('PATCH', `/cases/${c.id}/events/${note.body.id}`, {})).status, 400, 'nothing to correct');
  t.equal((await rec('PATCH', `/cases/${c.id}/events/nope`, { t: T })).status, 404);
  const cleared = await rec('PATCH', `/cases/${c.id}/events/${ind.body.id}`, { text: 'RSI' });
  t.equal(cleared.body.text, 'RSI');
  t.notOk('text' in (await rec('PATCH', `/cases/${c.id}/events/${ind.body.id}`, { text: null })).body, 'null removes the text');

  const del = await rec('DELETE', `/cases/${c.id}/events/${note.body.id}`);
  t.equal(del.status, 200);
  t.ok(del.body.deletedAt);
  t.equal((await rec('DELETE', `/cases/${c.id}/events/${note.body.id}`)).body.error, 'ING_ERR_CONFLICT');
  t.equal((await rec('GET', `/cases/${c.id}/events`)).body.length, 2, 'deleted event hidden');
  t.equal((await rec('GET', `/cases/${c.id}/events?includeDeleted=1`)).status, 403, 'includeDeleted is for admin');
  t.equal((await admin('GET', `/cases/${c.id}/events?includeDeleted=1`)).body.length, 3);

  const trail = (await admin('GET', `/audit?entity=case&entityId=${c.id}`)).body as { action: string; actor: string; role: string; detail: object }[];
  const ev = trail.filter((e) => e.action.startsWith('event.'));
  t.same(ev.map((e) => e.action).sort(), ['event.add', 'event.add', 'event.add', 'event.correct', 'event.correct', 'event.correct', 'event.delete'].sort());
  t.ok(
    ev.every((e) => e.role === 'recorder' && /recorder-s$/.test(e.actor)),
    "audited under the request's actor",
  );
  t.notMatch(JSON.stringify(ev), /P-99/, 'no patient identifier in the audit');
  t.equal((services.db.prepare('SELECT COUNT(*) AS n FROM case_events').get() as { n: number }).n, 3);
});

t.test('roles and site limits', async (t) => {
  const { admin, as } = await setup(t);
  const T = Date.now() - 10 * M;
  const c = (await admin('POST', '/cases', { bed: 'or1-bed', start: T })).body;
  const far = (await admin('POST', '/cases', { bed: 'x-bed', start: T })).body;
  const e = (await admin('POST', `/cases/${c.id}/events`, { kind: 'incision', t: T + M })).body;
  const viewer = as('viewer');
  t.equal((await viewer('GET', `/cases/${c.id}/events`)).status, 200, 'viewer reads');
  t.equal((await viewer('POST', `/cases/${c.id}/events`, { kind: 'incision', t: T })).status, 403, 'viewer does not write');
  t.equal((await viewer('PATCH', `/cases/${c.id}/events/${e.id}`, { t: T })).status, 403);
  t.equal((await viewer('DELETE', `/cases/${c.id}/events/${e.id}`)).status, 403);
  t.equal((await as('biomed')('GET', `/cases/${c.id}/events`)).status, 403, 'biomed has no case access');
  const recS = as('recorder', 's');
  t.equal((await recS('GET', `/cases/${far.id}/events`)).status, 403, 'a case of another site');
  t.equal((await recS('POST', `/cases/${far.id}/events`, { kind: 'incision', t: T })).status, 403);
  t.equal((await recS('POST', `/cases/${c.id}/events`, { kind: 'pacu-in', t: T + 2 * M, bed: 'x-bed' })).status, 403, 'a move onto a bed of another site');
  t.equal((await as('viewer', 's')('GET', `/cases/${c.id}/events`)).status, 200);
});

t.test('the timeline carries the events of its window; pacu-in over REST moves the case', async (t) => {
  const { admin } = await setup(t);
  const T = Date.now() - 30 * M;
  const c = (await admin('POST', '/cases', { bed: 'or1-bed', start: T })).body;
  await admin('POST', `/cases/${c.id}/events`, { kind: 'in-room', t: T });
  const taken = (await admin('POST', '/cases', { bed: 'pacu-1', start: T })).body;
  const refused = await admin('POST', `/cases/${c.id}/events`, { kind: 'pacu-in', t: T + 20 * M, bed: 'pacu-1' });
  t.equal(refused.status, 409, 'the move is refused: so is the event');
  t.match(refused.body.message, taken.id);
  t.equal((await admin('GET', `/cases/${c.id}/events`)).body.length, 1, 'nothing stored');
  await admin('POST', `/cases/${taken.id}/close`, { end: T + 10 * M });
  const moved = await admin('POST', `/cases/${c.id}/events`, { kind: 'pacu-in', t: T + 20 * M, bed: 'pacu-1' });
  t.equal(moved.status, 201);
  t.same((await admin('GET', `/cases/${c.id}`)).body.bindings, [
    { bed: 'or1-bed', from: T, to: T + 20 * M },
    { bed: 'pacu-1', from: T + 20 * M, to: null },
  ]);
  const tl = await admin('GET', `/cases/${c.id}/timeline`);
  t.equal(tl.status, 200);
  t.same(
    tl.body.events.map((e: { kind: string; t: number }) => [e.kind, e.t]),
    [
      ['in-room', T],
      ['pacu-in', T + 20 * M],
    ],
  );
  const part = await admin('GET', `/cases/${c.id}/timeline?from=${T + M}`);
  t.same(
    part.body.events.map((e: { kind: string }) => e.kind),
    ['pacu-in'],
    'only the events of the window',
  );
});
