/**
 * TLS on Debian's Mosquitto 2.0.11 with the mosquitto.conf `orlink mqtt-auth --tls-*` generates
 * (docs/mqtt.md "TLS"): the TLS listener takes password logins over mqtts, the mTLS listener takes
 * client certificates whose CN is the gateway id (use_identity_as_username) and refuses untrusted
 * and revoked (CRL) certificates at the handshake; the clients ACL applies to certificate logins
 * (own bed only); client ids are bound to the CN; ingest reads over its loopback listener and stores
 * what a certificate-authenticated gateway (raw client and the real gateway) publishes.
 * The certificates come from cli/certs.ts (test PKI made with openssl).
 */
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import t from 'tap';
import { createTestPki, revokeClientCert, type CertPair } from '../../cli/certs.js';
import { run as mqttAuth } from '../../cli/mqtt-auth.js';
import { buildConfig } from '../../gateway/src/config.js';
import { silentLogger } from '../../gateway/src/log.js';
import { startGateway } from '../../gateway/src/main.js';
import { fakeProtocol } from '../../gateway/src/session/testdata/fake-protocol.js';
import { startIngest } from '../../ingest/src/main.js';
import { openDb } from '../../ingest/src/registry/database.js';
import { SqliteRegistry } from '../../ingest/src/registry/sqlite-registry.js';
import { freePort } from '../../ingest/src/series/influxd-launcher.js';
import { encodeEnvelope } from '../../schemas/src/envelope.js';
import { loadIngestConfig } from '../../schemas/src/ingest-config.js';
import { startTestMosquitto } from '../helpers/mosquitto.js';
import { onlineStatus } from '../helpers/status-docs.js';
import { until } from './interop-util.js';

const P = 'orlink/v1/s/or1';
const NOT_AUTHORIZED = 5;

const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-mosq-tls-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const dbPath = path.join(dir, 'ingest.sqlite');
{
  const db = openDb(dbPath);
  const reg = new SqliteRegistry(db);
  reg.createSite({ id: 's', name: 'S' });
  reg.createRoom({ id: 'or1', siteId: 's', name: 'OR 1' });
  for (const g of ['gw1', 'gw2', 'gw3', 'gw-lost']) {
    reg.createBed({ id: `bed-${g}`, roomId: 'or1', name: g });
    await reg.createGateway({ id: g, bedId: `bed-${g}`, password: `${g}-password` });
  }
  // gw3 as a gateway that never had a Mosquitto hash: certificate login only
  db.prepare("UPDATE gateways SET mqtt_hash = NULL WHERE id = 'gw3'").run();
  db.close();
}
const pki = await createTestPki({ dir: path.join(dir, 'pki'), clients: ['gw1', 'gw2', 'gw3', 'gw-lost'], days: 2 });
const rogue = await createTestPki({ dir: path.join(dir, 'rogue'), clients: ['gw1'], days: 2, caName: 'rogue CA' });
await revokeClientCert(pki, 'gw-lost');

const [clientsPort, ingestPort, tlsPort, mtlsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
const env = { ORLINK_INGEST_BROKER_PASSWORD: 'svc-password', ORLINK_RECORD_BROKER_PASSWORD: 'rec-password' };
const authDir = path.join(dir, 'auth');
mkdirSync(authDir);
const stderr: string[] = [];
const write = process.stderr.write.bind(process.stderr);
process.stderr.write = ((s: string) => {
  stderr.push(String(s));
  return true;
}) as typeof process.stderr.write;
let code: number;
try {
  code = await mqttAuth(
    [
      '--db',
      dbPath,
      '--out',
      authDir,
      '--listener',
      String(clientsPort),
      '--ingest-listener',
      `${ingestPort}@127.0.0.1`,
      '--tls-cert',
      pki.server.certFile,
      '--tls-key',
      pki.server.keyFile,
      '--tls-ca',
      pki.caFile,
      '--tls-crl',
      pki.crlFile,
      '--tls-port',
      `${tlsPort}@127.0.0.1`,
      '--mtls-port',
      `${mtlsPort}@127.0.0.1`,
    ],
    env,
  );
} finally {
  process.stderr.write = write;
}
if (code !== 0) throw new Error(`mqtt-auth failed: ${stderr.join('')}`);
const conf = readFileSync(path.join(authDir, 'mosquitto.conf'), 'utf8');
const mosq = await startTestMosquitto(t, { listenerConfig: { port: clientsPort, lines: conf.split('\n') }, extra: ['log_type debug'] });

const ingest = await startIngest(
  loadIngestConfig({
    input: {
      http: { host: '127.0.0.1', port: 0 },
      db: { path: dbPath },
      series: { kind: 'memory' },
      broker: { kind: 'external', url: `mqtt://127.0.0.1:${ingestPort}` },
      mqtt: { clientId: 'orlink-ingest-tls' },
      log: { level: 'silent' },
    },
    env,
  }),
  { logger: pino({ level: 'silent' }) },
);
t.teardown(() => ingest.close());
const metrics = ingest.services.metrics;

const ca = readFileSync(pki.caFile);
const open: mqtt.MqttClient[] = [];
t.teardown(() => Promise.all(open.map((c) => c.endAsync(true))));
type Conn = { c: mqtt.MqttClient; state: { closed: boolean } };
async function connect(url: string, o: mqtt.IClientOptions): Promise<Conn> {
  const c = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ca, ...o });
  c.on('error', () => undefined);
  open.push(c);
  const state = { closed: false };
  c.on('close', () => {
    state.closed = true;
  });
  return { c, state };
}
const certOpts = (pair: CertPair): mqtt.IClientOptions => ({ cert: readFileSync(pair.certFile), key: readFileSync(pair.keyFile) });
/** the connect error (code = CONNACK return code when there was one), null when it connected */
async function refusal(url: string, o: mqtt.IClientOptions): Promise<{ code?: number | string; message: string } | null> {
  try {
    (await connect(url, o)).c.end(true);
    return null;
  } catch (err) {
    return err as { code?: number | string; message: string };
  }
}
const mqtts = `mqtts://127.0.0.1:${tlsPort}`;
const mtls = `mqtts://127.0.0.1:${mtlsPort}`;
const envelope = (gw: string, seq: number) =>
  Buffer.from(
    encodeEnvelope({
      gatewayId: gw,
      bootId: `boot-${gw}`,
      seq,
      sentAt: Date.now(),
      devices: [
        {
          deviceId: `${gw}-mon`,
          profileId: 'ge/s5',
          alarms: [],
          settings: [],
          waves: [],
          numerics: [{ kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, value: 70, unit: '/min', t: Date.now() - 1000, vendorCode: 'hr' }],
        },
      ],
    }),
  );

t.test('mqtt-auth --tls-*: TLS and mTLS listeners, plain ones on loopback, certificate-only gateway kept', async (t) => {
  t.equal(code, 0);
  t.match(conf, `listener ${clientsPort} 127.0.0.1\n`, 'the plain clients listener given without address binds to loopback');
  t.match(
    conf,
    new RegExp(
      `listener ${mtlsPort} 127\\.0\\.0\\.1\\ncertfile .*\\nkeyfile .*\\ncafile .*\\ncrlfile .*\\nrequire_certificate true\\nuse_identity_as_username true\\nuse_username_as_clientid true\\n`,
    ),
  );
  t.match(stderr.join(''), /1 gateway\(s\) without a password: certificate \(mTLS\) login only/);
  t.notMatch(readFileSync(path.join(authDir, 'passwd-clients'), 'utf8'), /^gw3:/m, 'gw3 has no password line');
  t.match(readFileSync(path.join(authDir, 'acl-clients'), 'utf8'), `user gw3\ntopic write ${P}/bed-gw3/gw3/data\n`, 'but its ACL block');
});

t.test('TLS listener: password logins over mqtts; no or wrong password refused; plain MQTT gets no session', async (t) => {
  const ok = await connect(mqtts, { username: 'gw1', password: 'gw1-password' });
  t.ok(ok.c.connected, 'gw1 with its password over TLS');
  ok.c.end(true);
  t.equal((await refusal(mqtts, { username: 'gw1', password: 'wrong' }))?.code, NOT_AUTHORIZED, 'wrong password');
  t.equal((await refusal(mqtts, {}))?.code, NOT_AUTHORIZED, 'no user name');
  t.equal((await refusal(mqtts, { username: 'gw3', password: 'gw3-password' }))?.code, NOT_AUTHORIZED, 'gw3 has no password login');
  const plain = await refusal(`mqtt://127.0.0.1:${tlsPort}`, { username: 'gw1', password: 'gw1-password', connectTimeout: 2000 });
  t.ok(plain, `plain MQTT to the TLS port does not connect (${plain?.message})`);
  const noCa = await refusal(mqtts, { username: 'gw1', password: 'gw1-password', ca: undefined });
  t.match(noCa?.message, /self.signed|unable to (get|verify)/i, 'the client checks the server certificate');
});

t.test('mTLS listener: the CA-issued certificate logs in; untrusted, revoked and missing certificates are refused at the handshake', async (t) => {
  const gw1 = await connect(mtls, certOpts(pki.clients.gw1));
  t.ok(gw1.c.connected, 'gw1 by certificate, no password');
  gw1.c.end(true);
  // measured (Mosquitto 2.0.11, Node 20 client): each refusal is a TLS alert, no MQTT CONNACK at all
  const untrusted = await refusal(mtls, certOpts(rogue.clients.gw1));
  t.match(untrusted?.message, /alert unknown ca/, 'a certificate of another CA with the same CN (gw1): TLS alert unknown ca');
  const revoked = await refusal(mtls, certOpts(pki.clients['gw-lost']));
  t.match(revoked?.message, /alert certificate revoked/, 'the revoked certificate (CRL): TLS alert certificate revoked');
  const none = await refusal(mtls, { username: 'gw1', password: 'gw1-password' });
  t.match(none?.message, /alert certificate required/, 'a password without a certificate: TLS alert certificate required');
  t.match(mosq.log(), /certificate verify failed/, 'Mosquitto logs the failed verification');
});

t.test('certificate logins follow the clients ACL: own data and status stored, nothing under another bed, nothing of others read', async (t) => {
  const before = metrics.get('envelopes_written_total');
  const gw1v5 = await connect(mtls, { ...certOpts(pki.clients.gw1), protocolVersion: 5 });
  await gw1v5.c.publishAsync(`${P}/bed-gw1/gw1/data`, envelope('gw1', 1), { qos: 1 });
  await gw1v5.c.publishAsync(
    `${P}/bed-gw1/gw1/status`,
    JSON.stringify({ ...onlineStatus({ gatewayId: 'gw1', site: 's', room: 'or1', bed: 'bed-gw1' }), note: 'mtls' }),
    { qos: 1, retain: true },
  );
  await until(() => metrics.get('envelopes_written_total') === before + 1, 10_000, 'gw1 data stored by ingest');
  await until(() => JSON.stringify(ingest.services.registry.getGateway('gw1')).includes('mtls'), 10_000, 'gw1 status in the registry');
  const denied = await gw1v5.c.publishAsync(`${P}/bed-gw2/gw2/data`, envelope('gw2', 1), { qos: 1 }).then(
    () => null,
    (e: { code?: number }) => e,
  );
  t.equal(denied?.code, 135, 'publish under another bed refused (MQTT 5 reason 135)');

  // ingest's config publisher may also deliver gw1's retained registry config document: topics are compared as a set
  const seen: string[] = [];
  const payloads: string[] = [];
  gw1v5.c.on('message', (topic, payload) => {
    seen.push(topic);
    payloads.push(payload.toString());
  });
  await gw1v5.c.subscribeAsync([`${P}/+/+/data`, `${P}/bed-gw2/gw2/config`, `${P}/bed-gw1/gw1/config`], { qos: 1 });
  const gw2 = await connect(mtls, certOpts(pki.clients.gw2));
  await gw2.c.publishAsync(`${P}/bed-gw2/gw2/data`, envelope('gw2', 1), { qos: 1 });
  await until(() => metrics.get('envelopes_written_total') === before + 2, 10_000, 'gw2 data stored');
  const svc = await connect(`mqtt://127.0.0.1:${ingestPort}`, {
    username: 'orlink-ingest',
    password: 'svc-password',
    clientId: 'orlink-ingest-cfg',
    ca: undefined,
  });
  await svc.c.publishAsync(`${P}/bed-gw2/gw2/config`, '{"for":"gw2"}', { qos: 1 });
  await svc.c.publishAsync(`${P}/bed-gw1/gw1/config`, '{"for":"gw1"}', { qos: 1 });
  await until(() => payloads.includes('{"for":"gw1"}'), 5000, 'gw1 config delivered');
  t.same([...new Set(seen)], [`${P}/bed-gw1/gw1/config`], 'gw1 reads its own config only: neither gw2 data nor gw2 config');
  t.notOk(payloads.includes('{"for":"gw2"}'), "gw2's config never reached gw1");
  t.equal(metrics.get('envelopes_written_total'), before + 2, 'the intrusion under bed-gw2 never reached ingest');

  const gw3 = await connect(mtls, certOpts(pki.clients.gw3));
  await gw3.c.publishAsync(`${P}/bed-gw3/gw3/data`, envelope('gw3', 1), { qos: 1 });
  await until(() => metrics.get('envelopes_written_total') === before + 3, 10_000, 'certificate-only gw3 stored');
  for (const c of [gw1v5, gw2, gw3, svc]) c.c.end(true);
});

t.test('client ids are the certificate CN: another gateway cannot take over a session', async (t) => {
  const victim = await connect(mtls, { ...certOpts(pki.clients.gw1), clientId: 'gw1' });
  const attacker = await connect(mtls, { ...certOpts(pki.clients.gw2), clientId: 'gw1' });
  const viaPassword = await connect(mqtts, { username: 'orlink-record', password: 'rec-password', clientId: 'gw1' });
  // a round trip on the victim's connection gives Mosquitto time to act on a takeover it would do
  await victim.c.publishAsync(`${P}/bed-gw1/gw1/status`, '{"online":true}', { qos: 1, retain: true });
  t.equal(victim.state.closed, false, "gw2 (certificate) and the record system (password, TLS) presenting gw1's client id did not close gw1");
  t.equal(attacker.state.closed, false);
  t.equal(viaPassword.state.closed, false);
  await until(() => /New client connected from 127\.0\.0\.1:\d+ as gw2 /.test(mosq.log()), 5000, 'logged as gw2');
  t.notMatch(mosq.log(), /Client gw1 already connected, closing old connection/, 'no takeover of gw1');
  // measured: the same gateway connecting again (here by password over TLS) replaces its own older session
  const again = await connect(mqtts, { username: 'gw1', password: 'gw1-password', clientId: 'anything' });
  await until(() => victim.state.closed, 5000, 'the older gw1 session closed');
  t.pass('one session per gateway across the TLS and mTLS listeners: the newer one wins');
  for (const c of [attacker, viaPassword, again]) c.c.end(true);
});

t.test('a real gateway over mTLS (mqtt.tls caFile/certFile/keyFile): readings reach ingest', async (t) => {
  const before = metrics.get('envelopes_written_total');
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
        gatewayId: 'gw3',
        site: 's',
        room: 'or1',
        bed: 'bed-gw3',
        mqtt: { url: mtls, publishIntervalMs: 50, statusIntervalMs: 500, tls: { caFile: pki.caFile, ...pki.clients.gw3 } },
        outbox: { kind: 'memory' },
        devices: [
          {
            id: 'mon1',
            protocol: 'fake-line',
            transport: { kind: 'tcp', host: '127.0.0.1', port: (device.address() as net.AddressInfo).port },
            watchdogMs: 60_000,
          },
        ],
      },
      {},
    ),
    { logger: silentLogger(), protocols: { 'fake-line': fakeProtocol }, drainMs: 0 },
  );
  t.teardown(() => gw.close());
  await until(() => sock !== undefined, 10_000, 'device connection');
  sock?.write('ID acme mon9 1.0\n');
  for (let i = 1; i <= 20; i++) sock?.write(`N c${i} ${i}\n`);
  await until(() => gw.status().batcher.observations >= 20, 5000, 'gateway reads');
  await until(async () => (await gw.flush(), gw.outbox.depth().records === 0), 15_000, 'gateway outbox drained over mTLS');
  await until(() => metrics.get('envelopes_written_total') > before, 10_000, 'stored by ingest');
  t.equal(gw.status().mqtt.connected, true);
  t.equal(metrics.get('envelopes_dead_lettered_total'), 0);
  await until(() => ingest.services.registry.getGateway('gw3')?.online === true, 10_000, 'status (retained) through Mosquitto');
});

t.test('revoking a certificate later: a SIGHUP makes Mosquitto re-read the CRL', async (t) => {
  const held = await connect(mtls, certOpts(pki.clients.gw2));
  await revokeClientCert(pki, 'gw2');
  mosq.reload();
  let after: Awaited<ReturnType<typeof refusal>> = null;
  // bounded: SIGHUP handling is asynchronous in Mosquitto; retry for at most 5 s
  for (let i = 0; i < 25 && !/certificate revoked/.test(after?.message ?? ''); i++) {
    await new Promise((r) => setTimeout(r, 200));
    after = await refusal(mtls, certOpts(pki.clients.gw2));
  }
  t.match(after?.message, /alert certificate revoked/, 'measured: after SIGHUP the newly revoked certificate is refused at the handshake');
  t.ok(
    await connect(mtls, certOpts(pki.clients.gw1)).then((c) => {
      c.c.end(true);
      return true;
    }),
    'gw1 unaffected',
  );
  await held.c.publishAsync(`${P}/bed-gw2/gw2/status`, '{"online":true}', { qos: 1, retain: true });
  t.equal(held.state.closed, false, 'measured: the session gw2 had open before the revocation stays up (until it reconnects)');
  held.c.end(true);
});
