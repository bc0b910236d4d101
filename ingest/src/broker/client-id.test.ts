/**
 * Client ids bound to logins (client-id.ts): the ownership rule, and on the embedded broker a login
 * presenting another account's id is refused at CONNECT while the victim stays connected — ingest's
 * own subscriber included. The gateway's publisher id (`<gatewayId>-<boot>`) keeps working.
 */
import t from 'tap';
import { until } from '../mqtt/test-fixtures.js';
import { brokerRig, dataBytes, GW } from './broker-fixture.js';
import { clientIdOwner, mayUseClientId, type ClientIdRules } from './client-id.js';

const IDENTIFIER_REJECTED = 2;

t.test('ownership: the longest registered id ending at a dash; reserved ids; nobody', async (t) => {
  const gateways = new Set(['icu', 'icu-1', 'gw1', 'a-b']);
  const r: ClientIdRules = { serviceUsername: 'orlink-ingest', reserved: new Set(['ingest-main']), isGateway: (id) => gateways.has(id) };
  t.same(clientIdOwner('icu-1-3f2a9c01', r), { kind: 'gateway', id: 'icu-1' });
  t.same(clientIdOwner('icu-3f2a9c01', r), { kind: 'gateway', id: 'icu' });
  t.same(clientIdOwner('icu', r), { kind: 'gateway', id: 'icu' });
  t.same(clientIdOwner('icu-1', r), { kind: 'gateway', id: 'icu-1' });
  t.same(clientIdOwner('a-b-c', r), { kind: 'gateway', id: 'a-b' });
  t.same(clientIdOwner('orlink-ingest-1', r), { kind: 'service' });
  t.same(clientIdOwner('ingest-main', r), { kind: 'service' });
  t.equal(clientIdOwner('icu1', r), null, 'a prefix without a dash is not ownership');
  t.equal(clientIdOwner('mqttjs_12ab', r), null);
  t.equal(clientIdOwner('-icu', r), null);
  t.equal(clientIdOwner(`icu-${'-'.repeat(300)}`, r), null, 'an over-long id belongs to nobody (bounded lookups)');
  t.ok(mayUseClientId({ kind: 'gateway', id: 'icu-1' }, 'icu-1-3f2a9c01', r));
  t.notOk(mayUseClientId({ kind: 'gateway', id: 'icu' }, 'icu-1-3f2a9c01', r), "icu cannot take icu-1's id");
  t.notOk(mayUseClientId({ kind: 'gateway', id: 'icu' }, 'mqttjs_1', r), 'a gateway must use its own ids');
  t.notOk(mayUseClientId({ kind: 'gateway', id: 'icu' }, 'orlink-ingest-1', r));
  t.ok(mayUseClientId({ kind: 'service' }, 'tool-7', r), 'the service account may use ids nobody owns');
  t.notOk(mayUseClientId({ kind: 'service' }, 'icu-3f2a9c01', r), "but not a gateway's");
});

t.test("takeover refused at CONNECT: the victim keeps its session, ingest's subscriber too", async (t) => {
  const s = await brokerRig(t, { subscriber: true });
  // the gateway publisher's own form: `<gatewayId>-<8 hex of the boot id>`
  const victim = await s.connect('gw1', GW.gw1.password, { clientId: 'gw1-3f2a9c01' });
  let victimClosed = false;
  victim.on('close', () => {
    victimClosed = true;
  });
  t.equal(await s.login('gw2', GW.gw2.password, { clientId: 'gw1-3f2a9c01' }), IDENTIFIER_REJECTED, "gw2 with gw1's id");
  t.equal(await s.login('gw2', GW.gw2.password, { clientId: 'orlink-ingest-1' }), IDENTIFIER_REJECTED, "gw2 with ingest's subscriber id");
  t.equal(await s.login('gw2', GW.gw2.password, { clientId: 'orlink-ingest' }), IDENTIFIER_REJECTED, 'the service name');
  t.equal(await s.login('gw2', GW.gw2.password, { clientId: 'mqttjs_42' }), IDENTIFIER_REJECTED, 'an id of nobody');
  t.equal(await s.login('orlink-ingest', 'svc', { clientId: 'gw1-3f2a9c01' }), IDENTIFIER_REJECTED, "the service account cannot take a gateway's id either");
  t.equal(s.metrics.get('mqtt_client_id_refused_total'), 5);
  t.match(s.logged(/client id belongs to another account/)[0], { username: 'gw2', clientId: 'gw1-3f2a9c01' });
  // the victims are still there and working
  await victim.publishAsync(`${GW.gw1.base}/data`, dataBytes('gw1', 1), { qos: 1 });
  t.notOk(victimClosed, 'gw1 stayed connected');
  t.ok(s.sub?.connected, "ingest's subscriber stayed connected");
  await victim.publishAsync(`${GW.gw1.base}/status`, JSON.stringify({ online: true }), { qos: 1, retain: true });
  await until(() => s.metrics.get('status_messages_total') === 1, 5000, 'status through the subscriber');
  t.equal(await s.login('gw2', GW.gw2.password, { clientId: 'gw2-77aa0011' }), 0, 'its own id works');
  t.equal(await s.login('gw2', GW.gw2.password, { clientId: 'gw2' }), 0, 'so does the bare gateway id');
  // the same gateway reconnecting with its own id takes over its own (stale) session: the normal reconnect
  const again = await s.connect('gw1', GW.gw1.password, { clientId: 'gw1-3f2a9c01' });
  await until(() => victimClosed, 5000, 'the old session replaced');
  t.ok(again.connected);
});
