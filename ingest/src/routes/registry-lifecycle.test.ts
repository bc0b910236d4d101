/** REST registry lifecycle: update, move, retire, password rotation/revocation, identity mismatch filter; audit; schemas. */
import t, { type Test } from 'tap';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { build } from '../app.js';
import { bearer, mintToken } from '../auth/test-tokens.js';
import { MemorySeriesStore } from '../series/memory.js';
import { createServices } from '../services.js';

const config = loadIngestConfig({ input: { db: { path: ':memory:' }, series: { kind: 'memory' }, log: { level: 'silent' } }, env: {} });

async function setup(t: Test) {
  const services = createServices(config, { series: new MemorySeriesStore() });
  const app = await build({ config, services });
  t.teardown(async () => {
    await app.close();
    services.db.close();
  });
  // the registry is the biomedical engineers' (biomed token); the audit log is for admins
  const biomed = bearer(mintToken(services, 'biomed'));
  const admin = bearer(mintToken(services, 'admin'));
  const call = async (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) => {
    const res = await app.inject({ method, url, headers: url.startsWith('/audit') ? admin : biomed, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.body ? res.json() : null };
  };
  for (const [url, body] of [
    ['/sites', { id: 's', name: 'Main' }],
    ['/rooms', { id: 'or1', siteId: 's', name: 'OR 1' }],
    ['/rooms', { id: 'or2', siteId: 's', name: 'OR 2' }],
    ['/beds', { id: 'a', roomId: 'or1', name: 'A' }],
    ['/beds', { id: 'b', roomId: 'or2', name: 'B' }],
    ['/gateways', { id: 'g1', bedId: 'a', password: 'first-password' }],
    ['/gateways', { id: 'g2', bedId: 'b', password: 'second-password' }],
    ['/devices', { id: 'mon', gatewayId: 'g1', bedId: 'a', serial: 'SN-1', model: 'S/5', notes: 'left arm' }],
  ] as const) {
    const r = await call('POST', url, body);
    if (r.status !== 201) throw new Error(`${url}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  const audit = async (action: string) =>
    (await call('GET', `/audit?action=${action}`)).body as { entity: string; entityId: string; detail: Record<string, unknown> }[];
  return { services, app, call, audit, biomed };
}

t.test('PATCH: names and device fields, audited with before/after of the changed fields only', async (t) => {
  const { call, audit } = await setup(t);
  t.same((await call('PATCH', '/sites/s', { name: 'Main campus' })).body, { id: 's', name: 'Main campus' });
  t.same((await call('PATCH', '/rooms/or1', { name: 'OR one' })).body, { id: 'or1', siteId: 's', name: 'OR one' });
  t.same((await call('PATCH', '/beds/a', { name: 'Table A' })).body, { id: 'a', roomId: 'or1', siteId: 's', name: 'Table A' });
  t.equal((await call('PATCH', '/beds/zz', { name: 'x' })).status, 404);
  t.equal((await call('PATCH', '/beds/a', {})).status, 400, 'a name is required');

  const d = await call('PATCH', '/devices/mon', { serial: 'SN-2', notes: null, firmware: '3.1' });
  t.equal(d.status, 200);
  t.equal(d.body.serial, 'SN-2');
  t.equal(d.body.notes, null, 'null clears (not coerced to an empty string)');
  t.equal(d.body.firmware, '3.1');
  t.equal((await call('PATCH', '/devices/mon', { bedId: 'b' })).status, 400, 'bed changes go through /move');
  t.equal((await call('PATCH', '/devices/nope', { serial: 'x' })).status, 404);
  const g = await call('PATCH', '/gateways/g1', { notes: 'behind the ventilator' });
  t.equal(g.body.notes, 'behind the ventilator');
  t.equal((await call('PATCH', '/gateways/g1', {})).status, 400);

  const updates = await audit('registry.update');
  const dev = updates.find((e) => e.entity === 'device');
  t.same(dev?.detail, { before: { serial: 'SN-1', firmware: null, notes: 'left arm' }, after: { serial: 'SN-2', firmware: '3.1', notes: null } });
  t.same(updates.map((e) => `${e.entity}:${e.entityId}`).sort(), ['bed:a', 'device:mon', 'gateway:g1', 'room:or1', 'site:s']);
  t.ok(
    (await audit('registry.create')).some((e) => e.entity === 'gateway' && e.entityId === 'g1'),
    'creations are audited too',
  );
});

t.test('move: devices and gateways, 404 and 409, audited', async (t) => {
  const { call, audit } = await setup(t);
  const m = await call('POST', '/devices/mon/move', { bedId: 'b', gatewayId: 'g2' });
  t.equal(m.status, 200);
  t.same([m.body.bedId, m.body.gatewayId], ['b', 'g2']);
  t.same((await call('POST', '/devices/mon/move', { gatewayId: null })).body.gatewayId, null);
  t.equal((await call('POST', '/devices/mon/move', {})).status, 400);
  t.equal((await call('POST', '/devices/mon/move', { bedId: 'zz' })).status, 404);
  t.equal((await call('POST', '/devices/zz/move', { bedId: 'a' })).status, 404);
  const gm = await call('POST', '/gateways/g1/move', { bedId: 'b' });
  t.equal(gm.body.bedId, 'b');
  t.equal((await call('POST', '/gateways/g1/move', { bedId: 'zz' })).status, 404);
  const moves = await audit('registry.move');
  t.same(moves.find((e) => e.entity === 'gateway')?.detail, {
    before: { bedId: 'a', location: { gatewayId: 'g1', bed: 'a', room: 'or1', site: 's' } },
    after: { bedId: 'b', location: { gatewayId: 'g1', bed: 'b', room: 'or2', site: 's' } },
  });
  t.equal(moves.filter((e) => e.entity === 'device').length, 2);
});

t.test('retire: kept with retiredAt/retiredReason, refused afterwards', async (t) => {
  const { call, audit } = await setup(t);
  t.equal((await call('POST', '/devices/mon/retire', {})).status, 400, 'a device needs a reason');
  const d = await call('POST', '/devices/mon/retire', { reason: 'cracked housing' });
  t.equal(d.status, 200);
  t.equal(d.body.retiredReason, 'cracked housing');
  t.type(d.body.retiredAt, 'number');
  t.equal((await call('POST', '/devices/mon/retire', { reason: 'again' })).status, 409);
  t.equal((await call('POST', '/devices/mon/move', { bedId: 'b' })).status, 409);
  t.equal((await call('GET', '/devices/mon')).body.retiredReason, 'cracked housing', 'still there for history');
  const g = await call('POST', '/gateways/g2/retire'); // no body at all
  t.equal(g.status, 200);
  t.type(g.body.retiredAt, 'number');
  t.equal((await call('POST', '/gateways/g2/password', { password: 'new-password' })).status, 409);
  t.equal((await call('POST', '/gateways/g2/move', { bedId: 'a' })).status, 409);
  t.equal((await call('POST', '/devices', { id: 'x', gatewayId: 'g2' })).status, 409, 'no new device on a retired gateway');
  t.ok((await call('GET', '/gateways')).body.some((x: { id: string }) => x.id === 'g2'));
  t.same(
    (await audit('registry.retire')).map((e) => [e.entity, e.entityId, e.detail.reason]),
    [
      ['gateway', 'g2', null],
      ['device', 'mon', 'cracked housing'],
    ],
  );
});

t.test('password rotation and revocation: registry, audit without the password, no hash in any response', async (t) => {
  const { services, call, audit } = await setup(t);
  t.equal((await call('POST', '/gateways/g1/password', { password: 'short' })).status, 400);
  t.equal((await call('POST', '/gateways/zz/password', { password: 'long-enough-1' })).status, 404);
  const rot = await call('POST', '/gateways/g1/password', { password: 'rotated-password-7' });
  t.equal(rot.status, 200);
  t.equal(await services.registry.verifyGateway('g1', 'first-password'), false);
  t.equal(await services.registry.verifyGateway('g1', 'rotated-password-7'), true);
  const rev = await call('POST', '/gateways/g1/revoke');
  t.type(rev.body.passwordRevokedAt, 'number');
  t.equal(await services.registry.verifyGateway('g1', 'rotated-password-7'), false);
  t.equal((await call('POST', '/gateways/zz/revoke')).status, 404);
  t.equal((await audit('gateway.password-rotated')).length, 1);
  t.equal((await audit('gateway.password-revoked')).length, 1);
  const everything = JSON.stringify([(await call('GET', '/audit?limit=1000')).body, (await call('GET', '/gateways')).body, rot.body, rev.body]);
  t.notMatch(everything, /first-password|second-password|rotated-password-7/, 'no password anywhere');
  t.notMatch(everything, /scrypt|\$7\$|credential|mqtt_hash|!revoked/, 'no hash anywhere');
});

t.test('identity mismatch: shown on the device and filterable', async (t) => {
  const { services, call } = await setup(t);
  await call('POST', '/devices', { id: 'ok', gatewayId: 'g1', serial: 'SN-5' });
  services.registry.reportDeviceIdentity('mon', { serial: 'SN-X', model: 'S/5', gatewayId: 'g1', at: 1000 });
  services.registry.reportDeviceIdentity('ok', { serial: 'SN-5', gatewayId: 'g1', at: 1000 });
  const d = (await call('GET', '/devices/mon')).body;
  t.same(d.identityMismatch, [{ field: 'serial', registered: 'SN-1', reported: 'SN-X', since: 1000 }]);
  t.same(d.reportedIdentity, { serial: 'SN-X', model: 'S/5', gatewayId: 'g1', at: 1000 });
  t.same(
    (await call('GET', '/devices?mismatch=true')).body.map((x: { id: string }) => x.id),
    ['mon'],
  );
  t.same(
    (await call('GET', '/devices?mismatch=false')).body.map((x: { id: string }) => x.id),
    ['ok'],
  );
  t.same((await call('PATCH', '/devices/mon', { serial: 'SN-X' })).body.identityMismatch, [], 'correcting the registry clears it');
});

t.test('/docs/json: bodies and response schemas of the lifecycle routes; gateway responses cannot carry a hash', async (t) => {
  const { app, biomed } = await setup(t);
  const docs = (await app.inject({ url: '/docs/json', headers: biomed })).json();
  const routes: [string, string][] = [
    ['patch', '/sites/{id}'],
    ['patch', '/rooms/{id}'],
    ['patch', '/beds/{id}'],
    ['patch', '/devices/{id}'],
    ['patch', '/gateways/{id}'],
    ['post', '/devices/{id}/move'],
    ['post', '/gateways/{id}/move'],
    ['post', '/devices/{id}/retire'],
    ['post', '/gateways/{id}/retire'],
    ['post', '/gateways/{id}/password'],
    ['post', '/gateways/{id}/revoke'],
  ];
  for (const [m, p] of routes) {
    const op = docs.paths[p]?.[m];
    t.ok(op?.responses?.['200']?.content?.['application/json']?.schema, `${m} ${p}: 200 response schema`);
    t.ok(op?.responses?.['404'], `${m} ${p}: 404 documented`);
  }
  const gw = docs.paths['/gateways/{id}'].get.responses['200'].content['application/json'].schema;
  t.equal(gw.additionalProperties, false);
  t.same(Object.keys(gw.properties).sort(), ['bedId', 'id', 'lastSeen', 'notes', 'online', 'passwordRevokedAt', 'retiredAt', 'retiredReason', 'status']);
  const dev = docs.paths['/devices/{id}'].get.responses['200'].content['application/json'].schema;
  t.ok(dev.properties.identityMismatch && dev.properties.retiredAt, 'device schema has the lifecycle fields');
  t.ok(docs.paths['/devices'].get.parameters.some((x: { name: string }) => x.name === 'mismatch'));
});
