/**
 * Test rig for the embedded broker's limits (tests only): the fixture registry with gw1 (bed1) and
 * gw2 (bed2), the durable intake over a memory (or given) series writer, the broker on a free
 * loopback port, a log capture, and MQTT clients that are all closed by the test's teardown.
 */
import mqtt from 'mqtt';
import net from 'node:net';
import pino from 'pino';
import type { Test } from 'tap';
import type { BrokerLimits } from '../../../schemas/src/ingest-config.js';
import { encodeEnvelope } from '../../../schemas/src/envelope.js';
import { BatchProcessor } from '../mqtt/processor.js';
import { Subscriber } from '../mqtt/subscriber.js';
import { envelope, fixtureDb, silent } from '../mqtt/test-fixtures.js';
import { MemorySeriesStore } from '../series/memory.js';
import type { SeriesWriter } from '../series/types.js';
import { DurableIntake } from './durable-intake.js';
import { EmbeddedBroker } from './embedded-broker.js';

export const PREFIX = 'orlink/v1';
export const GW = {
  gw1: { password: 'secret-1', base: `${PREFIX}/s1/or1/bed1/gw1` },
  gw2: { password: 'secret-2', base: `${PREFIX}/s1/or1/bed2/gw2` },
} as const;
export type GwName = keyof typeof GW;

export const dataBytes = (gw: GwName, seq: number, hr = 70) => Buffer.from(encodeEnvelope(envelope(seq, Date.now() - 60_000 + seq, hr, `boot-${gw}`, gw)));

export interface RigOptions {
  limits?: Partial<BrokerLimits>;
  writer?: SeriesWriter;
  /** start ingest's status subscriber (service account, client id 'orlink-ingest-1') */
  subscriber?: boolean;
}

export async function brokerRig(t: Test, o: RigOptions = {}) {
  const f = await fixtureDb();
  await f.registry.createGateway({ id: 'gw2', bedId: 'bed2', password: GW.gw2.password });
  const logs: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write: (line: string) => {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  const store = new MemorySeriesStore();
  const processor = new BatchProcessor({ prefix: PREFIX, ...f, series: o.writer ?? store, logger: silent, retryMinMs: 5, retryMaxMs: 20 });
  const intake = new DurableIntake({
    processor,
    batchMaxEnvelopes: 64,
    logger: silent,
    concurrency: o.limits?.intakeConcurrency ?? 2,
    batchMaxBytes: o.limits?.intakeBatchMaxBytes ?? 1 << 20,
  });
  const broker = new EmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    prefix: PREFIX,
    serviceAccount: { username: 'orlink-ingest', password: 'svc' },
    registry: f.registry,
    logger,
    intake,
    metrics: f.metrics,
    reservedClientIds: ['orlink-ingest-1'],
    ...(o.limits ? { limits: o.limits } : {}),
  });
  await broker.start();
  let sub: Subscriber | null = null;
  if (o.subscriber) {
    sub = new Subscriber({
      url: broker.url,
      username: 'orlink-ingest',
      password: 'svc',
      clientId: 'orlink-ingest-1',
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
  /** connects (resolves at CONNACK 0, rejects with the code); `localAddress` picks the source (127.0.0.x) */
  const connect = (username: string, password: string, opts: mqtt.IClientOptions & { localAddress?: string } = {}) => {
    const { localAddress, ...rest } = opts;
    const c = new mqtt.MqttClient(() => net.createConnection({ host: '127.0.0.1', port: broker.port, ...(localAddress ? { localAddress } : {}) }), {
      protocolVersion: 4,
      username,
      password,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      clientId: `${username}-${clients.length}`,
      ...rest,
    });
    clients.push(c);
    c.on('error', () => undefined);
    return new Promise<mqtt.MqttClient>((resolve, reject) => {
      c.once('connect', () => resolve(c));
      c.once('error', (err) => {
        c.end(true);
        reject(err);
      });
      c.once('close', () => reject(new Error('closed before CONNACK')));
    });
  };
  /** the CONNACK return code of a login (0 = accepted; the client is then closed) */
  const login = async (username: string, password: string, opts: mqtt.IClientOptions & { localAddress?: string } = {}): Promise<number> => {
    try {
      await (await connect(username, password, opts)).endAsync(true);
      return 0;
    } catch (err) {
      return (err as { code?: number }).code ?? -1;
    }
  };
  /** resolves when the client's connection closes; rejects after `ms` */
  const closed = (c: mqtt.MqttClient, ms = 5000) =>
    new Promise<void>((resolve, reject) => {
      if (!c.connected && c.disconnected) return resolve();
      const timer = setTimeout(() => reject(new Error(`connection not closed within ${ms} ms`)), ms);
      c.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  /** retained messages the broker holds under a topic */
  const retained = async (topic: string): Promise<number> => {
    let n = 0;
    for await (const _ of (
      broker.instance as unknown as { persistence: { createRetainedStream(p: string): AsyncIterable<unknown> } }
    ).persistence.createRetainedStream(topic))
      n++;
    return n;
  };
  const logged = (msg: RegExp) => logs.filter((l) => msg.test(String(l.msg)));
  t.teardown(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await sub?.close();
    await intake.close();
    await broker.close();
    f.db.close();
  });
  return { ...f, store, intake, broker, sub, logs, logged, connect, login, closed, retained };
}
