import mqtt from 'mqtt';
import t, { type Test } from 'tap';
import { encodeEnvelope } from '../../../schemas/src/envelope.js';
import { EmbeddedBroker } from '../broker/embedded-broker.js';
import { BatchProcessor } from './processor.js';
import { Subscriber } from './subscriber.js';
import { envelope, fixtureDb, GatedWriter, silent, until } from './test-fixtures.js';

const PREFIX = 'orlink/v1';

async function setup(t: Test) {
  const f = await fixtureDb();
  const writer = new GatedWriter();
  const broker = new EmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    prefix: PREFIX,
    serviceAccount: { username: 'ingest', password: 'svc' },
    registry: f.registry,
    logger: silent,
  });
  await broker.start();
  const processor = new BatchProcessor({ prefix: PREFIX, ...f, series: writer, logger: silent, retryMinMs: 5, retryMaxMs: 20 });
  const sub = new Subscriber({
    url: broker.url,
    username: 'ingest',
    password: 'svc',
    clientId: 'ingest-test',
    prefix: PREFIX,
    keepaliveS: 30,
    batchMaxEnvelopes: 16,
    maxPending: 100,
    publishVitals: true,
    processor,
    logger: silent,
  });
  await sub.start();
  const gw = await mqtt.connectAsync(broker.url, { protocolVersion: 4, username: 'gw1', password: 'secret-1', clientId: 'gw1', reconnectPeriod: 0 });
  const acks: number[] = [];
  broker.instance.on('ack', (packet, client) => {
    if (client?.id === 'ingest-test' && packet && 'messageId' in packet) acks.push(packet.messageId as number);
  });
  t.teardown(async () => {
    writer.openGate();
    await gw.endAsync(true);
    await sub.close();
    await broker.close();
    f.db.close();
  });
  return { ...f, writer, broker, sub, gw, acks };
}

t.test('PUBACK reaches the broker only after the series write succeeded', async (t) => {
  const s = await setup(t);
  const base = Date.now() - 10_000;
  await s.gw.publishAsync(`${PREFIX}/s1/or1/bed1/gw1/data`, Buffer.from(encodeEnvelope(envelope(1, base, 70))), { qos: 1 });
  await s.writer.whenEntered();
  await s.gw.publishAsync(`${PREFIX}/s1/or1/bed1/gw1/data`, Buffer.from(encodeEnvelope(envelope(2, base + 1000, 71))), { qos: 1 });
  await until(() => s.sub.stats.received === 2, 5000, 'second message queued');
  // the broker has delivered both and holds them in flight: no PUBACK while the write is blocked
  t.equal(s.acks.length, 0, 'no PUBACK while the write is pending');
  t.equal(s.sub.stats.acked, 0);
  s.writer.openGate();
  await until(() => s.acks.length === 2, 5000, 'both acks');
  t.equal(s.writer.inner.size('numeric'), 2);
  t.equal(s.metrics.get('envelopes_written_total'), 2);
});

t.test('duplicate and poison messages are acked; the next good one is stored', async (t) => {
  const s = await setup(t);
  s.writer.openGate();
  const base = Date.now() - 10_000;
  const topic = `${PREFIX}/s1/or1/bed1/gw1/data`;
  const bytes = Buffer.from(encodeEnvelope(envelope(1, base, 70)));
  await s.gw.publishAsync(topic, bytes, { qos: 1 });
  await s.gw.publishAsync(topic, bytes, { qos: 1 });
  await s.gw.publishAsync(topic, Buffer.from('garbage \x00\xff not protobuf'), { qos: 1 });
  await s.gw.publishAsync(topic, Buffer.from(encodeEnvelope({ ...envelope(3, base, 1), schemaVersion: 9 })), { qos: 1 });
  await s.gw.publishAsync(topic, Buffer.from(encodeEnvelope(envelope(2, base + 1000, 72))), { qos: 1 });
  await until(() => s.acks.length === 5, 5000, 'five acks');
  t.equal(s.metrics.get('envelopes_deduped_total'), 1);
  t.equal(s.metrics.get('envelopes_dead_lettered_total'), 2);
  t.equal(s.deadLetters.count(), 2);
  t.match(
    s.deadLetters
      .list()
      .map((d) => d.reason)
      .join('|'),
    /schema_version 9/,
  );
  t.equal(s.writer.inner.size('numeric'), 2);
  t.equal(s.dedupe.count(), 2);
});

t.test('wrong password is refused; publish outside the own bed prefix is refused', async (t) => {
  const s = await setup(t);
  s.writer.openGate();
  const bad = await mqtt.connectAsync(s.broker.url, { protocolVersion: 4, username: 'gw1', password: 'nope', reconnectPeriod: 0 }).catch((e) => e);
  t.ok(bad instanceof Error, 'connect with a wrong password fails');
  t.match(String(bad.message), /Bad username or password|Not authorized/i);
  const closed = new Promise<void>((r) => s.gw.once('close', () => r()));
  s.gw.publish(`${PREFIX}/s1/or1/bed2/gw1/data`, Buffer.from(encodeEnvelope(envelope(1, Date.now(), 1))), { qos: 1 });
  await closed;
  t.equal(s.broker.stats.publishDenied, 1);
  t.equal(s.sub.stats.received, 0);
});

t.test('start() fails with a coded error when no broker answers', async (t) => {
  const f = await fixtureDb();
  t.teardown(() => f.db.close());
  const processor = new BatchProcessor({ prefix: PREFIX, ...f, series: new GatedWriter(), logger: silent });
  const sub = new Subscriber({
    url: 'mqtt://127.0.0.1:1',
    username: 'x',
    password: 'y',
    clientId: 'nobody',
    prefix: PREFIX,
    keepaliveS: 30,
    batchMaxEnvelopes: 1,
    maxPending: 1,
    publishVitals: false,
    processor,
    logger: silent,
    startTimeoutMs: 300,
  });
  await t.rejects(sub.start(), { code: 'ING_ERR_BROKER' });
  await sub.close();
});
