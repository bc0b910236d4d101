/**
 * Broker limits on Debian's Mosquitto 2.0.11 with the mosquitto.conf `orlink mqtt-auth` generates
 * (two listeners, per-listener password/ACL files, max_packet_size; docs/security.md "Broker limits").
 * What Mosquitto enforces, and what it cannot (asserted as measured, so a change shows up here):
 *  - client ids: `use_username_as_clientid` on the clients listener → another gateway's id (or
 *    ingest's) cannot close that session; gateways have no account on the ingest listener;
 *  - packet size: a packet above max_packet_size closes the connection (3.1.1: no reason code);
 *  - retained: only data and status are writable (ACL); a retained `data` IS stored (gap);
 *  - status size: Mosquitto stores any size up to the packet limit (gap) — ingest's subscriber drops
 *    a document above broker.limits.maxStatusBytes before the registry;
 *  - failed logins: refused, but no backoff and no user name in the log (gap): the guess rate is reported.
 * Ingest runs in-process against the ingest listener (memory series).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import t from 'tap';
import { run as mqttAuth } from '../../cli/mqtt-auth.js';
import { startIngest } from '../../ingest/src/main.js';
import { openDb } from '../../ingest/src/registry/database.js';
import { SqliteRegistry } from '../../ingest/src/registry/sqlite-registry.js';
import { freePort } from '../../ingest/src/series/influxd-launcher.js';
import { encodeEnvelope } from '../../schemas/src/envelope.js';
import { brokerLimitDefaults, loadIngestConfig } from '../../schemas/src/ingest-config.js';
import { startTestMosquitto } from '../helpers/mosquitto.js';
import { onlineStatus } from '../helpers/status-docs.js';
import { until } from './interop-util.js';

const NOT_AUTHORIZED = 5;
const P = 'orlink/v1/s/or1';

t.test('broker limits on Mosquitto with the generated mosquitto.conf', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-mosq-limits-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dbPath = path.join(dir, 'ingest.sqlite');
  const db = openDb(dbPath);
  const reg = new SqliteRegistry(db);
  reg.createSite({ id: 's', name: 'S' });
  reg.createRoom({ id: 'or1', siteId: 's', name: 'OR 1' });
  for (const g of ['gw1', 'gw2']) {
    reg.createBed({ id: `bed-${g}`, roomId: 'or1', name: g });
    await reg.createGateway({ id: g, bedId: `bed-${g}`, password: `${g}-password` });
  }
  db.close();
  const clientsPort = await freePort();
  const ingestPort = await freePort();
  const env = { ORLINK_INGEST_BROKER_PASSWORD: 'svc-password', ORLINK_RECORD_BROKER_PASSWORD: 'rec-password' };
  t.equal(await mqttAuth(['--db', dbPath, '--out', dir, '--listener', `${clientsPort}@127.0.0.1`, '--ingest-listener', `${ingestPort}@127.0.0.1`], env), 0);
  const conf = readFileSync(path.join(dir, 'mosquitto.conf'), 'utf8');
  const mosq = await startTestMosquitto(t, { listenerConfig: { port: clientsPort, lines: conf.split('\n') }, extra: ['log_type debug'] });
  const clientsUrl = `mqtt://127.0.0.1:${clientsPort}`;
  const ingestUrl = `mqtt://127.0.0.1:${ingestPort}`;
  const limits = brokerLimitDefaults();

  const logs: Record<string, unknown>[] = [];
  const ingest = await startIngest(
    loadIngestConfig({
      input: {
        http: { host: '127.0.0.1', port: 0 },
        db: { path: dbPath },
        series: { kind: 'memory' },
        broker: { kind: 'external', url: ingestUrl },
        mqtt: { clientId: 'orlink-ingest-1' },
        log: { level: 'warn' },
      },
      env,
    }),
    {
      logger: pino(
        { level: 'warn' },
        {
          write: (l: string) => {
            logs.push(JSON.parse(l) as Record<string, unknown>);
          },
        },
      ),
    },
  );
  t.teardown(() => ingest.close());
  const metrics = ingest.services.metrics;

  const open: mqtt.MqttClient[] = [];
  t.teardown(() => Promise.all(open.map((c) => c.endAsync(true))));
  async function connect(url: string, username: string, password: string, o: mqtt.IClientOptions = {}) {
    const c = await mqtt.connectAsync(url, { protocolVersion: 4, username, password, reconnectPeriod: 0, connectTimeout: 5000, ...o });
    c.on('error', () => undefined);
    open.push(c);
    const state = { closed: false };
    c.on('close', () => {
      state.closed = true;
    });
    return { c, state };
  }
  async function refusal(url: string, username: string, password: string, o: mqtt.IClientOptions = {}): Promise<number> {
    try {
      (await connect(url, username, password, o)).c.end(true);
      return 0;
    } catch (err) {
      return (err as { code?: number }).code ?? -1;
    }
  }
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

  await t.test('the generated config works end to end: gateway → clients listener → ingest listener → ingest', async (t) => {
    const gw1 = await connect(clientsUrl, 'gw1', 'gw1-password', { clientId: 'gw1-3f2a9c01' });
    await gw1.c.publishAsync(`${P}/bed-gw1/gw1/data`, envelope('gw1', 1), { qos: 1 });
    await until(() => metrics.get('envelopes_written_total') === 1, 10_000, 'stored');
    t.equal(await refusal(ingestUrl, 'gw1', 'gw1-password'), NOT_AUTHORIZED, 'a gateway has no account on the ingest listener');
    gw1.c.end(true);
  });

  await t.test('client ids: another account cannot close a session by reusing its id', async (t) => {
    const victim = await connect(clientsUrl, 'gw1', 'gw1-password', { clientId: 'gw1-3f2a9c01' });
    const attacker = await connect(clientsUrl, 'gw2', 'gw2-password', { clientId: 'gw1-3f2a9c01' });
    const record = await connect(clientsUrl, 'orlink-record', 'rec-password', { clientId: 'orlink-ingest-1' });
    // give Mosquitto time to act on a takeover it would do: a ping round trip on the victim's connection
    await new Promise<void>((resolve) => {
      victim.c.publish(`${P}/bed-gw1/gw1/status`, '{"online":true}', { qos: 1, retain: true }, () => resolve());
    });
    t.equal(victim.state.closed, false, "measured: gw2 presenting gw1's id did not close gw1 (its id became 'gw2')");
    t.equal(attacker.state.closed, false);
    t.equal(record.state.closed, false);
    t.ok(ingest.subscriber.connected, "ingest's subscriber (id orlink-ingest-1, other listener) stayed connected");
    t.match(mosq.log(), /New client connected from 127\.0\.0\.1:\d+ as gw2 /, 'Mosquitto replaced the client id by the user name');
    // measured: with the user name as client id, a second session of the SAME gateway closes the first
    const second = await connect(clientsUrl, 'gw1', 'gw1-password', { clientId: 'gw1-b00710aa' });
    await until(() => victim.state.closed, 5000, 'the older session of gw1 closed');
    t.pass('one session per gateway on Mosquitto: the newer one wins');
    for (const c of [second, attacker, record]) c.c.end(true);
  });

  await t.test('max_packet_size: a larger packet closes the connection; the other gateway is untouched', async (t) => {
    // measured: Mosquitto 2.0.11 compares 1 + remaining length (the 1–4 length bytes not counted) with
    // max_packet_size, so it accepts up to 3 bytes more than the limit for a 1 MiB packet (aedes: exact)
    const topic = `${P}/bed-gw1/gw1/data`;
    const counted = (payload: number) => 1 + 2 + topic.length + 2 + payload;
    const payload = limits.maxPacketBytes - counted(0);
    const gw1 = await connect(clientsUrl, 'gw1', 'gw1-password');
    const gw2 = await connect(clientsUrl, 'gw2', 'gw2-password');
    const deadBefore = metrics.get('envelopes_dead_lettered_total');
    await gw1.c.publishAsync(topic, Buffer.alloc(payload, 0xff), { qos: 1 });
    await until(() => metrics.get('envelopes_dead_lettered_total') === deadBefore + 1, 10_000, 'at the limit: delivered (poison, dead-lettered)');
    gw1.c.publish(topic, Buffer.alloc(payload + 1, 0xff), { qos: 1 }, () => undefined);
    await until(() => gw1.state.closed, 5000, 'one byte more: disconnected');
    await until(() => /Client gw1 disconnected due to oversize packet/.test(mosq.log()), 5000, 'logged');
    t.pass('logged with the gateway id (the client id is the user name on this listener)');
    const written = metrics.get('envelopes_written_total');
    await gw2.c.publishAsync(`${P}/bed-gw2/gw2/data`, envelope('gw2', 1), { qos: 1 });
    await until(() => metrics.get('envelopes_written_total') === written + 1, 10_000, 'gw2 stored');
    t.equal(metrics.get('envelopes_dead_lettered_total'), deadBefore + 1, 'the oversize one never reached ingest');
    t.equal(gw2.state.closed, false);
    gw2.c.end(true);
  });

  await t.test('retained: outside data/status denied by the ACL; a retained data message is stored (gap)', async (t) => {
    const gw1 = await connect(clientsUrl, 'gw1', 'gw1-password');
    await gw1.c.publishAsync(`${P}/bed-gw1/gw1/junk`, Buffer.alloc(1000), { qos: 1, retain: true });
    await until(() => /Denied PUBLISH from gw1 .*\/gw1\/junk/.test(mosq.log()), 5000, 'ACL denial logged');
    t.pass('3.1.1: PUBACK, but denied (not stored, not delivered)');
    await gw1.c.publishAsync(`${P}/bed-gw1/gw1/data`, envelope('gw1', 50), { qos: 1, retain: true });
    const late = await connect(ingestUrl, 'orlink-ingest', 'svc-password', { clientId: 'orlink-ingest-check' });
    const retained: string[] = [];
    late.c.on('message', (topic, _p, packet) => {
      if (packet.retain) retained.push(topic);
    });
    await late.c.subscribeAsync(`${P}/+/+/data`, { qos: 1 });
    await until(() => retained.length > 0, 5000, 'the retained data message');
    t.same(retained, [`${P}/bed-gw1/gw1/data`], 'measured gap: Mosquitto keeps a retained data message (one per gateway topic, ≤ max_packet_size)');
    await gw1.c.publishAsync(`${P}/bed-gw1/gw1/data`, Buffer.alloc(0), { qos: 1, retain: true }); // cleared
    for (const c of [gw1, late]) c.c.end(true);
  });

  await t.test('status above maxStatusBytes: Mosquitto keeps it (gap), ingest drops it before the registry', async (t) => {
    const gw1 = await connect(clientsUrl, 'gw1', 'gw1-password');
    await gw1.c.publishAsync(`${P}/bed-gw1/gw1/status`, JSON.stringify({ online: false, pad: 'y'.repeat(limits.maxStatusBytes) }), { qos: 1, retain: true });
    await until(() => metrics.get('mqtt_status_too_large_total') === 1, 10_000, 'dropped by the subscriber');
    await gw1.c.publishAsync(
      `${P}/bed-gw1/gw1/status`,
      JSON.stringify({ ...onlineStatus({ gatewayId: 'gw1', site: 's', room: 'or1', bed: 'bed-gw1' }), note: 'small' }),
      { qos: 1, retain: true },
    );
    await until(() => JSON.stringify(ingest.services.registry.getGateway('gw1')).includes('small'), 10_000, 'the small status stored');
    t.notMatch(JSON.stringify(ingest.services.registry.getGateway('gw1')), /yyyy/, 'the large document never reached the registry');
    t.equal(metrics.get('mqtt_status_too_large_total'), 1);
    t.match(
      logs.find((l) => /status document too large/.test(String(l.msg))),
      { topic: `${P}/bed-gw1/gw1/status` },
    );
    gw1.c.end(true);
  });

  await t.test('failed logins: refused, no backoff (gap): 50 guesses, rate reported; the right password still works', async (t) => {
    const t0 = performance.now();
    const codes: number[] = [];
    for (let i = 0; i < 50 && performance.now() - t0 < 20_000; i++) codes.push(await refusal(clientsUrl, 'gw1', `wrong-${i}`));
    const s = (performance.now() - t0) / 1000;
    t.comment(`Mosquitto 2.0.11: ${codes.length} wrong passwords in ${s.toFixed(2)} s = ${(codes.length / s).toFixed(0)} guesses/s, no lockout`);
    t.same(new Set(codes), new Set([NOT_AUTHORIZED]));
    t.equal(await refusal(clientsUrl, 'gw1', 'gw1-password'), 0, 'measured: no lockout at all');
    const denied = mosq
      .log()
      .split('\n')
      .filter((l) => /disconnected, not authorised/.test(l));
    t.ok(denied.length >= 50, `${denied.length} refusals logged`);
    t.ok(
      denied.every((l) => !l.includes('gw1')),
      'measured gap: the log line names neither the user nor (in that line) the address',
    );
  });
});
