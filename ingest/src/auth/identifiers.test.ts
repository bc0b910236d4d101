/**
 * Patient identifiers: viewers never receive a case's externalIds (case, timeline), every response
 * that carries them is audited as case.read-identifiers (actor, role, case id — not the identifiers),
 * and the response schema says externalIds may be absent.
 */
import t from 'tap';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { build } from '../app.js';
import { MemorySeriesStore } from '../series/memory.js';
import { createServices } from '../services.js';
import { bearer, mintToken } from './test-tokens.js';

const config = loadIngestConfig({ input: { db: { path: ':memory:' }, series: { kind: 'memory' }, log: { level: 'silent' } }, env: {} });

t.test('viewers never see externalIds; every response carrying them is audited without them', async (t) => {
  const services = createServices(config, { series: new MemorySeriesStore() });
  const app = await build({ config, services });
  t.teardown(async () => {
    await app.close();
    services.db.close();
  });
  const admin = mintToken(services, 'admin');
  const recorder = mintToken(services, 'recorder', { name: 'record-system' });
  const viewer = mintToken(services, 'viewer', { name: 'wall-display' });
  const call = async (token: string, method: 'GET' | 'POST', url: string, payload?: object) => {
    const res = await app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.json(), raw: res.body };
  };
  await call(admin, 'POST', '/sites', { id: 's', name: 'S' });
  await call(admin, 'POST', '/rooms', { id: 'r', siteId: 's', name: 'R' });
  for (const b of ['b1', 'b2']) await call(admin, 'POST', '/beds', { id: b, roomId: 'r', name: b });
  const readsOf = (caseId: string) => services.audit.list({ action: 'case.read-identifiers', entityId: caseId });

  const created = await call(recorder, 'POST', '/cases', { bed: 'b1', start: Date.now() - 60_000, externalIds: { mrn: 'MRN-4711', visit: 'V-99' } });
  t.equal(created.status, 201);
  t.same(created.body.externalIds, { mrn: 'MRN-4711', visit: 'V-99' }, 'the recorder gets them back');
  const id = created.body.id as string;
  t.equal(readsOf(id).length, 1, 'the create response carried them: audited');

  for (const url of [`/cases/${id}`, `/cases/${id}/timeline`]) {
    const seen = await call(viewer, 'GET', url);
    t.equal(seen.status, 200, url);
    const kase = url.endsWith('timeline') ? seen.body.case : seen.body;
    t.equal(kase.id, id);
    t.notOk('externalIds' in kase, `${url}: no externalIds for a viewer`);
    t.notMatch(seen.raw, /MRN-4711|V-99/, `${url}: nowhere in the body`);
  }
  t.equal(readsOf(id).length, 1, 'a viewer read without identifiers is not an identifier read');

  t.same((await call(recorder, 'GET', `/cases/${id}`)).body.externalIds, { mrn: 'MRN-4711', visit: 'V-99' });
  t.same((await call(admin, 'GET', `/cases/${id}/timeline`)).body.case.externalIds, { mrn: 'MRN-4711', visit: 'V-99' });
  await call(recorder, 'POST', `/cases/${id}/close`, {});
  const reads = readsOf(id);
  t.equal(reads.length, 4, 'create, get, timeline, close');
  const recorderId = /^orl_([0-9a-f]{16})_/.exec(recorder)?.[1];
  t.match(reads[3], {
    actor: `token:${recorderId}:record-system`,
    role: 'recorder',
    ip: '127.0.0.1',
    entity: 'case',
    entityId: id,
    detail: { route: 'POST /cases' },
  });
  t.same(
    reads.map((e) => e.detail.route),
    ['POST /cases/:id/close', 'GET /cases/:id/timeline', 'GET /cases/:id', 'POST /cases'],
  );
  t.same(
    reads.map((e) => e.role),
    ['recorder', 'admin', 'recorder', 'recorder'],
  );
  t.notMatch(JSON.stringify(services.audit.list({ limit: 1000 })), /MRN-4711|V-99|mrn|visit/, 'never the identifiers in the audit log');

  const plain = await call(recorder, 'POST', '/cases', { bed: 'b2' });
  await call(recorder, 'GET', `/cases/${plain.body.id}`);
  t.equal(readsOf(plain.body.id).length, 0, 'a case without identifiers: nothing to audit');

  const doc = (await call(viewer, 'GET', '/docs/json')).body;
  const schema = doc.paths['/cases/{id}'].get.responses['200'].content['application/json'].schema;
  t.notOk(schema.required.includes('externalIds'), 'the response schema lets externalIds be absent');
  t.match(schema.properties.externalIds.description, /absent for viewer tokens/);
});
