/**
 * Broker-link traps (issue "Biomedical engineers first"): each answers with its cause and its fix,
 * once per window with a count, and a broker that closes the link at once is retried ever more slowly.
 * Against the real embedded broker (ingest/src/broker/broker-fixture.ts: gw1 at s1/or1/bed1, password secret-1).
 */
import t, { type Test } from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import { createLogger } from '../log.js';
import { MemoryOutbox } from '../outbox/memory-outbox.js';
import { brokerRig } from '../../../ingest/src/broker/broker-fixture.js';
import { MqttPublisher } from './mqtt-publisher.js';
import { gatewayTopics } from './topics.js';
import { explainMqttError, RepeatGate } from './link-hints.js';

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface GwOpts {
  url: string;
  username?: string;
  password?: string;
  clientId?: string;
  bed?: string;
  baseMs?: number;
}

async function gateway(t: Test, o: GwOpts) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('debug', {
    write: (l: string) => {
      lines.push(JSON.parse(l) as Record<string, unknown>);
    },
  });
  const outbox = new MemoryOutbox({ maxBytes: 1 << 20, segmentBytes: 1 << 16 });
  await outbox.open();
  await outbox.append(() => Buffer.from([1, 2, 3]));
  const pub = new MqttPublisher({
    url: o.url,
    clientId: o.clientId ?? 'gw1-0000abcd',
    gatewayId: 'gw1',
    keepaliveS: 30,
    maxInflight: 4,
    connectTimeoutMs: 2000,
    topics: gatewayTopics({ topicPrefix: 'orlink/v1', site: 's1', room: 'or1', bed: o.bed ?? 'bed1', gatewayId: 'gw1' }),
    outbox,
    logger,
    status: () => ({ online: true }),
    statusIntervalMs: 60_000,
    willPayload: '{"online":false}',
    backoff: { baseMs: o.baseMs ?? 100, maxMs: 5_000, random: () => 0 },
    repeatWindowMs: 60_000,
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
  });
  t.teardown(() => pub.stop());
  pub.start();
  const warnings = (re: RegExp) => lines.filter((l) => (l.level as number) >= 40 && re.test(String(l.msg)));
  return { pub, lines, warnings };
}

t.test('registry mismatch: the gateway is told both locations, logs it once with a count, and backs off', async (t) => {
  const rig = await brokerRig(t);
  const gw = await gateway(t, { url: rig.broker.url, username: 'gw1', password: 'secret-1', bed: 'bed9' });
  await until('three refused connections', () => gw.pub.stats.connects >= 3, 20_000);
  const told = gw.warnings(/the registry has gateway/);
  t.equal(told.length, 1, 'said once in the window, not once per attempt');
  t.match(String(told[0].msg), 'the registry has gateway gw1 at site/room/bed s1/or1/bed1, this gateway is configured for s1/or1/bed9');
  t.match(String(told[0].msg), /fix site\/room\/bed in the gateway config.*POST \/gateways\/gw1\/move/);
  t.equal(gw.pub.stats.lastError, 'location-mismatch');
  t.equal(gw.warnings(/mqtt connection lost/).length, 1, 'the repeated close is logged once too');
  t.ok(rig.logged(/another site\/room\/bed than the registry/).length >= 1, 'the broker logs the refusal');
  // the backoff restarts only after a connection that lasted (stableMs), not at each CONNACK: with no jitter the
  // delays are 50, 100, 200, 400 ms, so the fifth connect comes at least 400 ms after the fourth
  // (a backoff reset at each CONNACK would retry every 50 ms, forever)
  await until('five connects', () => gw.pub.stats.connects >= 5, 30_000);
  const at = gw.lines.filter((l) => l.msg === 'mqtt connected').map((l) => l.time as number);
  t.ok(
    at[4] - at[3] >= 350,
    `the retries slow down (${at
      .slice(0, 5)
      .map((x) => x - at[0])
      .join(', ')} ms)`,
  );
});

t.test('wrong password: CONNACK 4 names the gateway and the rotation route, once per window', async (t) => {
  const rig = await brokerRig(t, { limits: { loginMaxFailures: 1000, loginMaxFailuresPerAddress: 1000 } });
  const gw = await gateway(t, { url: rig.broker.url, username: 'gw1', password: 'not-the-password', baseMs: 20 });
  await until('a refusal logged', () => gw.warnings(/mqtt link failed/).length >= 1, 10_000);
  await new Promise((r) => setTimeout(r, 500)); // more attempts happen (20 ms backoff), their lines must not
  const failed = gw.warnings(/mqtt link failed/);
  t.equal(failed.length, 1, 'logged once, not once per attempt');
  t.match(String(failed[0].msg), /wrong user name or password for gateway gw1/);
  t.match(String(failed[0].msg), /POST \/gateways\/gw1\/password/);
  t.equal(failed[0].stack, undefined, 'no stack');
  t.notOk(JSON.stringify(gw.lines).includes('not-the-password'), 'the password is never logged');
});

t.test('a client id of another gateway: CONNACK 2 says what the broker wants', async (t) => {
  const rig = await brokerRig(t);
  const gw = await gateway(t, { url: rig.broker.url, username: 'gw1', password: 'secret-1', clientId: 'gw2-0000abcd' });
  await until('a refusal logged', () => gw.warnings(/mqtt link failed/).length >= 1, 10_000);
  const msg = String(gw.warnings(/mqtt link failed/)[0].msg);
  t.match(msg, "client id 'gw2-0000abcd' refused");
  t.match(msg, /begin with the login's gateway id/);
  t.equal(gw.warnings(/mqtt link failed/)[0].code, 2);
});

t.test('no broker listening: the url is named and the fix is to start it or fix mqtt.url', async (t) => {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  const gw = await gateway(t, { url: `mqtt://127.0.0.1:${port}` });
  await until('a refusal logged', () => gw.warnings(/mqtt link failed/).length >= 1, 10_000);
  t.match(String(gw.warnings(/mqtt link failed/)[0].msg), `nothing listens at mqtt://127.0.0.1:${port}: is ingest (or Mosquitto) running`);
});

t.test('explainMqttError: CONNACK 5 and TLS; the url password is not repeated', async (t) => {
  const who = { gatewayId: 'gw7', username: 'gw7', clientId: 'gw7-1', url: 'mqtts://u:pw@broker:8883' };
  t.match(explainMqttError(Object.assign(new Error('Connection refused: Not authorized'), { code: 5 }), who).hint, /POST \/gateways\/gw7\/password.*retired/);
  const tls = explainMqttError(Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), who);
  t.match(tls.hint, /mqtt\.tls\.caFile/);
  t.notOk(explainMqttError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), who).hint.includes('pw'), 'credentials in the url are dropped');
});

t.test('RepeatGate: first at once, then once per window with the count', async (t) => {
  let now = 0;
  const g = new RepeatGate(1000, () => now);
  t.equal(g.pass('a'), 0);
  t.equal(g.pass('a'), undefined);
  t.equal(g.pass('b'), 0, 'keys are separate');
  now = 500;
  t.equal(g.pass('a'), undefined);
  now = 1000;
  t.equal(g.pass('a'), 2, 'two suppressed since');
  g.clear('a');
  t.equal(g.pass('a'), 0);
});
