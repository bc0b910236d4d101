/** SqliteRegistry lifecycle: update, move, retire, password rotation/revocation, identity reports, revision and events. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { openDb } from './database.js';
import { verifyMosquittoHash } from './password.js';
import type { RegistryChange } from './registry-store.js';
import { SqliteRegistry } from './sqlite-registry.js';

async function fixture(t: Test) {
  const db = openDb(':memory:');
  t.teardown(() => db.close());
  const r = new SqliteRegistry(db);
  r.createSite({ id: 's', name: 'S' });
  r.createRoom({ id: 'r1', siteId: 's', name: 'R1' });
  r.createRoom({ id: 'r2', siteId: 's', name: 'R2' });
  r.createBed({ id: 'a', roomId: 'r1', name: 'A' });
  r.createBed({ id: 'b', roomId: 'r2', name: 'B' });
  await r.createGateway({ id: 'g1', bedId: 'a', password: 'password-1' });
  await r.createGateway({ id: 'g2', bedId: 'b', password: 'password-2' });
  const events: RegistryChange[] = [];
  r.onChange((c) => events.push(c));
  return { db, r, events };
}

t.test('names and device fields: only what changed, before/after; null clears', async (t) => {
  const { r, events } = await fixture(t);
  t.same(r.updateSite('s', { name: 'Main' }), { before: { name: 'S' }, after: { name: 'Main' } });
  t.same(r.updateRoom('r1', { name: 'R1' }), { before: {}, after: {} }, 'same value: no change');
  t.same(r.updateBed('a', { name: 'Table A' }), { before: { name: 'A' }, after: { name: 'Table A' } });
  t.equal(r.getBed('a')?.name, 'Table A');
  t.equal(r.updateSite('nope', { name: 'x' }), null);
  r.createDevice({ id: 'd', gatewayId: 'g1', serial: 'S1', model: 'M', notes: 'n' });
  t.same(r.updateDevice('d', { serial: 'S2', model: 'M', notes: null, assetTag: 'A-9' }), {
    before: { serial: 'S1', assetTag: null, notes: 'n' },
    after: { serial: 'S2', assetTag: 'A-9', notes: null },
  });
  const d = r.getDevice('d');
  t.equal(d?.serial, 'S2');
  t.equal(d?.notes, null);
  t.equal(r.updateGateway('g1', { notes: 'by the window' })?.after.notes, 'by the window');
  t.equal(r.getGateway('g1')?.notes, 'by the window');
  t.same(
    events.map((e) => `${e.entity}:${e.change}`),
    ['site:updated', 'bed:updated', 'device:created', 'device:updated', 'gateway:updated'],
    'no event for a no-op',
  );
});

t.test('device move: bed and/or gateway, null unbinds, unknown targets 404, retired targets 409', async (t) => {
  const { r } = await fixture(t);
  r.createDevice({ id: 'd', gatewayId: 'g1', bedId: 'a' });
  t.same(r.deviceBinding('d'), { id: 'd', gatewayId: 'g1', bed: { site: 's', room: 'r1', bed: 'a' }, retiredAt: null, retiredReason: null });
  t.same(r.moveDevice('d', { bedId: 'b' }), { before: { bedId: 'a' }, after: { bedId: 'b' } });
  t.same(r.deviceBinding('d')?.bed, { site: 's', room: 'r2', bed: 'b' }, 'the bed location comes with its room and site');
  t.same(r.moveDevice('d', { gatewayId: null }), { before: { gatewayId: 'g1' }, after: { gatewayId: null } });
  t.equal(r.getDevice('d')?.gatewayId, null);
  t.throws(() => r.moveDevice('d', { bedId: 'zz' }), { code: 'ING_ERR_NOT_FOUND' });
  t.throws(() => r.moveDevice('d', { gatewayId: 'zz' }), { code: 'ING_ERR_NOT_FOUND' });
  r.retireGateway('g2', 'broken');
  t.throws(() => r.moveDevice('d', { gatewayId: 'g2' }), { code: 'ING_ERR_CONFLICT' });
  t.throws(() => r.createDevice({ id: 'd2', gatewayId: 'g2' }), { code: 'ING_ERR_CONFLICT' });
  t.equal(r.moveDevice('nope', { bedId: 'a' }), null);
  t.equal(r.deviceBinding('nope'), null);
});

t.test('gateway move: location changes, event carries old and new, credentials follow', async (t) => {
  const { r, events } = await fixture(t);
  const c = r.moveGateway('g1', 'b');
  t.same(c?.before, { bedId: 'a', location: { gatewayId: 'g1', bed: 'a', room: 'r1', site: 's' } });
  t.same(r.locateGateway('g1'), { gatewayId: 'g1', bed: 'b', room: 'r2', site: 's' });
  t.same(events.at(-1), {
    entity: 'gateway',
    id: 'g1',
    change: 'moved',
    from: { gatewayId: 'g1', bed: 'a', room: 'r1', site: 's' },
    to: { gatewayId: 'g1', bed: 'b', room: 'r2', site: 's' },
  });
  t.same(r.moveGateway('g1', 'b'), { before: {}, after: {} }, 'same bed: nothing');
  t.throws(() => r.moveGateway('g1', 'zz'), { code: 'ING_ERR_NOT_FOUND' });
  t.equal(r.moveGateway('nope', 'a'), null);
  t.same(r.listMqttCredentials().find((x) => x.location.gatewayId === 'g1')?.location.bed, 'b', 'mqtt-auth ACL follows the move');
});

t.test('retire: kept, refused for login and mqtt-auth, no second retirement', async (t) => {
  const { r, events } = await fixture(t);
  r.createDevice({ id: 'd', gatewayId: 'g1' });
  const d = r.retireDevice('d', 'sent for repair', 1234);
  t.equal(d?.retiredAt, 1234);
  t.equal(d?.retiredReason, 'sent for repair');
  t.equal(r.deviceBinding('d')?.retiredAt, 1234);
  t.throws(() => r.retireDevice('d', 'again'), { code: 'ING_ERR_CONFLICT' });
  t.throws(() => r.moveDevice('d', { bedId: 'a' }), { code: 'ING_ERR_CONFLICT' });
  t.equal(r.retireDevice('nope', 'x'), null);

  const g = r.retireGateway('g1', 'replaced', 5678);
  t.equal(g?.retiredAt, 5678);
  t.same(events.at(-1), { entity: 'gateway', id: 'g1', change: 'retired', location: { gatewayId: 'g1', bed: 'a', room: 'r1', site: 's' } });
  t.equal(await r.verifyGateway('g1', 'password-1'), false, 'a retired gateway cannot log in');
  t.same(
    r.listMqttCredentials().map((c) => c.location.gatewayId),
    ['g2'],
    'mqtt-auth omits it',
  );
  t.equal(r.gatewayBinding('g1')?.retiredAt, 5678);
  t.ok(r.getGateway('g1'), 'still listed for history');
  t.throws(() => r.moveGateway('g1', 'b'), { code: 'ING_ERR_CONFLICT' });
  await t.rejects(r.setGatewayPassword('g1', 'new-password'), { code: 'ING_ERR_CONFLICT' });
  t.throws(() => r.retireGateway('g1', null), { code: 'ING_ERR_CONFLICT' });
});

t.test('password rotation and revocation', async (t) => {
  const { r, events } = await fixture(t);
  t.equal(await r.setGatewayPassword('g1', 'password-new'), true);
  t.equal(await r.verifyGateway('g1', 'password-1'), false, 'old password refused at once');
  t.equal(await r.verifyGateway('g1', 'password-new'), true);
  t.equal(r.revokeGatewayPassword('g1', 42), true);
  t.equal(await r.verifyGateway('g1', 'password-new'), false, 'revoked: the current password is refused');
  t.equal(await r.verifyGateway('g1', 'password-1'), false);
  t.equal(r.getGateway('g1')?.passwordRevokedAt, 42);
  t.same(
    r.listMqttCredentials().map((c) => c.location.gatewayId),
    ['g2'],
    'no Mosquitto account while revoked',
  );
  t.notMatch(JSON.stringify(r.getGateway('g1')), /revoked"|scrypt|\$7\$/, 'no credential in the public object');
  t.equal(await r.setGatewayPassword('g1', 'password-3'), true, 'a new password ends the revocation');
  t.equal(r.getGateway('g1')?.passwordRevokedAt, null);
  t.equal(await r.verifyGateway('g1', 'password-3'), true);
  t.equal(await verifyMosquittoHash('password-3', r.listMqttCredentials()[0].mosquittoHash as string), true);
  t.equal(r.revokeGatewayPassword('nope'), false);
  t.same(
    events.map((e) => e.change),
    ['password-set', 'password-revoked', 'password-set'],
  );
});

t.test('identity reports: mismatches with since, kept while they persist, recomputed on a registry change', async (t) => {
  const { r } = await fixture(t);
  r.createDevice({ id: 'd', gatewayId: 'g1', serial: 'SN-1', model: 'S/5', firmware: null });
  let out = r.reportDeviceIdentity('d', { serial: 'sn-1 ', model: 'S/5', firmware: '3.1', gatewayId: 'g1', at: 100 });
  t.same(out, { mismatch: [], added: [] }, 'case and spaces do not matter; an unregistered firmware is not compared');
  out = r.reportDeviceIdentity('d', { serial: 'SN-9', model: 'S/5', gatewayId: 'g1', at: 200 });
  t.same(out?.added, [{ field: 'serial', registered: 'SN-1', reported: 'SN-9', since: 200 }]);
  out = r.reportDeviceIdentity('d', { serial: 'SN-9', model: 'CS/3', gatewayId: 'g1', at: 300 });
  t.same(
    out?.mismatch,
    [
      { field: 'serial', registered: 'SN-1', reported: 'SN-9', since: 200 },
      { field: 'model', registered: 'S/5', reported: 'CS/3', since: 300 },
    ],
    'the serial mismatch keeps its since',
  );
  t.same(
    out?.added.map((m) => m.field),
    ['model'],
  );
  t.equal(r.countIdentityMismatches(), 1);
  t.same(
    r.listDevices({ mismatch: true }).map((d) => d.id),
    ['d'],
  );
  t.same(r.getDevice('d')?.reportedIdentity, { serial: 'SN-9', model: 'CS/3', gatewayId: 'g1', at: 300 });
  r.updateDevice('d', { serial: 'SN-9', model: 'CS/3' });
  t.same(r.getDevice('d')?.identityMismatch, [], 'the registry corrected: no mismatch left');
  t.equal(r.countIdentityMismatches(), 0);
  t.same(
    r.listDevices({ mismatch: false }).map((d) => d.id),
    ['d'],
  );
  t.equal(r.reportDeviceIdentity('nope', { serial: 'x', gatewayId: 'g1', at: 1 }), null);
});

t.test('revision moves with every change, also one made by another connection; not with status or identity reports', async (t) => {
  const { r } = await fixture(t);
  const r0 = r.revision();
  t.equal(r.revision(), r0, 'stable while nothing changes');
  r.updateGatewayStatus('g1', 1, true, { online: true });
  r.createDevice({ id: 'd', serial: 'x' });
  const r1 = r.revision();
  t.not(r1, r0);
  r.reportDeviceIdentity('d', { serial: 'y', gatewayId: 'g1', at: 1 });
  r.updateGatewayStatus('g1', 2, true, null);
  t.equal(r.revision(), r1, 'status and identity reports are not binding changes');
  // another connection (another ingest replica on the same file) changes a binding
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-registry-rev-'));
  const a = openDb(path.join(dir, 'ingest.sqlite'));
  const b = openDb(path.join(dir, 'ingest.sqlite'));
  t.teardown(() => {
    a.close();
    b.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const ra = new SqliteRegistry(a);
  const rb = new SqliteRegistry(b);
  ra.createSite({ id: 's', name: 'S' });
  const before = rb.revision();
  ra.createRoom({ id: 'r', siteId: 's', name: 'R' });
  t.not(rb.revision(), before, 'a commit by another connection is seen');
});
