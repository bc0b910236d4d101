import t from 'tap';
import { CaseStore } from '../cases/case-store.js';
import { IngestError } from '../errors.js';
import { DeadLetterStore } from '../mqtt/dead-letter.js';
import { DedupeStore } from '../mqtt/dedupe.js';
import { MIGRATIONS, migrate, openDb } from './database.js';
import { hashPassword, mosquittoHash, verifyMosquittoHash, verifyPassword } from './password.js';
import { SqliteRegistry } from './sqlite-registry.js';

t.test('migrations are recorded and idempotent', async (t) => {
  const db = openDb(':memory:');
  t.teardown(() => db.close());
  const n = MIGRATIONS.length;
  t.ok(n >= 5, 'the audit log is migration 5');
  t.equal(migrate(db), n, 'openDb applied every migration; a second migrate() changes nothing');
  t.equal((db.prepare('SELECT COUNT(*) AS n FROM schema_version').get() as { n: number }).n, n);
  t.ok(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'").get(), 'audit_log exists');
});

t.test('scrypt hashes verify and are salted', async (t) => {
  const a = await hashPassword('pw-12345678');
  const b = await hashPassword('pw-12345678');
  t.not(a, b);
  t.notMatch(a, /pw-12345678/);
  t.equal(await verifyPassword('pw-12345678', a), true);
  t.equal(await verifyPassword('pw-12345679', a), false);
  t.equal(await verifyPassword('x', 'garbage'), false);
});

t.test('registry: hierarchy, locate, conflicts, status', async (t) => {
  const db = openDb(':memory:');
  t.teardown(() => db.close());
  const r = new SqliteRegistry(db);
  r.createSite({ id: 's', name: 'S' });
  r.createRoom({ id: 'r', siteId: 's', name: 'R' });
  r.createBed({ id: 'b', roomId: 'r', name: 'B' });
  await r.createGateway({ id: 'g', bedId: 'b', password: 'password1' });
  t.same(r.locateGateway('g'), { gatewayId: 'g', bed: 'b', room: 'r', site: 's' });
  t.equal(r.locateGateway('nope'), null);
  t.equal(await r.verifyGateway('g', 'password1'), true);
  t.equal(await r.verifyGateway('g', 'password2'), false);
  t.equal(await r.verifyGateway('nope', 'password1'), false);
  t.throws(() => r.createSite({ id: 's', name: 'again' }), { code: 'ING_ERR_CONFLICT' });
  t.throws(() => r.createRoom({ id: 'r2', siteId: 'nosite', name: 'x' }), { code: 'ING_ERR_NOT_FOUND' });
  r.updateGatewayStatus('g', 1000, true, { online: true, outboxDepth: 3 });
  r.updateGatewayStatus('g', 900, null, null);
  const g = r.getGateway('g');
  t.equal(g?.lastSeen, 1000, 'last seen never moves backwards');
  t.equal(g?.online, true);
  t.same(g?.status, { online: true, outboxDepth: 3 });
  t.notOk(JSON.stringify(r.listGateways()).includes('scrypt'), 'no hash leaves the store');
  const d = r.createDevice({ id: 'd', gatewayId: 'g', bedId: 'b', vendor: 'GE', serial: '1', assetTag: 'A-1' });
  t.equal(d.assetTag, 'A-1');
  t.same(
    r.listDevices({ bedId: 'b' }).map((x) => x.id),
    ['d'],
  );
});

t.test('cases: late binding window, close, covering case', async (t) => {
  const db = openDb(':memory:');
  t.teardown(() => db.close());
  const r = new SqliteRegistry(db);
  r.createSite({ id: 's', name: 'S' });
  r.createRoom({ id: 'r', siteId: 's', name: 'R' });
  r.createBed({ id: 'b', roomId: 'r', name: 'B' });
  let now = 10_000;
  const cases = new CaseStore(db, () => now);
  const c = cases.create({ bedId: 'b', start: 1000, externalIds: { his: 'V123' } });
  t.equal(c.status, 'open');
  t.equal(cases.coveringCase('b', 500), null);
  t.equal(cases.coveringCase('b', 5000)?.id, c.id);
  now = 20_000;
  const closed = cases.close(c.id);
  t.equal(closed.end, 20_000);
  t.equal(closed.status, 'closed');
  t.equal(cases.coveringCase('b', 25_000), null);
  t.throws(() => cases.close(c.id), { code: 'ING_ERR_CONFLICT' });
  t.throws(() => cases.create({ bedId: 'nobed' }), IngestError);
  t.throws(() => cases.create({ bedId: 'b', start: 5, end: 1 }), { code: 'ING_ERR_BAD_REQUEST' });
});

t.test('dedupe and dead letters persist in the database', async (t) => {
  const db = openDb(':memory:');
  t.teardown(() => db.close());
  const d = new DedupeStore(db);
  t.equal(d.seen({ gatewayId: 'g', bootId: 'b', seq: 1 }), false);
  d.markAll(
    [
      { gatewayId: 'g', bootId: 'b', seq: 1 },
      { gatewayId: 'g', bootId: 'b', seq: 1 },
    ],
    100,
  );
  t.equal(d.seen({ gatewayId: 'g', bootId: 'b', seq: 1 }), true);
  t.equal(d.seen({ gatewayId: 'g', bootId: 'b2', seq: 1 }), false);
  t.equal(d.prune(101), 1);
  t.equal(d.count(), 0);
  const dl = new DeadLetterStore(db, 3);
  for (let i = 0; i < 5; i++) dl.add({ topic: 't', code: 'C', reason: `r${i}`, payload: Buffer.from([i]) });
  t.equal(dl.count(), 3, 'bounded');
  t.same(
    dl.list().map((x) => [x.reason, x.payload[0]]),
    [
      ['r4', 4],
      ['r3', 3],
      ['r2', 2],
    ],
  );
});

t.test('Mosquitto $7$ hashes: compatible with mosquitto_passwd, salted, verified', async (t) => {
  // made by Debian's `mosquitto_passwd -b pw alice secret1` (2.0.11)
  const fromMosquitto = '$7$101$QFC4QmldlqQHLPbn$Xl/zpyHzexzA9csJCAvGU8/BIbZesxb9HSa7tmP/XoOUWduQ76t6ee8Ncf/CrEexom0lhcDKhp5dgQ5dP2JigQ==';
  t.equal(await verifyMosquittoHash('secret1', fromMosquitto), true);
  t.equal(await verifyMosquittoHash('secret2', fromMosquitto), false);
  const h = await mosquittoHash('pw-1', 1000);
  t.match(h, /^\$7\$1000\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
  t.not(h, await mosquittoHash('pw-1', 1000), 'salted');
  t.equal(await verifyMosquittoHash('pw-1', h), true);
  t.equal(await verifyMosquittoHash('pw-1', 'scrypt$1$2$3$4$5'), false);
});

t.test('registry keeps a Mosquitto hash beside the scrypt one; password change updates both', async (t) => {
  const db = openDb(':memory:');
  t.teardown(() => db.close());
  const r = new SqliteRegistry(db);
  r.createSite({ id: 's', name: 'S' });
  r.createRoom({ id: 'r', siteId: 's', name: 'R' });
  r.createBed({ id: 'b', roomId: 'r', name: 'B' });
  const g = await r.createGateway({ id: 'g', bedId: 'b', password: 'first-pass' });
  t.notMatch(JSON.stringify(g), /\$7\$|scrypt/, 'no hash in the public gateway object');
  const [c] = r.listMqttCredentials();
  t.same(c.location, { gatewayId: 'g', site: 's', room: 'r', bed: 'b' });
  t.equal(await verifyMosquittoHash('first-pass', c.mosquittoHash as string), true);
  t.equal(await r.setGatewayPassword('g', 'second-pass'), true);
  t.equal(await r.setGatewayPassword('nope', 'x'), false);
  t.equal(await r.verifyGateway('g', 'second-pass'), true);
  t.equal(await r.verifyGateway('g', 'first-pass'), false);
  t.equal(await verifyMosquittoHash('second-pass', r.listMqttCredentials()[0].mosquittoHash as string), true);
  db.prepare('UPDATE gateways SET mqtt_hash = NULL').run();
  t.equal(r.listMqttCredentials()[0].mosquittoHash, null, 'gateways from before migration 4 have none');
});
