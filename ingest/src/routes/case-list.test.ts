/**
 * GET /cases (build() + inject): filters by site, room, bed (any binding), UTC day, from/to, state
 * and externalId; paging newest first with a cursor (pages partition the result); site-limited
 * tokens; viewers without externalIds and without identifier search; identifier reads audited.
 */
import t, { type Test } from 'tap';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { build } from '../app.js';
import type { Role } from '../auth/roles.js';
import { bearer, mintToken } from '../auth/test-tokens.js';
import { MemorySeriesStore } from '../series/memory.js';
import { createServices } from '../services.js';

const config = loadIngestConfig({ input: { db: { path: ':memory:' }, series: { kind: 'memory' }, log: { level: 'silent' } }, env: {} });
const H = 3_600_000;
/** 2024-03-10 00:00 UTC */
const D = Date.UTC(2024, 2, 10);

type CaseOut = { id: string; externalIds?: Record<string, string> };

async function setup(t: Test) {
  const services = createServices(config, { series: new MemorySeriesStore() });
  const app = await build({ config, services });
  t.teardown(async () => {
    await app.close();
    services.db.close();
  });
  const as = (role: Role, site?: string) => {
    const headers = bearer(mintToken(services, role, { site, name: `${role}${site ? `-${site}` : ''}` }));
    return async (method: 'GET' | 'POST', url: string, payload?: object) => {
      const res = await app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
      return { status: res.statusCode, body: res.json() };
    };
  };
  const admin = as('admin');
  for (const s of ['s1', 's2']) await admin('POST', '/sites', { id: s, name: s });
  for (const [id, siteId] of [
    ['r1', 's1'],
    ['pacu', 's1'],
    ['r2', 's2'],
  ])
    await admin('POST', '/rooms', { id, siteId, name: id });
  for (const [id, roomId] of [
    ['b1', 'r1'],
    ['b2', 'r1'],
    ['p1', 'pacu'],
    ['c1', 'r2'],
  ])
    await admin('POST', '/beds', { id, roomId, name: id });
  const mk = async (body: object) => {
    const r = await admin('POST', '/cases', body);
    if (r.status !== 201) throw new Error(`setup case: ${JSON.stringify(r.body)}`);
    return r.body as CaseOut;
  };
  // day 1 (2024-03-10): b1 08-10, b2 09-11 then moved to the PACU bed p1 until 12; s2: c1 23:00 - next day 01:00
  const a = await mk({ bed: 'b1', start: D + 8 * H, end: D + 10 * H, externalIds: { mrn: 'M-1', visit: 'V-1' } });
  const b = await mk({ bed: 'b2', start: D + 9 * H, externalIds: { mrn: 'M-2' } });
  await admin('POST', `/cases/${b.id}/move`, { bed: 'p1', at: D + 11 * H });
  await admin('POST', `/cases/${b.id}/close`, { end: D + 12 * H });
  const c = await mk({ bed: 'c1', start: D + 23 * H, end: D + 25 * H, externalIds: { mrn: 'M-1' } });
  // day 2: an open case on b1 since 08:00 (still open now)
  const d = await mk({ bed: 'b1', start: D + 32 * H });
  return { services, admin, as, a, b, c, d };
}

const idsOf = (body: { cases: CaseOut[] }) => body.cases.map((c) => c.id);

t.test('filters: location by any binding, UTC day, window, state, externalId', async (t) => {
  const { admin, a, b, c, d } = await setup(t);
  const q = async (qs: string) => {
    const r = await admin('GET', `/cases${qs}`);
    t.equal(r.status, 200, qs);
    return idsOf(r.body);
  };
  t.same(await q(''), [d.id, c.id, b.id, a.id], 'all, newest first');
  t.same(await q('?site=s1'), [d.id, b.id, a.id]);
  t.same(await q('?site=s2'), [c.id]);
  t.same(await q('?room=pacu'), [b.id], 'a case belongs to every room it was bound in');
  t.same(await q('?room=r1'), [d.id, b.id, a.id]);
  t.same(await q('?bed=p1'), [b.id]);
  t.same(await q('?bed=b1&room=pacu'), [], 'one binding must match every location filter');
  t.same(await q('?day=2024-03-10'), [c.id, b.id, a.id], 'cases overlapping the UTC day');
  t.same(await q('?day=2024-03-11'), [d.id, c.id], 'c crosses midnight; d is open');
  t.same(await q('?day=2024-03-09'), []);
  t.same(await q(`?from=${D + 10 * H}&to=${D + 11 * H}`), [b.id], 'a ends at 10:00 (exclusive)');
  t.same(await q(`?from=${D + 9 * H + 1}&to=${D + 10 * H}`), [b.id, a.id]);
  t.same(await q('?state=open'), [d.id]);
  t.same(await q('?state=closed&site=s1'), [b.id, a.id]);
  t.same(await q('?externalId=M-1'), [c.id, a.id], 'matches any externalIds value');
  t.same(await q('?externalId=V-1&day=2024-03-10'), [a.id]);
  t.same(await q('?externalId=M-'), [], 'exact match only');
  t.equal((await admin('GET', '/cases?day=2024-02-30')).status, 400, 'not a day');
  t.equal((await admin('GET', '/cases?day=10.03.2024')).status, 400);
  t.equal((await admin('GET', `/cases?from=${D}&to=${D}`)).status, 400, 'empty window');
  t.equal((await admin('GET', '/cases?state=gone')).status, 400);
  t.equal((await admin('GET', '/cases?cursor=!!')).status, 400);
  t.equal((await admin('GET', `/cases?cursor=${Buffer.from('x').toString('base64url')}`)).body.error, 'ING_ERR_BAD_REQUEST', 'a forged cursor');
});

t.test('paging: newest first, pages partition the result, next carries the filters', async (t) => {
  const { admin } = await setup(t);
  // 7 more closed cases on b2 (day 3), two of them starting at the same time on different beds
  const D3 = D + 48 * H;
  for (let i = 0; i < 6; i++) await admin('POST', '/cases', { bed: 'b2', start: D3 + i * H, end: D3 + i * H + 30 * 60_000 });
  await admin('POST', '/cases', { bed: 'p1', start: D3 + 5 * H, end: D3 + 6 * H });
  const all = idsOf((await admin('GET', '/cases?site=s1&limit=500')).body);
  t.equal(all.length, 10);
  const seen: string[] = [];
  let url: string | undefined = '/cases?site=s1&limit=3';
  let pages = 0;
  while (url && pages < 10) {
    const r = await admin('GET', url);
    t.equal(r.status, 200);
    t.ok(r.body.cases.length <= 3);
    seen.push(...idsOf(r.body));
    url = r.body.next;
    if (url) {
      t.match(url, /site=s1/);
      t.match(url, /limit=3/);
      t.equal(typeof r.body.nextCursor, 'string');
    }
    pages++;
  }
  t.equal(pages, 4);
  t.same(seen, all, 'the pages together are the one-page answer, in order, without repeats');
  t.notOk('nextCursor' in (await admin('GET', '/cases?site=s1&limit=10')).body, 'no cursor when everything fits');
});

t.test('site-limited tokens, viewers and identifier audit', async (t) => {
  const { admin, as, services, a, b, c, d } = await setup(t);
  // a case moved across sites: s1 → s2 — out of reach for a token limited to either site
  const cross = (await admin('POST', '/cases', { bed: 'b2', start: D + 40 * H })).body as CaseOut;
  await admin('POST', `/cases/${cross.id}/move`, { bed: 'c1', at: D + 41 * H });
  const recS1 = as('recorder', 's1');
  t.same(idsOf((await recS1('GET', '/cases')).body), [d.id, b.id, a.id], 'only cases wholly in its site');
  t.same(idsOf((await recS1('GET', '/cases?room=r2')).body), [], "another site's room: nothing");
  t.equal((await recS1('GET', '/cases?site=s2')).status, 403);
  t.equal((await recS1('GET', '/cases?bed=c1')).status, 403, 'a bed of another site');
  t.same(idsOf((await as('viewer', 's2')('GET', '/cases')).body), [c.id]);
  t.same(idsOf((await admin('GET', '/cases?bed=c1')).body), [cross.id, c.id], 'admin sees the cross-site case');

  const viewer = as('viewer');
  const v = await viewer('GET', '/cases');
  t.equal(v.status, 200);
  t.equal(v.body.cases.length, 5);
  t.ok(
    v.body.cases.every((x: CaseOut) => !('externalIds' in x)),
    'viewers get no externalIds',
  );
  t.equal((await viewer('GET', '/cases?externalId=M-1')).status, 403, 'viewers may not search by identifier');
  t.equal((await as('biomed')('GET', '/cases')).status, 403);
  t.equal((await as('metrics')('GET', '/cases')).status, 403);

  const before = services.audit.list({ action: 'case.read-identifiers', limit: 1000 }).length;
  const r = await recS1('GET', '/cases?externalId=M-1');
  t.same(idsOf(r.body), [a.id], 'the search is site-limited too');
  t.same(r.body.cases[0].externalIds, { mrn: 'M-1', visit: 'V-1' });
  const search = services.audit.list({ action: 'case.search-identifiers' });
  t.equal(search.length, 1);
  t.match(search[0], { actor: /recorder-s1$/, role: 'recorder', detail: { route: 'GET /cases', results: 1 } });
  t.notMatch(JSON.stringify(search), /M-1/, 'the searched value is not in the audit log');
  const reads = services.audit.list({ action: 'case.read-identifiers', limit: 1000 });
  t.equal(reads.length, before + 1, 'each returned case with externalIds is an identifier read');
  t.equal(reads[0].entityId, a.id);
  const afterViewer = services.audit.list({ action: 'case.read-identifiers', limit: 1000 }).length;
  await viewer('GET', '/cases');
  t.equal(services.audit.list({ action: 'case.read-identifiers', limit: 1000 }).length, afterViewer, 'nothing withheld is audited as read');
});
