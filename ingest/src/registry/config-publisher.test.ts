/**
 * Gateway config documents from the registry: PUT/DELETE /devices/:id/connection (validated against
 * the gateway's own devices[] schema, audited), and the retained documents the publisher sends per
 * gateway: a new version on each change of its device list only, kept across restarts; moved and
 * retired gateways' topics cleared.
 */
import t, { type Test } from 'tap';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { checkConfigDoc, type GatewayConfigDoc } from '../../../schemas/src/gateway-config-doc.js';
import pino from 'pino';
import { build } from '../app.js';
import { bearer, mintToken } from '../auth/test-tokens.js';
import { MemorySeriesStore } from '../series/memory.js';
import { createServices, type Services } from '../services.js';
import { startConfigPublisher } from './config-publisher.js';

const config = loadIngestConfig({ input: { db: { path: ':memory:' }, series: { kind: 'memory' }, log: { level: 'silent' } }, env: {} });
const tick = () => new Promise((r) => setImmediate(r));

async function setup(t: Test) {
  const services = createServices(config, { series: new MemorySeriesStore() });
  const app = await build({ config, services });
  t.teardown(async () => {
    await app.close();
    services.db.close();
  });
  const biomed = bearer(mintToken(services, 'biomed'));
  const call = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: object, headers = biomed) => {
    const res = await app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.body ? res.json() : null };
  };
  for (const [url, body] of [
    ['/sites', { id: 's', name: 'Main' }],
    ['/rooms', { id: 'or1', siteId: 's', name: 'OR 1' }],
    ['/beds', { id: 'a', roomId: 'or1', name: 'A' }],
    ['/beds', { id: 'b', roomId: 'or1', name: 'B' }],
    ['/gateways', { id: 'g1', bedId: 'a', password: 'first-password' }],
    ['/gateways', { id: 'g2', bedId: 'b', password: 'second-password' }],
    ['/devices', { id: 'mon', gatewayId: 'g1', bedId: 'a', profile: 'ge-s5' }],
    ['/devices', { id: 'pump', gatewayId: 'g1' }],
  ] as const) {
    const r = await call('POST', url, body);
    if (r.status !== 201) throw new Error(`${url}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return { services, call };
}

function capture(services: Services) {
  const sent: { topic: string; payload: string }[] = [];
  const pub = startConfigPublisher({
    prefix: 'orlink/v1',
    db: services.db,
    registry: services.registry,
    logger: pino({ level: 'silent' }),
    publish: (topic, payload) => sent.push({ topic, payload }),
  });
  const last = (topic: string): GatewayConfigDoc | '' | undefined => {
    const m = [...sent].reverse().find((x) => x.topic === topic);
    return m === undefined ? undefined : m.payload === '' ? '' : JSON.parse(m.payload);
  };
  return { sent, pub, last };
}

const serial = { protocol: 'ge-dri', transport: { kind: 'serial', path: '/dev/ttyUSB0', baudRate: 19200 } };
const T1 = 'orlink/v1/s/or1/a/g1/config';
const T2 = 'orlink/v1/s/or1/b/g2/config';

t.test('PUT /devices/:id/connection: validated like a gateway config devices[] entry, audited, biomed/admin only', async (t) => {
  const { services, call } = await setup(t);
  const bad = await call('PUT', '/devices/mon/connection', {
    protocol: 'ge-dri',
    transport: { kind: 'serial', path: '/dev/ttyUSB0', baudRate: 3 },
    watchdogMs: 1,
  });
  t.equal(bad.status, 400);
  t.match(bad.body.message, /^invalid connection: .*\/transport\/baudRate: Expected integer to be greater or equal to 50/, 'every problem, with its path');
  t.match(bad.body.message, /\/watchdogMs: Expected integer to be greater or equal to 100/);
  t.equal(
    (await call('PUT', '/devices/mon/connection', { protocol: 'hl7-mllp', transport: { kind: 'tcp-server', host: '0.0.0.0', port: 2575 } })).status,
    400,
    'a listener without an allow-list is refused as in a config file',
  );
  t.equal(
    (await call('PUT', '/devices/mon/connection', { ...serial, transport: { ...serial.transport, speed: 1 } })).status,
    400,
    'an unknown transport field',
  );
  t.equal((await call('PUT', '/devices/nope/connection', serial)).status, 404);
  const viewer = bearer(mintToken(services, 'viewer'));
  t.equal((await call('PUT', '/devices/mon/connection', serial, viewer)).status, 403);

  const ok = await call('PUT', '/devices/mon/connection', serial);
  t.equal(ok.status, 200);
  t.same(ok.body.connection, serial, 'stored as given');
  t.same((await call('GET', '/devices/mon')).body.connection, serial);
  const audit = services.db.prepare("SELECT action, entity_id AS id, detail FROM audit_log WHERE entity = 'device' AND action = 'registry.update'").all() as {
    id: string;
    detail: string;
  }[];
  t.same(
    audit.map((a) => [a.id, JSON.parse(a.detail)]),
    [['mon', { before: { connection: null }, after: { connection: serial } }]],
  );
  t.equal((await call('PUT', '/devices/mon/connection', serial)).status, 200, 'the same again');
  t.equal((services.db.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'registry.update'").get() as { n: number }).n, 1, 'is not audited again');

  t.equal((await call('DELETE', '/devices/mon/connection')).body.connection, null);
  await call('POST', '/devices/pump/retire', { reason: 'broken' });
  t.equal((await call('PUT', '/devices/pump/connection', serial)).status, 409, 'a retired device cannot be configured');
});

t.test('documents: a version per change of the device list, published retained per gateway; moves and retirements clear', async (t) => {
  const { services, call } = await setup(t);
  const { sent, pub, last } = capture(services);
  t.teardown(() => pub.close());
  t.same(sent.map((m) => m.topic).sort(), [T1, T2], 'every gateway at start');
  const d0 = last(T1) as GatewayConfigDoc;
  t.match(d0, { schema: 1, version: 1, gatewayId: 'g1', devices: [] });
  t.ok(checkConfigDoc(d0).ok, 'valid against the contract');

  await call('PUT', '/devices/mon/connection', serial);
  await tick();
  const d1 = last(T1) as GatewayConfigDoc;
  t.equal(d1.version, 2);
  t.same(
    d1.devices,
    [{ id: 'mon', profile: 'ge-s5', options: {}, watchdogMs: 10_000, timeBase: 'gateway', clockToleranceMs: 5_000, ...serial }],
    'the entry: registry id and profile, the connection, the defaults',
  );
  t.ok(checkConfigDoc(d1).ok);
  t.equal(sent.filter((m) => m.topic === T2).length, 1, 'the other gateway is not republished');

  const n = sent.length;
  await call('PATCH', '/devices/mon', { notes: 'left arm' });
  await tick();
  t.equal(sent.length, n, 'a change outside the device list publishes nothing');
  await call('PATCH', '/devices/mon', { profile: 'ge-s5-v2' });
  await tick();
  t.match(last(T1), { version: 3, devices: [{ id: 'mon', profile: 'ge-s5-v2' }] }, 'the profile is part of the entry');

  await call('POST', '/devices/mon/move', { gatewayId: 'g2' });
  await tick();
  t.match(last(T1), { version: 4, devices: [] }, 'moved away from g1');
  t.match(last(T2), { version: 2, devices: [{ id: 'mon' }] }, 'and onto g2');

  await call('POST', '/gateways/g2/move', { bedId: 'a' });
  await tick();
  t.equal(last(T2), '', "the moved gateway's old topic is cleared");
  t.match(last('orlink/v1/s/or1/a/g2/config'), { version: 2, gatewayId: 'g2' }, 'and the same document is on its new topic');

  await call('POST', '/devices/mon/retire', { reason: 'sent for repair' });
  await tick();
  t.match(last('orlink/v1/s/or1/a/g2/config'), { version: 3, devices: [] }, 'a retired device leaves its gateway');
  await call('POST', '/gateways/g1/retire', {});
  await tick();
  t.equal(last(T1), '', "a retired gateway's topic is cleared");

  pub.close();
  const again = capture(services);
  t.teardown(() => again.pub.close());
  t.match(again.last('orlink/v1/s/or1/a/g2/config'), { version: 3 }, 'after a restart: the same version, republished');
  t.equal(again.last(T1), undefined, 'nothing for the retired gateway');
  await call('POST', '/devices', { id: 'mon2', gatewayId: 'g2' });
  await call('PUT', '/devices/mon2/connection', serial);
  await tick();
  t.match(again.last('orlink/v1/s/or1/a/g2/config'), { version: 4, devices: [{ id: 'mon2' }] }, 'versions keep growing across restarts');
});
