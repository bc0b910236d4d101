/**
 * The embedded broker's read-only record-system account (`broker.record`, docs/mqtt.md) in a running
 * ingest (embedded aedes on loopback, memory series, sqlite in a temp dir): it receives the vitals
 * of a gateway's reading (through the example subscriber, docs/examples/vitals-subscriber.ts) and
 * the retained case topic; every other filter gets SUBACK 0x80; a publish closes its connection and
 * a will refuses its login (both counted); its client ids are its own and nobody else's; sessions
 * are capped; wrong passwords lock it out; a client certificate with its CN logs in as it on mqtts.
 * Without `broker.record.enabled` its user name is refused like any unknown one; the config refuses
 * an enabled account without its password.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import t, { type Test } from 'tap';
import { followVitals, parseVitals, type VitalsMessage } from '../../../docs/examples/vitals-subscriber.js';
import { createTestPki, type TestPki } from '../../../cli/certs.js';
import { encodeEnvelope } from '../../../schemas/src/envelope.js';
import { IngestConfigError, loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { bearer, mintToken } from '../auth/test-tokens.js';
import type { CaseTopicMessage } from '../cases/case-topic.js';
import { startIngest, type RunningIngest } from '../main.js';
import type { CounterName } from '../metrics.js';
import { envelope, fixtureDb, silent, until } from '../mqtt/test-fixtures.js';
import { MemorySeriesStore } from '../series/memory.js';
import { mqttsConnect } from '../tls-fixture.js';
import { EmbeddedBroker } from './embedded-broker.js';

const PREFIX = 'orlink/v1';
const SVC = 'svc-password';
const REC = 'record-password-1';
const GW_PASS = 'gateway-pass-1';
const DATA = `${PREFIX}/s1/or1/bed1/gw1/data`;
const IDENTIFIER_REJECTED = 2;
const BAD_USER_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;
const SUBACK_FAILURE = 0x80;

const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-record-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const dbFile = path.join(dir, 'ingest.sqlite');

let pki: TestPki;
let ing: RunningIngest;
t.before(async () => {
  pki = await createTestPki({ dir: path.join(dir, 'pki'), clients: ['orlink-record'] });
  const config = loadIngestConfig({
    input: {
      http: { host: '127.0.0.1', port: 0 },
      db: { path: dbFile },
      series: { kind: 'memory' },
      log: { level: 'silent' },
      broker: {
        host: '127.0.0.1',
        port: 0,
        record: { enabled: true, maxSessions: 2 },
        limits: { loginMaxFailures: 3, loginLockoutMs: 60_000, loginLockoutMaxMs: 60_000 },
        tls: { port: 0, certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.caFile, clientCerts: 'optional' },
      },
    },
    env: { ORLINK_INGEST_BROKER_PASSWORD: SVC, ORLINK_RECORD_BROKER_PASSWORD: REC },
  });
  ing = await startIngest(config, { logger: silent, series: new MemorySeriesStore() });
  const headers = { ...bearer(mintToken(dbFile, 'admin')), 'content-type': 'application/json' };
  for (const [url, body] of [
    ['/sites', { id: 's1', name: 'S' }],
    ['/rooms', { id: 'or1', siteId: 's1', name: 'R' }],
    ['/beds', { id: 'bed1', roomId: 'or1', name: 'B1' }],
    ['/beds', { id: 'bed2', roomId: 'or1', name: 'B2' }],
    ['/gateways', { id: 'gw1', bedId: 'bed1', password: GW_PASS }],
  ] as const) {
    const res = await fetch(`${ing.url}${url}`, { method: 'POST', headers, body: JSON.stringify(body) });
    if (res.status !== 201) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  }
});
t.teardown(() => ing?.close());

const metric = (name: CounterName) => ing.services.metrics.get(name);
const reading = (seq: number, hr: number) => Buffer.from(encodeEnvelope(envelope(seq, Date.now() - 5000 + seq, hr, 'boot-r', 'gw1')));

/** an MQTT login on the plain listener: the client at CONNACK 0, else the return code; ended by the teardown */
function connect(t: Test, username: string, password: string, o: mqtt.IClientOptions & { localAddress?: string } = {}): Promise<mqtt.MqttClient | number> {
  const { localAddress, ...rest } = o;
  const c = new mqtt.MqttClient(() => net.createConnection({ host: '127.0.0.1', port: ing.mqttPort, ...(localAddress ? { localAddress } : {}) }), {
    protocolVersion: 4,
    username,
    password,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    clientId: `${username}-t`,
    ...rest,
  });
  t.teardown(() => c.endAsync(true));
  c.on('error', () => undefined);
  return new Promise((resolve) => {
    c.once('connect', () => resolve(c));
    c.once('error', (err) => {
      c.end(true);
      resolve((err as { code?: number }).code ?? -1);
    });
    c.once('close', () => resolve(-1));
  });
}

async function client(t: Test, username: string, password: string, o: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
  const c = await connect(t, username, password, o);
  if (typeof c === 'number') throw new Error(`${username}: login refused (${c})`);
  return c;
}

/** the SUBACK codes of one SUBSCRIBE (mqtt.js rejects when one is 0x80: the packet is in the error) */
async function suback(c: mqtt.MqttClient, topics: string[]): Promise<number[]> {
  try {
    return (await c.subscribeAsync(topics, { qos: 0 })).map((g) => g.qos);
  } catch (err) {
    const granted = (err as { packet?: { granted?: number[] } }).packet?.granted;
    if (!granted) throw err;
    return granted;
  }
}

const closed = (c: mqtt.MqttClient, what: string) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: connection not closed`)), 5000);
    c.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });

t.test('the record account receives vitals (example subscriber) and the retained case topic', async (t) => {
  const headers = { ...bearer(mintToken(dbFile, 'admin')), 'content-type': 'application/json' };
  const opened = await fetch(`${ing.url}/cases`, { method: 'POST', headers, body: JSON.stringify({ bed: 'bed1', start: Date.now() - 60_000 }) });
  t.equal(opened.status, 201);
  const caseId = ((await opened.json()) as { id: string }).id;

  const cases: (CaseTopicMessage & { topic: string; retain: boolean })[] = [];
  const rec = await client(t, 'orlink-record', REC, { clientId: 'orlink-record-cases' });
  rec.on('message', (topic, payload, packet) => {
    if (topic.endsWith('/case')) cases.push({ ...(JSON.parse(payload.toString()) as CaseTopicMessage), topic, retain: packet.retain });
  });
  t.same(await suback(rec, [`${PREFIX}/+/+/+/case`, `${PREFIX}/s1/or1/bed1/vitals`]), [0, 0], "case (all beds) and one bed's vitals granted");
  await until(() => cases.some((m) => m.bed === 'bed1'), 5000, 'retained case message');
  t.match(
    cases.find((m) => m.bed === 'bed1'),
    { topic: `${PREFIX}/s1/or1/bed1/case`, caseId, change: 'open', retain: true },
    "the bed's case, retained",
  );

  const got: VitalsMessage[] = [];
  const sub = await followVitals({ url: ing.mqttUrl, username: 'orlink-record', password: REC, reconnectPeriod: 0, site: 's1' }, (v) => got.push(v));
  t.teardown(() => sub.endAsync(true));
  t.match(sub.options.clientId, /^orlink-record-[0-9a-f]{8}$/, "the example's default client id belongs to the account");
  const gw = await client(t, 'gw1', GW_PASS, { clientId: 'gw1' });
  await gw.publishAsync(DATA, reading(1, 64), { qos: 1 });
  await until(() => got.length > 0, 10_000, 'vitals through the example subscriber');
  t.match(got[0], { site: 's1', room: 'or1', bed: 'bed1', caseId });
  t.equal(got[0].numerics.MDC_ECG_HEART_RATE?.value, 64);
  t.equal(got[0].numerics.MDC_ECG_HEART_RATE?.caseId, caseId, 'the reading carries its case id');
});

t.test('subscriptions outside vitals/case get SUBACK 0x80 and are counted; the connection stays', async (t) => {
  const rec = await client(t, 'orlink-record', REC, { clientId: 'orlink-record-acl' });
  const seen: string[] = [];
  let lastHr: number | undefined;
  rec.on('message', (topic, payload) => {
    seen.push(topic);
    if (topic.endsWith('/vitals')) lastHr = parseVitals(payload).numerics.MDC_ECG_HEART_RATE?.value ?? undefined;
  });
  const refused = [
    '#',
    '+/#',
    `${PREFIX}/#`,
    `${PREFIX}/+/+/+/+/data`,
    `${PREFIX}/s1/or1/bed1/gw1/status`,
    `${PREFIX}/+/+/+/+/config`,
    '$SYS/#',
    `${PREFIX}/+/+/+/+`,
    `${PREFIX}/+/+/vitals`,
    `${PREFIX}/s1/or1/bed1/vitals/#`,
    'other/v1/+/+/+/vitals',
    `${PREFIX}/+/+/+/#`,
  ];
  const before = metric('mqtt_record_subscribe_denied_total');
  const codes = await suback(rec, [...refused, `${PREFIX}/+/+/bed1/vitals`]);
  t.same(codes, [...refused.map(() => SUBACK_FAILURE), 0], 'every filter but the vitals of bed1 refused');
  t.equal(metric('mqtt_record_subscribe_denied_total'), before + refused.length, 'each refusal counted');
  t.ok(rec.connected, 'still connected');

  const gw = await client(t, 'gw1', GW_PASS, { clientId: 'gw1-acl' });
  await gw.publishAsync(`${PREFIX}/s1/or1/bed1/gw1/status`, JSON.stringify({ online: true }), { qos: 1, retain: true });
  for (const [seq, hr] of [
    [11, 71],
    [12, 72],
  ])
    await gw.publishAsync(DATA, reading(seq, hr), { qos: 1 });
  await until(() => lastHr === 72, 10_000, 'vitals of the second reading');
  t.same([...new Set(seen)], [`${PREFIX}/s1/or1/bed1/vitals`], 'nothing but vitals delivered (no data, no status)');
});

t.test('a publish closes the record connection and is counted; a will refuses the login', async (t) => {
  const rec = await client(t, 'orlink-record', REC, { clientId: 'orlink-record-pub' });
  const before = metric('mqtt_record_publish_denied_total');
  const gone = closed(rec, 'record publish');
  rec.publish(`${PREFIX}/s1/or1/bed1/vitals`, 'forged', { qos: 1, retain: true });
  await gone;
  t.equal(metric('mqtt_record_publish_denied_total'), before + 1, 'counted');
  // the retained vitals of bed1 are still ingest's
  const check = await client(t, 'orlink-record', REC, { clientId: 'orlink-record-check' });
  const retained = new Promise<Buffer>((resolve) => check.once('message', (_topic, payload) => resolve(payload)));
  await check.subscribeAsync(`${PREFIX}/s1/or1/bed1/vitals`, { qos: 0 });
  t.equal(parseVitals(await retained).bed, 'bed1', 'the forged payload was not stored');

  const will = await connect(t, 'orlink-record', REC, {
    clientId: 'orlink-record-will',
    will: { topic: `${PREFIX}/s1/or1/bed1/case`, payload: Buffer.from('{}'), qos: 0, retain: true },
  });
  t.equal(will, NOT_AUTHORIZED, 'a login with a will is refused');
  t.equal(metric('mqtt_record_publish_denied_total'), before + 2, 'counted');
});

t.test('client ids are bound to the login: no takeover of a gateway or ingest, nor of the record system', async (t) => {
  const gw = await client(t, 'gw1', GW_PASS, { clientId: 'gw1' });
  const before = metric('mqtt_client_id_refused_total');
  for (const id of ['gw1', 'gw1-x', 'orlink-ingest-1', 'orlink-ingest', 'orlink-ingest-2', 'mqttjs_1234', 'orlink-recordx']) {
    t.equal(await connect(t, 'orlink-record', REC, { clientId: id }), IDENTIFIER_REJECTED, `the record account may not use '${id}'`);
  }
  t.equal(await connect(t, 'gw1', GW_PASS, { clientId: 'orlink-record' }), IDENTIFIER_REJECTED, "a gateway may not use the record system's id");
  t.equal(await connect(t, 'orlink-ingest', SVC, { clientId: 'orlink-record-1' }), IDENTIFIER_REJECTED, 'nor may the service account');
  t.equal(metric('mqtt_client_id_refused_total'), before + 9, 'each refusal counted');
  t.ok(gw.connected, "the gateway's session was not taken over");
  t.ok(ing.subscriber.connected, "nor ingest's");
  const own = await connect(t, 'orlink-record', REC, { clientId: 'orlink-record' });
  t.type(own, mqtt.MqttClient, 'its own user name as client id is accepted');
});

t.test('at most broker.record.maxSessions sessions: the oldest gives way', async (t) => {
  await until(() => ing.broker!.connectedClients === 1, 5000, "only ingest's subscriber left connected");
  const before = metric('mqtt_sessions_limited_total');
  const a = await client(t, 'orlink-record', REC, { clientId: 'orlink-record-a' });
  const b = await client(t, 'orlink-record', REC, { clientId: 'orlink-record-b' });
  const aGone = closed(a, 'oldest record session');
  const c = await client(t, 'orlink-record', REC, { clientId: 'orlink-record-c' });
  await aGone;
  t.ok(b.connected && c.connected, 'the two newest stay');
  t.equal(metric('mqtt_sessions_limited_total'), before + 1, 'counted');
});

t.test('mqtts: a verified certificate with the record user name as CN logs in as the record account', async (t) => {
  const port = ing.mqttsPort as number;
  const out = await mqttsConnect(t, port, pki, { client: pki.clients['orlink-record'], clientId: 'orlink-record-tls' });
  t.ok(out.client, `logged in by certificate (${out.error ?? out.returnCode ?? 'ok'})`);
  const rec = out.client!;
  t.same(await suback(rec, ['#', `${PREFIX}/+/+/+/vitals`]), [SUBACK_FAILURE, 0], 'the record ACL applies');
  const wrongId = await mqttsConnect(t, port, pki, { client: pki.clients['orlink-record'], clientId: 'gw1' });
  t.equal(wrongId.returnCode, IDENTIFIER_REJECTED, 'and its client id rule');
  const before = metric('mqtt_record_publish_denied_total');
  const gone = closed(rec, 'record publish over mqtts');
  rec.publish(`${PREFIX}/s1/or1/bed1/gw1/data`, 'x', { qos: 1 });
  await gone;
  t.equal(metric('mqtt_record_publish_denied_total'), before + 1, 'a publish closes it');
});

t.test('wrong passwords lock the record account out (from that address)', async (t) => {
  const ip = '127.0.0.2';
  const failures = metric('mqtt_auth_failures_total');
  const locked = metric('mqtt_auth_locked_total');
  for (let i = 0; i < 3; i++)
    t.equal(await connect(t, 'orlink-record', 'wrong', { clientId: `orlink-record-w${i}`, localAddress: ip }), BAD_USER_OR_PASSWORD, `wrong password ${i + 1}`);
  t.equal(metric('mqtt_auth_failures_total'), failures + 3);
  t.equal(
    await connect(t, 'orlink-record', REC, { clientId: 'orlink-record-after', localAddress: ip }),
    NOT_AUTHORIZED,
    'the right password is refused unchecked during the lockout',
  );
  t.equal(metric('mqtt_auth_locked_total'), locked + 1, 'counted');
});

t.test('without broker.record the record user name is refused like an unknown one', async (t) => {
  const f = await fixtureDb();
  const broker = new EmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    prefix: PREFIX,
    serviceAccount: { username: 'orlink-ingest', password: SVC },
    registry: f.registry,
    logger: silent,
    metrics: f.metrics,
  });
  await broker.start();
  t.teardown(async () => {
    await broker.close();
    f.db.close();
  });
  const code = await new Promise<number>((resolve) => {
    const c = mqtt.connect(broker.url, {
      protocolVersion: 4,
      username: 'orlink-record',
      password: REC,
      clientId: 'orlink-record',
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    c.once('connect', () => {
      c.end(true);
      resolve(0);
    });
    c.once('error', (err) => {
      c.end(true);
      resolve((err as { code?: number }).code ?? -1);
    });
  });
  t.equal(code, BAD_USER_OR_PASSWORD, 'login refused');
  t.equal(f.metrics.get('mqtt_auth_failures_total'), 1, 'counted as a failed login');
});

t.test('config: broker.record', async (t) => {
  const base = { db: { path: ':memory:' }, series: { kind: 'memory' } };
  const c = loadIngestConfig({ input: base, env: {} });
  t.same(c.broker.record, { enabled: false, username: 'orlink-record', maxSessions: 4 }, 'defaults: disabled');
  const problems = (input: unknown, env: Record<string, string> = {}) => {
    try {
      loadIngestConfig({ input, env });
      return [];
    } catch (err) {
      if (err instanceof IngestConfigError) return err.problems;
      throw err;
    }
  };
  t.match(
    problems({ ...base, broker: { record: { enabled: true } } }),
    [/ORLINK_RECORD_BROKER_PASSWORD: required when broker\.record\.enabled/],
    'enabled without a password',
  );
  t.match(
    problems({ ...base, broker: { record: { enabled: true, password: 'x' } } }, { ORLINK_RECORD_BROKER_PASSWORD: 'p' }),
    [/\/broker\/record\/password: secrets are read from env/],
    'a password in the file is refused',
  );
  t.match(
    problems({ ...base, broker: { kind: 'external', url: 'mqtt://127.0.0.1:1883', record: { enabled: true } } }, { ORLINK_RECORD_BROKER_PASSWORD: 'p' }),
    [/\/broker\/record: only for the embedded broker/],
  );
  t.match(problems({ ...base, broker: { username: 'same', record: { enabled: true, username: 'same' } } }, { ORLINK_RECORD_BROKER_PASSWORD: 'p' }), [
    /\/broker\/record\/username: must differ/,
  ]);
  const pwFile = path.join(dir, 'record-password');
  writeFileSync(pwFile, 'from-file\n', { mode: 0o600 });
  t.equal(
    loadIngestConfig({ input: { ...base, broker: { record: { enabled: true } } }, env: { ORLINK_RECORD_BROKER_PASSWORD_FILE: pwFile } }).secrets.recordPassword,
    'from-file',
    '_FILE',
  );
});
