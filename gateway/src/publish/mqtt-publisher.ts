/**
 * MQTT publisher: drains the outbox in seq order over MQTT 3.1.1 (aedes speaks only 3.1.1),
 * clean session, QoS 1, with a bounded in-flight window. outbox.ack(seq) happens ONLY in the
 * PUBACK callback. mqtt.js's in-memory queue is not trusted across reconnects: each connection
 * is a fresh client (reconnectPeriod 0, our own backoff), and on every connect the publisher
 * resends everything unacked from the outbox. Also publishes the retained status (LWT = offline).
 * `subscriptions` (the registry config topic, docs/gateway.md "Devices from the registry") ride on
 * this same connection: subscribed at QoS 1 after every CONNACK (the session is clean, so each
 * subscribe brings the retained message again); the gateway holds one MQTT session, never two.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Outbox } from '../outbox/outbox.js';
import { Backoff, type BackoffOptions } from '../session/backoff.js';
import type { PublisherStats } from '../status/gateway-status.js';
import type { GatewayTopics } from './topics.js';
import { explainMqttError, RepeatGate } from './link-hints.js';

export interface MqttPublisherOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  keepaliveS: number;
  maxInflight: number;
  connectTimeoutMs: number;
  topics: GatewayTopics;
  outbox: Outbox;
  logger: Logger;
  /** Current status document (JSON-serialisable), published retained. */
  status: () => unknown;
  statusIntervalMs: number;
  /** Retained payload the broker publishes if we vanish (LWT). */
  willPayload: string;
  backoff?: BackoffOptions;
  now?: () => number;
  /**
   * Largest payload sent (mqtt.maxEnvelopeBytes). An outbox record above it (written before the limit
   * was lowered) is dropped with an error log: the broker would close the connection every time.
   */
  maxPayloadBytes?: number;
  /** TLS material for mqtts:// (PEM contents, not paths). */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean };
  /** the gateway id, for the wording of link hints (default: the client id) */
  gatewayId?: string;
  /**
   * A connection must have lasted this long for the reconnect backoff to start again from its base
   * (default 10 s): a broker that closes the link right after CONNACK is retried ever more slowly.
   */
  stableMs?: number;
  /** identical link errors are logged once per window, with a count (default 60 s) */
  repeatWindowMs?: number;
  /** topics subscribed on this connection after every CONNACK (QoS 1); their messages go to `onMessage` */
  subscriptions?: readonly MqttSubscription[];
}

export interface MqttSubscription {
  topic: string;
  /** called for each message on `topic` (retained one included); must not throw */
  onMessage: (payload: Buffer, retained: boolean) => void;
}

export class MqttPublisher {
  private client: MqttClient | undefined;
  private gen = 0;
  private connected = false;
  private inflight = new Set<number>();
  private cursor = 0;
  private pumping = false;
  private stopping = false;
  private started = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private statusSoon: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  /** Highest seq ever handed to mqtt.js: publishing at or below it again is a resend. */
  private maxPublished = 0;
  private drainWaiters: (() => void)[] = [];
  private readonly backoff: Backoff;
  private readonly now: () => number;
  private readonly log: Logger;
  readonly stats: PublisherStats = { connected: false, connects: 0, published: 0, acked: 0, resent: 0 };
  private connectedAt = 0;
  private readonly repeat: RepeatGate;
  /** where the embedded broker says why it closes the link (ingest/src/broker/embedded-broker.ts explainMisplaced) */
  private readonly refusedTopic: string;

  constructor(private readonly o: MqttPublisherOptions) {
    this.backoff = new Backoff({ baseMs: 500, maxMs: 30_000, ...o.backoff });
    this.now = o.now ?? Date.now;
    this.log = o.logger.child({ component: 'mqtt' });
    this.repeat = new RepeatGate(o.repeatWindowMs ?? 60_000, this.now);
    this.refusedTopic = o.topics.status.replace(/status$/, 'refused');
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.unsubscribe = this.o.outbox.onChange((ev) => {
      if (ev.type === 'append') this.pump();
    });
    this.statusTimer = setInterval(() => this.publishStatus(), this.o.statusIntervalMs);
    this.connect();
  }

  /** Ask for a status republish soon (coalesced). */
  statusChanged(): void {
    if (this.statusSoon || !this.connected) return;
    this.statusSoon = setTimeout(() => {
      this.statusSoon = undefined;
      this.publishStatus();
    }, 100);
  }

  /**
   * Graceful stop: waits up to `drainMs` for the outbox to drain (PUBACKs), publishes the retained
   * offline status, disconnects. What is still unacked stays in the outbox for the next start.
   */
  async stop(opts: { drainMs?: number; goodbye?: string } = {}): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of [this.retryTimer, this.statusSoon]) if (t) clearTimeout(t);
    if (this.statusTimer) clearInterval(this.statusTimer);
    if (this.connected && this.o.outbox.depth().records > 0 && (opts.drainMs ?? 0) > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, opts.drainMs);
        this.drainWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.unsubscribe?.();
    const client = this.client;
    this.client = undefined;
    this.gen++;
    if (client) {
      if (this.connected && opts.goodbye) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000);
          client.publish(this.o.topics.status, opts.goodbye!, { qos: 1, retain: true }, () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          client.end(true);
          resolve();
        }, 2000);
        client.end(false, {}, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.connected = false;
    this.stats.connected = false;
  }

  /** Resolves once connected (tests, demo). */
  async waitConnected(timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!this.connected) {
      if (Date.now() > end) throw new Error('mqtt not connected in time');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  // ---- connection ---------------------------------------------------------------------------

  private connect(): void {
    if (this.stopping) return;
    const gen = ++this.gen;
    const o = this.o;
    const client = mqtt.connect(o.url, {
      clientId: o.clientId,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0,
      keepalive: o.keepaliveS,
      connectTimeout: o.connectTimeoutMs,
      queueQoSZero: false,
      resubscribe: false,
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.tls
        ? {
            rejectUnauthorized: o.tls.rejectUnauthorized,
            ...(o.tls.ca ? { ca: o.tls.ca } : {}),
            ...(o.tls.cert ? { cert: o.tls.cert } : {}),
            ...(o.tls.key ? { key: o.tls.key } : {}),
          }
        : {}),
      will: { topic: o.topics.status, payload: Buffer.from(o.willPayload), qos: 1, retain: true },
    });
    this.client = client;
    client.on('connect', () => {
      if (gen !== this.gen) return;
      this.connected = true;
      this.stats.connected = true;
      this.stats.connects++;
      this.connectedAt = this.now();
      this.inflight.clear();
      this.cursor = 0; // resend everything unacked, whatever mqtt.js believes
      this.log.info({ url: redactUrl(o.url), backlog: o.outbox.depth().records }, 'mqtt connected');
      this.publishStatus();
      this.pump();
      this.subscribe(client, gen);
    });
    client.on('error', (err) => {
      if (gen !== this.gen) return;
      const code = (err as { code?: string | number }).code;
      this.stats.lastError = code !== undefined ? String(code) : err.message;
      const { key, hint } = explainMqttError(err as Error & { code?: string | number }, {
        gatewayId: o.gatewayId ?? o.clientId,
        clientId: o.clientId,
        url: o.url,
        ...(o.username !== undefined ? { username: o.username } : {}),
      });
      const repeated = this.repeat.pass(key);
      if (repeated !== undefined) this.log.warn({ code, hint, repeated }, `mqtt link failed: ${hint}`);
    });
    client.on('message', (topic, payload, packet) => {
      if (gen !== this.gen) return;
      if (topic === this.refusedTopic) {
        this.onRefused(payload);
        return;
      }
      const sub = o.subscriptions?.find((s) => s.topic === topic);
      if (!sub) return;
      try {
        sub.onMessage(payload, packet.retain);
      } catch (err) {
        this.log.error({ err, topic }, 'subscription handler failed');
      }
    });
    client.on('close', () => {
      if (gen !== this.gen) return;
      this.onDisconnected(client);
    });
  }

  /** (re)subscribes the `subscriptions` of this connection; a refusal (ACL) is logged once per window */
  private subscribe(client: MqttClient, gen: number): void {
    for (const sub of this.o.subscriptions ?? []) {
      client.subscribe(sub.topic, { qos: 1 }, (err, granted) => {
        if (gen !== this.gen) return;
        if (err) {
          this.log.warn({ err: err.message, topic: sub.topic }, 'subscribe failed');
          return;
        }
        if (granted?.some((g) => g.qos === 128)) {
          const repeated = this.repeat.pass(`subscribe-refused:${sub.topic}`);
          if (repeated !== undefined)
            this.log.error({ topic: sub.topic, repeated }, 'subscription refused by the broker (ACL): check the broker lets this gateway read the topic');
        } else this.log.debug({ topic: sub.topic }, 'subscribed');
      });
    }
  }

  private onDisconnected(client: MqttClient): void {
    const wasConnected = this.connected;
    this.connected = false;
    this.stats.connected = false;
    this.inflight.clear();
    this.gen++;
    client.end(true);
    if (wasConnected && this.now() - this.connectedAt >= (this.o.stableMs ?? 10_000)) this.backoff.reset();
    if (wasConnected) {
      const repeated = this.repeat.pass('lost');
      if (repeated !== undefined) this.log.warn({ backlog: this.o.outbox.depth().records, repeated }, 'mqtt connection lost');
    }
    if (this.stopping) return;
    const delay = this.backoff.next();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, delay);
  }

  /** the broker's reason for closing the link (a registry location mismatch): logged once per window, kept in lastError */
  private onRefused(payload: Buffer): void {
    let why: { reason?: unknown; registry?: Record<string, unknown>; configured?: Record<string, unknown> };
    try {
      why = JSON.parse(payload.toString('utf8'));
    } catch {
      return;
    }
    if (why?.reason !== 'location-mismatch' || !why.registry || !why.configured) return;
    const loc = (l: Record<string, unknown>) => `${String(l.site)}/${String(l.room)}/${String(l.bed)}`;
    const id = this.o.gatewayId ?? this.o.clientId;
    this.stats.lastError = 'location-mismatch';
    const repeated = this.repeat.pass('location-mismatch');
    if (repeated === undefined) return;
    this.log.error(
      { registry: why.registry, configured: why.configured, repeated },
      `the registry has gateway ${id} at site/room/bed ${loc(why.registry)}, this gateway is configured for ${loc(why.configured)}:` +
        ` fix site/room/bed in the gateway config, or move the gateway in the registry (POST /gateways/${id}/move)`,
    );
  }

  // ---- outbox drain -------------------------------------------------------------------------

  private pump(): void {
    if (!this.connected || this.pumping || !this.client) return;
    this.pumping = true;
    void this.pumpLoop().finally(() => {
      this.pumping = false;
    });
  }

  private async pumpLoop(): Promise<void> {
    for (let rounds = 0; rounds < 1_000_000; rounds++) {
      const room = this.o.maxInflight - this.inflight.size;
      const client = this.client;
      const gen = this.gen;
      if (!this.connected || !client || room <= 0) return;
      const recs = await this.o.outbox.peek(this.cursor, room);
      if (gen !== this.gen || !this.connected) return;
      const fresh = recs.filter((r) => !this.inflight.has(r.seq));
      if (!fresh.length) {
        this.checkDrained();
        return;
      }
      for (const rec of fresh) {
        if (rec.payload.length > (this.o.maxPayloadBytes ?? Infinity)) {
          this.cursor = rec.seq + 1;
          this.o.outbox.ack(rec.seq);
          this.stats.droppedTooLarge = (this.stats.droppedTooLarge ?? 0) + 1;
          this.log.error(
            { seq: rec.seq, bytes: rec.payload.length, maxBytes: this.o.maxPayloadBytes },
            'outbox record larger than mqtt.maxEnvelopeBytes: dropped unsent',
          );
          continue;
        }
        this.inflight.add(rec.seq);
        this.cursor = rec.seq + 1;
        if (rec.seq <= this.maxPublished) this.stats.resent++;
        else this.maxPublished = rec.seq;
        this.stats.published++;
        this.stats.lastPublishAt = this.now();
        client.publish(this.o.topics.data, Buffer.from(rec.payload), { qos: 1 }, (err) => this.onPuback(gen, rec.seq, err));
      }
    }
  }

  private onPuback(gen: number, seq: number, err?: Error): void {
    if (err) return; // not delivered: stays in the outbox, resent after reconnect
    this.o.outbox.ack(seq);
    this.stats.acked++;
    this.stats.lastAckAt = this.now();
    if (gen !== this.gen) return;
    this.inflight.delete(seq);
    this.checkDrained();
    if (this.inflight.size < this.o.maxInflight) this.pump();
  }

  private checkDrained(): void {
    if (this.o.outbox.depth().records > 0 || !this.drainWaiters.length) return;
    const ws = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of ws) w();
  }

  private publishStatus(): void {
    const client = this.client;
    if (!this.connected || !client) return;
    let payload: string;
    try {
      payload = JSON.stringify(this.o.status());
    } catch (err) {
      this.log.error({ err }, 'status not serialisable');
      return;
    }
    client.publish(this.o.topics.status, payload, { qos: 1, retain: true }, (err) => {
      if (err) this.log.debug({ err }, 'status publish not acknowledged');
    });
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
