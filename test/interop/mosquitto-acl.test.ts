/**
 * Mosquitto interop: `orlink mqtt-auth` writes the password and ACL files from the registry; the
 * real Mosquitto 2.0 accepts a right password and refuses a wrong one, enforces the topic ACL
 * (gateway only under its own bed prefix, record system only vitals), and the full path
 * gateway → Mosquitto → ingest subscriber → InfluxDB stores every reading.
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import t from 'tap';
import { run as mqttAuth } from '../../cli/mqtt-auth.js';
import { buildConfig } from '../../gateway/src/config.js';
import { silentLogger } from '../../gateway/src/log.js';
import { startGateway } from '../../gateway/src/main.js';
import { fakeProtocol } from '../../gateway/src/session/testdata/fake-protocol.js';
import { startIngest } from '../../ingest/src/main.js';
import { openDb } from '../../ingest/src/registry/database.js';
import { SqliteRegistry } from '../../ingest/src/registry/sqlite-registry.js';
import { loadIngestConfig } from '../../schemas/src/ingest-config.js';
import { startTestInfluxd } from '../helpers/influxdb.js';
import { startTestMosquitto } from '../helpers/mosquitto.js';
import { influxQuery, until } from './interop-util.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-acl-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const dbPath = path.join(dir, 'ingest.sqlite');
{
  const db = openDb(dbPath);
  const r = new SqliteRegistry(db);
  r.createSite({ id: 'st1', name: 'S' });
  r.createRoom({ id: 'or1', siteId: 'st1', name: 'R' });
  r.createBed({ id: 'bed1', roomId: 'or1', name: 'B1' });
  r.createBed({ id: 'bed2', roomId: 'or1', name: 'B2' });
  await r.createGateway({ id: 'gw1', bedId: 'bed1', password: 'gw1-password' });
  await r.createGateway({ id: 'gw2', bedId: 'bed2', password: 'gw2-password' });
  db.close();
}
const env = { ORLINK_INGEST_BROKER_PASSWORD: 'ingest-pw', ORLINK_RECORD_BROKER_PASSWORD: 'record-pw' };
const code = await mqttAuth(['--db', dbPath, '--out', dir], env);
const passwd = readFileSync(path.join(dir, 'passwd'), 'utf8');
const acl = readFileSync(path.join(dir, 'acl'), 'utf8');
const mosq = await startTestMosquitto(t, { passwordFile: path.join(dir, 'passwd'), aclFile: path.join(dir, 'acl') });
const connect = (username: string, password: string, extra: mqtt.IClientOptions = {}) =>
  mqtt.connectAsync(mosq.url, { protocolVersion: 4, username, password, reconnectPeriod: 0, connectTimeout: 3000, ...extra });

t.test('mqtt-auth writes $7$ hashes and per-gateway ACLs from the registry', async (t) => {
  t.equal(code, 0);
  t.match(passwd, /^gw1:\$7\$20000\$[A-Za-z0-9+/=]{16}\$[A-Za-z0-9+/=]{88}$/m);
  t.notMatch(passwd, /gw1-password|ingest-pw|record-pw/, 'no clear password');
  t.match(
    acl,
    /user gw1\ntopic write orlink\/v1\/st1\/or1\/bed1\/gw1\/data\ntopic write orlink\/v1\/st1\/or1\/bed1\/gw1\/status\ntopic read orlink\/v1\/st1\/or1\/bed1\/gw1\/config/,
  );
  t.match(acl, /user orlink-record\ntopic read orlink\/v1\/\+\/\+\/\+\/vitals\ntopic read orlink\/v1\/\+\/\+\/\+\/case\n/);
});

t.test('Mosquitto: right password connects, wrong one and unknown user are refused', async (t) => {
  const ok = await connect('gw1', 'gw1-password');
  t.ok(ok.connected, 'gw1 with its password');
  await ok.endAsync();
  for (const [u, p] of [
    ['gw1', 'wrong'],
    ['gw1', 'gw2-password'],
    ['nobody', 'x'],
    ['orlink-ingest', 'wrong'],
  ]) {
    const err = await connect(u, p).then(
      async (c) => {
        await c.endAsync();
        return null;
      },
      (e: Error) => e,
    );
    t.match(err?.message, /Not authorized|Bad User Name or Password/i, `${u}/${p} refused`);
  }
});

t.test('Mosquitto enforces the ACL', async (t) => {
  const ingest = await connect('orlink-ingest', 'ingest-pw');
  const record = await connect('orlink-record', 'record-pw');
  const gw1 = await connect('gw1', 'gw1-password');
  const gw1v5 = await connect('gw1', 'gw1-password', { protocolVersion: 5, clientId: 'gw1-v5' });
  t.teardown(() => Promise.all([ingest, record, gw1, gw1v5].map((c) => c.endAsync(true))));
  const seen: string[] = [];
  ingest.on('message', (topic) => seen.push(topic));
  const g = await ingest.subscribeAsync({ 'orlink/v1/+/+/+/+/data': { qos: 1 }, 'orlink/v1/+/+/+/+/status': { qos: 1 } });
  t.same(
    g.map((x) => x.qos),
    [1, 1],
    'ingest may read all data and status',
  );
  t.same(
    (await record.subscribeAsync('orlink/v1/+/+/+/vitals', { qos: 0 })).map((x) => x.qos),
    [0],
    'record system may read vitals',
  );
  // Mosquitto 2.0.11 grants any SUBSCRIBE and applies the read ACL per delivered message
  const recordSeen: string[] = [];
  record.on('message', (topic) => recordSeen.push(topic));
  await record.subscribeAsync('orlink/v1/+/+/+/+/data', { qos: 1 });
  const gw1Seen: string[] = [];
  gw1.on('message', (topic) => gw1Seen.push(topic));
  await gw1.subscribeAsync(['orlink/v1/st1/or1/bed1/gw1/config', 'orlink/v1/st1/or1/bed2/gw2/config'], { qos: 1 });
  await ingest.publishAsync('orlink/v1/st1/or1/bed2/gw2/config', '{"for":"gw2"}', { qos: 1 });
  await ingest.publishAsync('orlink/v1/st1/or1/bed1/gw1/config', '{"for":"gw1"}', { qos: 1 });
  await until(() => gw1Seen.length > 0, 5000, 'gw1 config delivered');
  t.same(gw1Seen, ['orlink/v1/st1/or1/bed1/gw1/config'], 'a gateway reads its own config, not another one');

  // MQTT 5 tells the publisher: PUBACK reason 135 (not authorized); 3.1.1 acks and drops silently
  const denied = await gw1v5.publishAsync('orlink/v1/st1/or1/bed2/gw2/data', 'intrude', { qos: 1 }).then(
    () => null,
    (e: { code?: number }) => e,
  );
  t.equal(denied?.code, 135, 'publish under another bed refused (MQTT 5 reason 135)');
  await gw1.publishAsync('orlink/v1/st1/or1/bed2/gw2/data', 'intrude', { qos: 1 });
  await gw1.publishAsync('orlink/v1/st1/or1/bed1/gw1/vitals', 'fake vitals', { qos: 1 });
  await gw1.publishAsync('orlink/v1/st1/or1/bed1/gw1/data', 'mine', { qos: 1 });
  await until(() => seen.includes('orlink/v1/st1/or1/bed1/gw1/data'), 5000, 'own publish delivered');
  t.same(seen, ['orlink/v1/st1/or1/bed1/gw1/data'], 'only the publish under its own prefix was delivered');
  t.same(recordSeen, [], 'the record system received no data');
});

t.test('gateway → Mosquitto → ingest subscriber → InfluxDB, ACL enforced', async (t) => {
  const influx = await startTestInfluxd(t);
  const config = loadIngestConfig({
    input: {
      http: { port: 0 },
      db: { path: dbPath },
      broker: { kind: 'external', url: mosq.url },
      mqtt: { clientId: 'ingest-acl' },
      series: { kind: 'influx-v1', url: influx.url, database: 'orlink_acl', retryMinMs: 20, retryMaxMs: 200 },
      log: { level: 'silent' },
    },
    env,
  });
  const ing = await startIngest(config, { logger: pino({ level: 'silent' }) });
  t.teardown(() => ing.close());
  const record = await connect('orlink-record', 'record-pw');
  t.teardown(() => record.endAsync(true));
  let vitals = 0;
  record.on('message', () => {
    vitals++;
  });
  await record.subscribeAsync('orlink/v1/+/+/+/vitals', { qos: 0 });

  let sock: net.Socket | undefined;
  const device = net.createServer((s) => {
    sock = s;
    s.on('error', () => {});
  });
  device.listen(0, '127.0.0.1');
  await once(device, 'listening');
  t.teardown(() => {
    sock?.destroy();
    device.close();
  });
  const gw = await startGateway(
    buildConfig(
      {
        gatewayId: 'gw1',
        site: 'st1',
        room: 'or1',
        bed: 'bed1',
        mqtt: { url: mosq.url, username: 'gw1', publishIntervalMs: 50, statusIntervalMs: 500 },
        outbox: { kind: 'file', dir: path.join(dir, 'outbox'), maxBytes: 1 << 22, segmentBytes: 1 << 16 },
        devices: [
          {
            id: 'mon1',
            protocol: 'fake-line',
            transport: { kind: 'tcp', host: '127.0.0.1', port: (device.address() as net.AddressInfo).port },
            watchdogMs: 60_000,
          },
        ],
      },
      { ORLINK_MQTT_PASSWORD: 'gw1-password' },
    ),
    { logger: silentLogger(), protocols: { 'fake-line': fakeProtocol }, drainMs: 0 },
  );
  t.teardown(() => gw.close());
  await until(() => sock !== undefined, 10_000, 'device connection');
  sock?.write('ID acme mon9 1.0\n');
  for (let i = 1; i <= 200; i++) {
    sock?.write(`N c${i % 50} ${i}\n`);
    if (i % 20 === 0) await until(() => gw.status().batcher.observations >= i, 5000, 'gateway reads');
  }
  sock?.write('N hr 1000\n'); // a mapped parameter: vitals carry only MDC-coded numerics
  await until(async () => (await gw.flush(), gw.outbox.depth().records === 0), 15_000, 'gateway outbox drained');
  await until(
    async () => (await influxQuery(influx.url, 'orlink_acl', "SELECT count(value) FROM raw.numeric WHERE bed = 'bed1'"))[0]?.[1] === 201,
    10_000,
    'stored',
  );
  const values = new Set((await influxQuery(influx.url, 'orlink_acl', "SELECT value FROM raw.numeric WHERE bed = 'bed1'")).map((r) => r[1]));
  t.equal(values.size, 201, 'all 201 readings in InfluxDB');
  t.equal(ing.services.metrics.get('envelopes_dead_lettered_total'), 0);
  await until(() => vitals > 0, 5000, 'vitals reach the record system').catch((e) => {
    console.error(mosq.log());
    throw e;
  });
  t.ok(vitals > 0, 'ingest may publish vitals, the record system reads them');
  t.equal(ing.services.registry.getGateway('gw1')?.online, true, 'retained status through Mosquitto');

  // the case switch goes out on ingest's connection (retained) and the record system may read it
  const cases: { topic: string; body: { caseId: string | null; change: string } }[] = [];
  record.on('message', (topic, payload) => {
    if (topic.endsWith('/case')) cases.push({ topic, body: JSON.parse(payload.toString()) });
  });
  await record.subscribeAsync('orlink/v1/+/+/+/case', { qos: 1 });
  const c = ing.services.cases.create({ bedId: 'bed1' });
  await until(() => cases.some((m) => m.body.caseId === c.id), 5000, 'case topic reaches the record system');
  t.match(
    cases.find((m) => m.body.caseId === c.id),
    { topic: 'orlink/v1/st1/or1/bed1/case', body: { change: 'open' } },
    'ingest may publish the case topic, the record system reads it',
  );
});
