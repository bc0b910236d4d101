/**
 * The ingest MQTT subscriber: mqtt.js over MQTT 3.1.1 (protocolVersion 4, so aedes works),
 * clean: false with a fixed clientId (the broker keeps QoS 1 messages while ingest is down),
 * QoS 1 subscriptions to `{prefix}/+/+/+/+/data` and `/status`.
 *
 * Manual acknowledgement: mqtt.js (build/lib/handlers/publish.js) sends PUBACK for a QoS 1
 * message in the callback of `client.handleMessage(packet, cb)`, and processes incoming packets
 * one at a time (the next one only after that callback). `customHandleAcks` is honoured only for
 * MQTT 5. So we override `handleMessage`: the message is queued and the callback is called with a
 * sentinel error, which makes mqtt.js continue WITHOUT sending PUBACK; we send the PUBACK ourselves
 * after the series write succeeded, and only on the same connection the message came on (after a
 * reconnect the broker redelivers, the dedupe table absorbs it). When `maxPending` messages wait,
 * the callback is held back: mqtt.js stops reading, TCP backpressure reaches the broker.
 *
 * MQTT 5 (`protocolVersion: 5`, external brokers): the same override is used. mqtt.js does honour
 * `customHandleAcks` for MQTT 5, but it holds the packet pump until that callback fires
 * (handlers/publish.js), i.e. one message per InfluxDB write; the override keeps batching. The
 * session must outlive a disconnect, so MQTT 5 connects with `clean: false` and a
 * `sessionExpiryInterval`. With `shareGroup`, data is subscribed as `$share/{group}/{filter}`.
 * `kinds: ['status']` (embedded broker): data arrives through the broker's durable intake instead.
 */
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { IngestError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { BatchProcessor, InMessage } from './processor.js';
import { dataFilter, statusFilter } from './topics.js';

export interface SubscriberOptions {
  url: string;
  username: string;
  password: string;
  clientId: string;
  prefix: string;
  keepaliveS: number;
  batchMaxEnvelopes: number;
  maxPending: number;
  publishVitals: boolean;
  processor: BatchProcessor;
  logger: Logger;
  /** start() fails when no session is established within this time (default 30 s) */
  startTimeoutMs?: number;
  /** 4 (MQTT 3.1.1, default) or 5 */
  protocolVersion?: 4 | 5;
  /** subscribe as `$share/{shareGroup}/{prefix}/+/+/+/+/data` (and `/status`): replicas share the load */
  shareGroup?: string;
  /** MQTT 5 session expiry (default 7 days) */
  sessionExpiryS?: number;
  /** which topics to subscribe (default both) */
  kinds?: readonly ('data' | 'status')[];
  /** a status document larger than this is acknowledged and dropped, never stored (broker.limits.maxStatusBytes) */
  maxStatusBytes?: number;
  /** counts `mqtt_status_too_large_total` */
  metrics?: Metrics;
}

/** the subscription filters of a subscriber */
export function subscriptionFilters(o: Pick<SubscriberOptions, 'prefix' | 'shareGroup' | 'kinds'>): string[] {
  const kinds = o.kinds ?? ['data', 'status'];
  const share = (f: string) => (o.shareGroup ? `$share/${o.shareGroup}/${f}` : f);
  const out: string[] = [];
  if (kinds.includes('data')) out.push(share(dataFilter(o.prefix)));
  if (kinds.includes('status')) out.push(share(statusFilter(o.prefix)));
  return out;
}

interface Pending extends InMessage {
  messageId?: number;
  qos: number;
  gen: number;
}

const DEFERRED_ACK = Object.assign(new Error('orlink: ack deferred until stored'), { code: 'ING_DEFERRED_ACK' });

export class Subscriber {
  private client: MqttClient | null = null;
  private gen = 0;
  private readonly queue: Pending[] = [];
  private readonly held: (() => void)[] = [];
  private draining: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private closing: Promise<void> | null = null;
  /** counters for tests and /metrics */
  readonly stats = { received: 0, acked: 0, staleAcksDropped: 0 };

  constructor(private readonly opts: SubscriberOptions) {}

  get connected(): boolean {
    return this.client?.connected === true;
  }
  get pending(): number {
    return this.queue.length;
  }

  /** resolves at the first CONNACK + SUBACK; reconnects by itself afterwards */
  async start(): Promise<void> {
    const o = this.opts;
    const v5 = o.protocolVersion === 5;
    const client = mqtt.connect(o.url, {
      protocolVersion: v5 ? 5 : 4,
      clean: false,
      clientId: o.clientId,
      username: o.username,
      password: o.password,
      keepalive: o.keepaliveS,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      resubscribe: false,
      ...(v5 ? { properties: { sessionExpiryInterval: o.sessionExpiryS ?? 7 * 86400 } } : {}),
    });
    this.client = client;
    client.handleMessage = (packet: IPublishPacket, cb: (err?: Error) => void) => this.onPublish(packet, cb);
    client.on('error', (err) => o.logger.warn({ err: err.message }, 'mqtt client error'));
    client.on('offline', () => o.logger.warn('mqtt subscriber offline'));
    const subscribed = new Promise<void>((resolve, reject) => {
      client.on('connect', () => {
        this.gen++;
        o.logger.info({ gen: this.gen }, 'mqtt subscriber connected');
        const filters = Object.fromEntries(subscriptionFilters(o).map((f) => [f, { qos: 1 as const }]));
        client.subscribe(filters, (err, granted) => {
          if (err) {
            o.logger.error({ err: err.message }, 'subscribe failed');
            reject(err);
            return;
          }
          if (granted?.some((g) => g.qos >= 128)) {
            o.logger.error({ granted }, 'subscription refused by broker');
            reject(new IngestError('ING_ERR_BROKER', 'fatal', 'subscription refused by broker (ACL?)'));
            return;
          }
          resolve();
        });
      });
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_r, reject) => {
      timer = setTimeout(
        () => reject(new IngestError('ING_ERR_BROKER', 'fatal', `no MQTT session with ${o.url} within ${o.startTimeoutMs ?? 30_000} ms`)),
        o.startTimeoutMs ?? 30_000,
      );
    });
    try {
      await Promise.race([subscribed, deadline]);
    } catch (err) {
      await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private onPublish(packet: IPublishPacket, cb: (err?: Error) => void): void {
    this.stats.received++;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    if (payload.length > (this.opts.maxStatusBytes ?? Infinity) && packet.topic.endsWith('/status')) {
      // an external broker cannot cap one topic's size: refused here, before the registry (docs/security.md)
      this.opts.metrics?.inc('mqtt_status_too_large_total');
      this.opts.logger.warn(
        { topic: packet.topic, bytes: payload.length, maxBytes: this.opts.maxStatusBytes },
        'status document too large: dropped, not stored',
      );
      cb(); // PUBACK: refusing it for good, a redelivery would be dropped again
      return;
    }
    this.queue.push({ topic: packet.topic, payload, messageId: packet.messageId, qos: packet.qos, gen: this.gen });
    const release = () => cb(packet.qos === 0 ? undefined : DEFERRED_ACK);
    if (this.queue.length < this.opts.maxPending) release();
    else this.held.push(release);
    this.kick();
  }

  private kick(): void {
    if (this.draining || this.closing) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
      if (this.queue.length && !this.closing) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length && !this.abort.signal.aborted) {
      const batch = this.queue.slice(0, this.opts.batchMaxEnvelopes);
      let outcome;
      try {
        outcome = await this.opts.processor.process(batch, this.abort.signal);
      } catch (err) {
        // processor bugs must not kill the loop; nothing is acked, the broker redelivers on reconnect
        this.opts.logger.error({ err }, 'batch processing failed');
        outcome = { ack: batch.map(() => false), vitals: [] };
      }
      if (this.abort.signal.aborted) return;
      this.queue.splice(0, batch.length);
      batch.forEach((m, i) => {
        if (outcome.ack[i]) this.sendAck(m);
      });
      while (this.held.length && this.queue.length < this.opts.maxPending) this.held.shift()?.();
      if (this.opts.publishVitals) {
        for (const v of outcome.vitals) this.client?.publish(v.topic, v.payload, { qos: 0, retain: true }, () => undefined);
        this.opts.processor.countVitals(outcome.vitals.length);
      }
    }
  }

  private sendAck(m: Pending): void {
    const client = this.client;
    if (m.qos === 0 || m.messageId === undefined || !client) return;
    if (m.gen !== this.gen || !client.connected) {
      this.stats.staleAcksDropped++;
      return;
    }
    // `_sendPacket` is mqtt.js' internal writer (TS-private); noStore=true writes it directly.
    (client as unknown as { _sendPacket(p: object, cb?: () => void, cbStore?: () => void, noStore?: boolean): void })._sendPacket(
      { cmd: 'puback', messageId: m.messageId },
      undefined,
      undefined,
      true,
    );
    this.stats.acked++;
  }

  /** publish on the subscriber's connection (external broker: the retained case topic); mqtt.js queues it while offline */
  publish(topic: string, payload: string, opts: { qos: 0 | 1; retain: boolean }): void {
    this.client?.publish(topic, payload, opts, (err) => {
      if (err) this.opts.logger.warn({ err: err.message, topic }, 'publish failed');
    });
  }

  /** stops processing (un-acked messages stay with the broker), disconnects */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        this.abort.abort();
        await this.draining;
        for (const h of this.held.splice(0)) h();
        const client = this.client;
        if (client) await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
      })();
    }
    return this.closing;
  }
}
