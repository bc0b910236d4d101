import t from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import { Aedes } from 'aedes';
import { MemoryOutbox } from '../outbox/memory-outbox.js';
import { silentLogger } from '../log.js';
import { MqttPublisher } from './mqtt-publisher.js';
import { gatewayTopics } from './topics.js';

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

t.test('topics', async (t) => {
  t.same(gatewayTopics({ topicPrefix: 'orlink/v1/', site: 's', room: 'r', bed: 'b', gatewayId: 'g' }), {
    data: 'orlink/v1/s/r/b/g/data',
    status: 'orlink/v1/s/r/b/g/status',
    config: 'orlink/v1/s/r/b/g/config',
  });
});

t.test('bounded in-flight window; ack only on PUBACK; in seq order', async (t) => {
  // the broker sends PUBACK only after authorizePublish calls back: the test holds them
  const held: (() => void)[] = [];
  let maxHeld = 0;
  const order: number[] = [];
  const aedes = await Aedes.createBroker({
    authorizePublish: (_client, packet, cb) => {
      if (!packet.topic.endsWith('/data')) {
        cb(null);
        return;
      }
      order.push(Buffer.from(packet.payload as Buffer).readUInt32BE(0));
      held.push(() => cb(null));
      maxHeld = Math.max(maxHeld, held.length);
    },
  });
  const server = net.createServer(aedes.handle).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const outbox = new MemoryOutbox({ maxBytes: 1 << 20, segmentBytes: 1 << 16 });
  await outbox.open();
  for (let i = 0; i < 40; i++)
    await outbox.append((seq) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(seq);
      return b;
    });
  const pub = new MqttPublisher({
    url: `mqtt://127.0.0.1:${port}`,
    clientId: 'gw-pub-test',
    keepaliveS: 30,
    maxInflight: 4,
    connectTimeoutMs: 2000,
    topics: gatewayTopics({ topicPrefix: 'orlink/v1', site: 's', room: 'r', bed: 'b', gatewayId: 'g' }),
    outbox,
    logger: silentLogger(),
    status: () => ({ online: true }),
    statusIntervalMs: 60_000,
    willPayload: '{"online":false}',
  });
  t.teardown(async () => {
    await pub.stop();
    await new Promise<void>((r) => aedes.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  });
  pub.start();
  await until('window full', () => held.length === 4);
  t.equal(outbox.depth().records, 40, 'nothing acked before PUBACK');
  for (let i = 0; i < 100; i++) {
    await until('a held publish or drained', () => held.length > 0 || outbox.depth().records === 0);
    if (!held.length) break;
    held.shift()!(); // one PUBACK at a time
  }
  await until('drained', () => outbox.depth().records === 0);
  t.equal(maxHeld, 4, 'never more than maxInflight unacknowledged publishes');
  t.same(
    order,
    Array.from({ length: 40 }, (_, i) => i + 1),
    'published in seq order',
  );
  t.equal(pub.stats.acked, 40);
  t.equal(pub.stats.resent, 0);
  // new records keep flowing while connected
  await outbox.append((seq) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(seq);
    return b;
  });
  await until('new record published', () => held.length === 1);
  held.shift()!();
  await until('drained again', () => outbox.depth().records === 0);
});

t.test('broker unreachable: records stay in the outbox; stop() returns', async (t) => {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const outbox = new MemoryOutbox({ maxBytes: 1 << 20, segmentBytes: 1 << 16 });
  await outbox.open();
  await outbox.append(Buffer.from('x'));
  const pub = new MqttPublisher({
    url: `mqtt://127.0.0.1:${port}`,
    clientId: 'gw-x',
    keepaliveS: 30,
    maxInflight: 4,
    connectTimeoutMs: 500,
    topics: gatewayTopics({ topicPrefix: 'orlink/v1', site: 's', room: 'r', bed: 'b', gatewayId: 'g' }),
    outbox,
    logger: silentLogger(),
    status: () => ({}),
    statusIntervalMs: 60_000,
    willPayload: '{}',
    backoff: { baseMs: 20, maxMs: 50 },
  });
  pub.start();
  await until('a failed attempt', () => pub.stats.lastError !== undefined);
  await pub.stop({ drainMs: 1000 });
  t.equal(outbox.depth().records, 1);
  t.equal(pub.stats.connects, 0);
  t.match(pub.stats.lastError, /ECONNREFUSED/);
});

t.test('an outbox record above maxPayloadBytes is dropped unsent (the broker would close the connection on it)', async (t) => {
  const seen: number[] = [];
  let closes = 0;
  const aedes = await Aedes.createBroker({
    authorizePublish: (_client, packet, cb) => {
      if (packet.topic.endsWith('/data')) seen.push((packet.payload as Buffer).length);
      cb(null);
    },
  });
  aedes.on('clientDisconnect', () => {
    closes++;
  });
  const server = net.createServer(aedes.handle).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const outbox = new MemoryOutbox({ maxBytes: 1 << 20, segmentBytes: 1 << 16 });
  await outbox.open();
  for (const size of [100, 5000, 200]) await outbox.append(Buffer.alloc(size, 1));
  const pub = new MqttPublisher({
    url: `mqtt://127.0.0.1:${port}`,
    clientId: 'g-pub-cap',
    keepaliveS: 30,
    maxInflight: 4,
    connectTimeoutMs: 2000,
    maxPayloadBytes: 1000,
    topics: gatewayTopics({ topicPrefix: 'orlink/v1', site: 's', room: 'r', bed: 'b', gatewayId: 'g' }),
    outbox,
    logger: silentLogger(),
    status: () => ({ online: true }),
    statusIntervalMs: 60_000,
    willPayload: '{"online":false}',
  });
  t.teardown(async () => {
    await pub.stop();
    await new Promise<void>((r) => aedes.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  });
  pub.start();
  await until('drained', () => outbox.depth().records === 0);
  t.same(seen, [100, 200], 'the oversize record never reached the broker');
  t.equal(pub.stats.droppedTooLarge, 1);
  t.equal(pub.stats.acked, 2);
  t.equal(closes, 0, 'the connection stayed up');
});

t.test('subscriptions ride on the publisher link: subscribed at QoS 1 after every CONNACK, retained message each time', async (t) => {
  const topics = gatewayTopics({ topicPrefix: 'orlink/v1', site: 's', room: 'r', bed: 'b', gatewayId: 'g' });
  const aedes = await Aedes.createBroker();
  const subscribes: { clientId: string; topic: string; qos: number }[] = [];
  aedes.on('subscribe', (subs, client) => {
    for (const s of subs) subscribes.push({ clientId: client.id, topic: s.topic, qos: s.qos });
  });
  let link: { close: () => void } | undefined;
  aedes.on('client', (c) => {
    link = c;
  });
  const server = net.createServer(aedes.handle).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve, reject) =>
    aedes.publish(
      {
        cmd: 'publish',
        topic: topics.config,
        payload: Buffer.from('{"version":1}'),
        qos: 1,
        retain: true,
        dup: false,
      },
      (err) => (err ? reject(err) : resolve()),
    ),
  );
  const outbox = new MemoryOutbox({ maxBytes: 1 << 20, segmentBytes: 1 << 16 });
  await outbox.open();
  const got: { payload: string; retained: boolean }[] = [];
  const pub = new MqttPublisher({
    url: `mqtt://127.0.0.1:${port}`,
    clientId: 'gw-sub-test',
    keepaliveS: 30,
    maxInflight: 4,
    connectTimeoutMs: 2000,
    topics,
    outbox,
    logger: silentLogger(),
    status: () => ({ online: true }),
    statusIntervalMs: 60_000,
    willPayload: '{"online":false}',
    backoff: { baseMs: 20, maxMs: 50 },
    subscriptions: [
      {
        topic: topics.config,
        onMessage: (payload, retained) => {
          got.push({ payload: payload.toString(), retained });
        },
      },
    ],
  });
  t.teardown(async () => {
    await pub.stop();
    await new Promise<void>((r) => aedes.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  });
  pub.start();
  await until('the retained document', () => got.length === 1);
  t.same(got, [{ payload: '{"version":1}', retained: true }]);
  t.same(subscribes, [{ clientId: 'gw-sub-test', topic: topics.config, qos: 1 }], 'one subscription, QoS 1, on the publisher client id');

  // a live publish arrives too; data publishes on the same link are still acked only on PUBACK
  aedes.publish({ cmd: 'publish', topic: topics.config, payload: Buffer.from('{"version":2}'), qos: 1, retain: true, dup: false }, () => undefined);
  await until('the live document', () => got.length === 2);
  t.same(got[1], { payload: '{"version":2}', retained: false });
  for (let i = 0; i < 5; i++) await outbox.append(() => Buffer.from([i]));
  await until('drained', () => outbox.depth().records === 0);

  // the broker drops the link: the publisher reconnects, subscribes again, gets the retained one again
  link?.close();
  await until('reconnected and resubscribed', () => pub.stats.connects === 2 && got.length === 3);
  t.same(got[2], { payload: '{"version":2}', retained: true });
  t.equal(subscribes.length, 2, 'subscribed again after the new CONNACK');
  t.equal(aedes.connectedClients, 1, 'one connection, no second session');
});
