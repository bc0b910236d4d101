/**
 * Hostile MQTT logins and topic access against the real stack (ingest's embedded aedes broker, real
 * `mqtt` clients, InfluxDB): no credentials, wrong passwords up to the lockout, unknown and retired
 * gateways, publishing under another bed, subscribing to others' data or `#`, client-id takeover of
 * a gateway and of ingest's own subscriber. Each: the CONNACK code / closed connection / refused
 * SUBACK, the counter on GET /metrics, and a good reading stored before and after.
 */
import t from 'tap';
import type { MqttClient } from 'mqtt';
import { encodeEnvelope } from '../../schemas/src/envelope.js';
import { delta, GOOD, GOOD_DATA, hr, INGEST_CLIENT_ID, PREFIX, SERVICE_PASSWORD, startStack, until } from './stack.js';

const LOGIN = ['mqtt_auth_failures_total', 'mqtt_auth_locked_total', 'mqtt_client_id_refused_total', 'broker_auth_failures', 'broker_publish_denied'] as const;
const s = await startStack(t, 'mqtt_access', {
  limits: { loginMaxFailures: 5, loginMaxFailuresPerAddress: 200, loginLockoutMs: 2000, loginLockoutMaxMs: 4000 },
});
const pwB = await s.registerGateway({ room: 'or2', bed: 'bed2', gatewayId: 'gw-b', deviceId: 'mon-b' });
// gw-b is a real, logged-in gateway of another bed: the insider of these probes
const insider = await s.connect('gw-b', pwB, 'gw-b-1');
const broker = s.ingest.broker!;
/** disconnects of ingest's own subscriber and of the good gateway, watched on the broker */
const kicked: string[] = [];
broker.instance.on('clientDisconnect', (c) => {
  if (c.id === INGEST_CLIENT_ID || c.id === `${GOOD.gatewayId}-b00t`) kicked.push(c.id);
});
let goodClosed = 0;
s.good.on('close', () => {
  goodClosed++;
});

const storedHr = async (value: number, t0: number) => {
  const r = await s.http('GET', `/cases/${s.caseId}/timeline?from=${t0 - 1}&to=${t0 + 1}&params=MDC_ECG_HEART_RATE`);
  return (r.body.numerics as { points: [number, number][] }[]).some((n) => n.points.some(([pt, v]) => pt === t0 && v === value));
};

t.test('no credentials, unknown gateway, retired gateway: CONNACK 4, counted', async (t) => {
  const pwR = await s.registerGateway({ room: 'or9', bed: 'bed9', gatewayId: 'gw-retired' });
  await s.api('POST', '/gateways/gw-retired/retire', { reason: 'decommissioned' });
  await s.guarded(t, async () => {
    const before = await s.metrics(LOGIN);
    t.equal(await s.tryLogin(undefined, undefined, 'anon-1'), 4, 'no user name or password → 4');
    t.equal(await s.tryLogin('gw-good', undefined, 'anon-2'), 4, 'a user name without password → 4');
    t.equal(await s.tryLogin('gw-nobody', 'whatever-password', 'gw-nobody'), 4, 'unknown gateway → 4');
    t.equal(await s.tryLogin('gw-retired', pwR, 'gw-retired'), 4, 'retired gateway with its right password → 4');
    const d = delta(before, await s.metrics(LOGIN));
    t.equal(d.mqtt_auth_failures_total, 4, 'four failures counted');
    t.equal(d.broker_auth_failures, 4, 'and in the broker gauge');
    t.equal(d.mqtt_auth_locked_total, 0);
  });
});

t.test('wrong passwords: 5 checked (CONNACK 4), then locked (CONNACK 5, right password too) until the lockout ends', async (t) => {
  const pwL = await s.registerGateway({ room: 'or3', bed: 'bed3', gatewayId: 'gw-locked' });
  await s.guarded(t, async () => {
    const before = await s.metrics(LOGIN);
    const codes: (number | 'closed')[] = [];
    for (let i = 0; i < 8; i++) codes.push(await s.tryLogin('gw-locked', `guess-${i}`, 'gw-locked'));
    t.same(codes, [4, 4, 4, 4, 4, 5, 5, 5], 'five guesses checked, then refused unchecked');
    t.equal(await s.tryLogin('gw-locked', pwL, 'gw-locked'), 5, 'during the lockout even the right password is refused unchecked');
    const d = delta(before, await s.metrics(LOGIN));
    t.equal(d.mqtt_auth_failures_total, 5, 'five failures counted');
    t.equal(d.mqtt_auth_locked_total, 4, 'four locked refusals counted');
    let code: number | 'closed' = 5;
    const end = Date.now() + 10_000;
    while (code !== 0 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 300));
      code = await s.tryLogin('gw-locked', pwL, 'gw-locked');
    }
    t.equal(code, 0, 'after the lockout the right password works');
  });
});

t.test("publish under another bed (the good gateway's topic): connection closed, denied counted, nothing stored", async (t) => {
  const pwX = await s.registerGateway({ room: 'or4', bed: 'bed4', gatewayId: 'gw-x', deviceId: 'mon-x' });
  const x = await s.connect('gw-x', pwX, 'gw-x-1');
  const t0 = Date.now() - 2000;
  await s.guarded(t, async () => {
    const before = await s.metrics(LOGIN);
    const closed = new Promise<void>((r) => x.once('close', () => r()));
    const forged = (gatewayId: string, deviceId: string) =>
      Buffer.from(encodeEnvelope({ gatewayId, bootId: 'evil', seq: 1, sentAt: t0, devices: [hr(t0, 250, deviceId)] }));
    // HR 250 under the real monitor's device id, on the real gateway's topic
    x.publish(GOOD_DATA, forged(GOOD.gatewayId, GOOD.deviceId), { qos: 1 });
    await closed;
    const d = delta(before, await s.metrics(LOGIN));
    t.equal(d.broker_publish_denied, 1, 'publish denied (broker_publish_denied)');
    // and on its own connection, another prefix / another bed with its own gateway id
    const y = await s.connect('gw-x', pwX, 'gw-x-2');
    const closedY = new Promise<void>((r) => y.once('close', () => r()));
    y.publish(`${PREFIX}/${GOOD.site}/${GOOD.room}/${GOOD.bed}/gw-x/data`, forged('gw-x', GOOD.deviceId), { qos: 1 });
    await closedY;
    t.equal(delta(before, await s.metrics(LOGIN)).broker_publish_denied, 2, 'second denial counted');
  });
  t.notOk(await storedHr(250, t0), "HR 250 is not in the good bed's timeline");
});

t.test("subscribe to another bed's data, its status, its vitals, to #: refused (connection closed), nothing received", async (t) => {
  await s.guarded(t, async () => {
    for (const filter of [
      GOOD_DATA,
      `${PREFIX}/${GOOD.site}/${GOOD.room}/${GOOD.bed}/+/status`,
      `${PREFIX}/${GOOD.site}/${GOOD.room}/${GOOD.bed}/vitals`,
      `${PREFIX}/#`,
      '#',
      '$SYS/#',
    ]) {
      // a second session of the insider (same client id each time: no session limit reached)
      const probe = await s.connect('gw-b', pwB, 'gw-b-probe');
      const got: string[] = [];
      probe.on('message', (topic) => got.push(topic));
      const closed = new Promise<void>((r) => probe.once('close', () => r()));
      const answer = await probe.subscribeAsync(filter, { qos: 1 }).then(
        (g) => `granted ${g[0]?.qos}`,
        (e: Error) => e.message,
      );
      await closed;
      t.ok(answer === 'Connection closed' || answer === 'granted 128', `${filter} → ${answer}`);
      await s.publishGood();
      t.same(got, [], `${filter}: nothing received`);
    }
  });
  t.ok(insider.connected, "the insider's own session was not affected");
});

t.test('refused subscriptions are counted on /metrics', async (t) => {
  const txt = (await s.http('GET', '/metrics')).text;
  t.match(txt, /^orlink_ingest_(mqtt|broker)_subscribe_denied(_total)? \d+/m);
});

t.test("client-id takeover of the good gateway and of ingest's own subscriber: CONNACK 2, counted, the victims stay connected", async (t) => {
  await s.guarded(t, async () => {
    const before = await s.metrics(LOGIN);
    kicked.length = 0;
    const closedBefore = goodClosed;
    t.equal(await s.tryLogin('gw-b', pwB, `${GOOD.gatewayId}-b00t`), 2, "gw-b with the good gateway's client id → 2");
    t.equal(await s.tryLogin('gw-b', pwB, GOOD.gatewayId), 2, "gw-b with the good gateway's id as client id → 2");
    t.equal(await s.tryLogin('gw-b', pwB, INGEST_CLIENT_ID), 2, "gw-b with ingest's subscriber client id → 2");
    t.equal(await s.tryLogin('gw-nobody', 'x-password', INGEST_CLIENT_ID), 4, "no account with ingest's client id → 4 before any takeover");
    t.equal(await s.tryLogin('orlink-ingest', 'not-the-service-password', INGEST_CLIENT_ID), 4, 'the service user name with a wrong password → 4');
    const d = delta(before, await s.metrics(LOGIN));
    t.equal(d.mqtt_client_id_refused_total, 3, 'three client-id refusals counted');
    t.equal(d.mqtt_auth_failures_total, 2, 'two failed logins counted');
    await new Promise((r) => setTimeout(r, 300));
    t.same(kicked, [], "neither ingest's subscriber nor the good gateway was disconnected");
    t.equal(goodClosed, closedBefore, "the good gateway's connection never closed");
    t.ok(s.ingest.subscriber.connected, "ingest's subscriber is connected");
    const health = await s.http('GET', '/health');
    t.equal(health.body.checks.subscriber, true, '/health: subscriber connected');
  });
  t.ok(SERVICE_PASSWORD, 'the service account exists (its password is not used by any probe)');
});

t.test('the insider stays usable: its own data is stored (the probes did not break legitimate use)', async (t) => {
  const t0 = Date.now() - 1000;
  const c = insider as MqttClient;
  await until('insider connected', () => c.connected, 5000);
  await c.publishAsync(
    `${PREFIX}/${GOOD.site}/or2/bed2/gw-b/data`,
    Buffer.from(encodeEnvelope({ gatewayId: 'gw-b', bootId: 'b', seq: 1, sentAt: t0, devices: [hr(t0, 77, 'mon-b')] })),
    { qos: 1 },
  );
  const latest = await s.api('GET', '/beds/bed2/latest');
  t.equal(latest.numerics.find((n: { mdc: string }) => n.mdc === 'MDC_ECG_HEART_RATE')?.value, 77);
});
