/**
 * Embedded broker with the durable intake: the gateway's PUBACK waits for the series write; a
 * resend on a new connection while the first copy is still blocked is stored once; poison is
 * dead-lettered and acked; close() acks nothing that is not stored; the status-only internal
 * subscriber does not process data a second time.
 */
import mqtt from 'mqtt';
import t, { type Test } from 'tap';
import { encodeEnvelope } from '../../../schemas/src/envelope.js';
import { BatchProcessor } from '../mqtt/processor.js';
import { Subscriber } from '../mqtt/subscriber.js';
import { envelope, fixtureDb, GatedWriter, silent, until } from '../mqtt/test-fixtures.js';
import { onlineStatus } from '../../../test/helpers/status-docs.js';
import { DurableIntake } from './durable-intake.js';
import { EmbeddedBroker } from './embedded-broker.js';

const PREFIX = 'orlink/v1';
const TOPIC = `${PREFIX}/s1/or1/bed1/gw1/data`;

async function setup(t: Test, withSubscriber = false) {
  const f = await fixtureDb();
  const writer = new GatedWriter();
  const processor = new BatchProcessor({ prefix: PREFIX, ...f, series: writer, logger: silent, retryMinMs: 5, retryMaxMs: 20 });
  const vitals: string[] = [];
  const intake = new DurableIntake({ processor, batchMaxEnvelopes: 16, logger: silent, onVitals: (v) => vitals.push(...v.map((x) => x.topic)) });
  const broker = new EmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    prefix: PREFIX,
    serviceAccount: { username: 'ingest', password: 'svc' },
    registry: f.registry,
    logger: silent,
    intake,
  });
  await broker.start();
  let sub: Subscriber | null = null;
  if (withSubscriber) {
    sub = new Subscriber({
      url: broker.url,
      username: 'ingest',
      password: 'svc',
      clientId: 'ingest-status',
      prefix: PREFIX,
      keepaliveS: 30,
      batchMaxEnvelopes: 16,
      maxPending: 100,
      publishVitals: false,
      processor,
      logger: silent,
      kinds: ['status'],
    });
    await sub.start();
  }
  const clients: mqtt.MqttClient[] = [];
  const gateway = async (clientId = 'gw1') => {
    const c = await mqtt.connectAsync(broker.url, { protocolVersion: 4, username: 'gw1', password: 'secret-1', clientId, reconnectPeriod: 0 });
    clients.push(c);
    return c;
  };
  t.teardown(async () => {
    writer.openGate();
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await sub?.close();
    await intake.close();
    await broker.close();
    f.db.close();
  });
  return { ...f, writer, intake, broker, gateway, vitals, sub };
}

const bytes = (seq: number, hr: number, base = Date.now() - 10_000) => Buffer.from(encodeEnvelope(envelope(seq, base + seq * 1000, hr)));

t.test("the gateway's PUBACK comes only after the series write", async (t) => {
  const s = await setup(t);
  const gw = await s.gateway();
  let acked = 0;
  const p = [1, 2, 3].map((i) =>
    gw.publishAsync(TOPIC, bytes(i, 60 + i), { qos: 1 }).then(() => {
      acked++;
    }),
  );
  await s.writer.whenEntered();
  await until(() => s.intake.pending === 3, 5000, 'three held');
  t.equal(acked, 0, 'no PUBACK while the write is blocked');
  t.equal(s.writer.inner.size('numeric'), 0);
  s.writer.openGate();
  await Promise.all(p);
  t.equal(s.writer.inner.size('numeric'), 3, 'stored before acked');
  t.equal(s.metrics.get('envelopes_written_total'), 3);
  t.same(s.vitals, [`${PREFIX}/s1/or1/bed1/vitals`], 'vitals of the batch handed to the broker');
});

t.test('a resend on a new connection while the first copy waits is stored once', async (t) => {
  const s = await setup(t);
  const first = await s.gateway('gw1-a');
  void first.publishAsync(TOPIC, bytes(1, 70), { qos: 1 }).catch(() => undefined);
  await s.writer.whenEntered();
  const closed = new Promise<void>((r) => first.once('close', () => r()));
  first.stream.destroy(); // the gateway lost its connection; it resends on a new one
  await closed;
  const second = await s.gateway('gw1-b');
  const resent = second.publishAsync(TOPIC, bytes(1, 70), { qos: 1 });
  await until(() => s.intake.pending === 2, 5000, 'resend queued behind the blocked copy');
  s.writer.openGate();
  await resent;
  t.equal(s.metrics.get('envelopes_written_total'), 1, 'written once');
  t.equal(s.metrics.get('envelopes_deduped_total'), 1, 'the resend was a duplicate');
});

t.test('poison is dead-lettered and acked; the next good one is stored', async (t) => {
  const s = await setup(t);
  s.writer.openGate();
  const gw = await s.gateway();
  await gw.publishAsync(TOPIC, Buffer.from('not protobuf \xff'), { qos: 1 });
  await gw.publishAsync(TOPIC, bytes(2, 72), { qos: 1 });
  t.equal(s.deadLetters.count(), 1);
  t.equal(s.writer.inner.size('numeric'), 1);
});

t.test('close(): what is not stored is not acknowledged', async (t) => {
  const s = await setup(t);
  const gw = await s.gateway();
  let acked = false;
  const closed = new Promise<void>((r) => gw.once('close', () => r()));
  void gw.publishAsync(TOPIC, bytes(1, 70), { qos: 1 }).then(
    () => {
      acked = true;
    },
    () => undefined,
  );
  await s.writer.whenEntered();
  const closing = s.intake.close();
  await closed;
  s.writer.openGate(); // the fixture writer ignores the abort signal; the real one honours it
  await closing;
  t.equal(acked, false, 'no PUBACK; aedes closed the connection instead');
  t.equal(s.broker.stats.intakeRefused, 1);
  t.equal(await s.intake.submit(TOPIC, bytes(2, 1)), false, 'a closed intake refuses');
});

t.test('with the status-only subscriber, data is processed once and status still arrives', async (t) => {
  const s = await setup(t, true);
  s.writer.openGate();
  const gw = await s.gateway();
  await gw.publishAsync(TOPIC, bytes(1, 70), { qos: 1 });
  await gw.publishAsync(`${PREFIX}/s1/or1/bed1/gw1/status`, JSON.stringify(onlineStatus({ gatewayId: 'gw1', site: 's1', room: 'or1', bed: 'bed1' })), {
    qos: 1,
    retain: true,
  });
  await until(() => s.metrics.get('status_messages_total') === 1, 5000, 'status processed');
  t.equal(s.metrics.get('envelopes_received_total'), 1, 'data envelope seen once');
  t.equal(s.metrics.get('envelopes_written_total'), 1);
  t.equal(s.registry.getGateway('gw1')?.online, true);
});

t.test('queued messages of a closed connection are answered without processing', async (t) => {
  const f = await fixtureDb();
  t.teardown(() => f.db.close());
  const writer = new GatedWriter();
  const processor = new BatchProcessor({ prefix: PREFIX, ...f, series: writer, logger: silent });
  const intake = new DurableIntake({ processor, batchMaxEnvelopes: 1, logger: silent });
  t.teardown(() => {
    writer.openGate();
    return intake.close();
  });
  let alive = true;
  const a = intake.submit(TOPIC, bytes(1, 70), () => alive);
  await writer.whenEntered();
  const b = intake.submit(TOPIC, bytes(2, 71), () => alive);
  alive = false;
  const c = intake.submit(TOPIC, bytes(3, 72));
  t.equal(await b, false, 'pruned: its connection is gone');
  writer.openGate();
  t.equal(await a, true, 'the batch in progress completes');
  t.equal(await c, true);
  t.equal(intake.stats.abandoned, 1);
  t.equal(writer.inner.size('numeric'), 2);
});

t.test(
  'long outage: keepalive drops the held connection, the resend waits, stale copies are pruned',
  {
    timeout: 60_000,
  },
  async (t) => {
    const s = await setup(t);
    const closes: number[] = [];
    const attempt = async (id: string, keepalive = 1) => {
      const c = await mqtt.connectAsync(s.broker.url, {
        protocolVersion: 4,
        username: 'gw1',
        password: 'secret-1',
        clientId: id,
        reconnectPeriod: 0,
        keepalive,
      });
      // whichever keepalive fires first — aedes' (1.5 × keepalive, it drops the socket) or the
      // client's own (it ends itself) — a closed client with reconnectPeriod 0 must fail its in-flight
      // QoS 1 publishes: mqtt.js keeps them pending for a reconnect unless the client is ended
      c.on('close', () => {
        closes.push(Date.now());
        if (keepalive < 60) c.end(true);
      });
      c.on('error', () => undefined);
      return {
        c,
        acks: [1, 2, 3].map((i) =>
          c.publishAsync(TOPIC, bytes(i, 60 + i), { qos: 1 }).then(
            () => true,
            () => false,
          ),
        ),
      };
    };
    const first = await attempt('gw1-1');
    await s.writer.whenEntered();
    await until(() => closes.length === 1, 10_000, 'first connection dropped by keepalive (socket not read while held)');
    const second = await attempt('gw1-2');
    await until(() => closes.length === 2, 10_000, 'second connection dropped too');
    // the live connection: a keepalive that a loaded machine cannot outlast before the gate opens
    const third = await attempt('gw1-3', 60);
    await until(() => s.intake.stats.abandoned >= 3, 10_000, "the second connection's copies pruned");
    s.writer.openGate();
    t.same(await Promise.all(third.acks), [true, true, true], 'the live connection gets its PUBACKs');
    t.same(await Promise.all(first.acks), [false, false, false]);
    t.same(await Promise.all(second.acks), [false, false, false]);
    await third.c.endAsync(true);
    t.equal(s.metrics.get('envelopes_written_total'), 3, 'stored once');
    t.equal(s.writer.inner.size('numeric'), 3);
  },
);
