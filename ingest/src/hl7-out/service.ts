/**
 * The outbound HL7 service of a running ingest: one queue (sqlite), one producer ticking every
 * `hl7Out.pollMs`, one sender per endpoint. start() after the database and series are open;
 * close() stops the producer, then the senders (a message in flight stays `sent` and is sent again
 * at the next start). Metrics: orlink_ingest_hl7out_* gauges.
 */
import type { Logger } from 'pino';
import type { IngestConfig } from '../../../schemas/src/ingest-config.js';
import type { Services } from '../services.js';
import { Hl7OutError } from './errors.js';
import { Producer } from './producer.js';
import { OutboundQueue } from './queue.js';
import { readClientTlsFiles } from './mllp-client.js';
import { EndpointSender } from './sender.js';

export class Hl7OutService {
  readonly queue: OutboundQueue;
  readonly producer: Producer;
  readonly senders = new Map<string, EndpointSender>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly cfg: IngestConfig['hl7Out'],
    s: Services,
    private readonly logger: Logger,
    now: () => number = Date.now,
  ) {
    this.queue = new OutboundQueue(s.db, cfg.queueMaxBytes, now);
    this.producer = new Producer({
      endpoints: cfg.endpoints,
      queue: this.queue,
      cases: s.cases,
      registry: s.registry,
      series: s.series,
      settleMs: cfg.settleMs,
      maxWindowsPerTick: 1000,
      maxAlarmsPerTick: 1000,
      logger: logger.child({ component: 'hl7-out-producer' }),
      now,
      onEnqueued: (ep) => this.senders.get(ep)?.poke(),
    });
    for (const ep of cfg.endpoints) {
      if (this.senders.has(ep.name)) throw new Hl7OutError('ING_ERR_HL7OUT_CONFIG', 'fatal', `hl7Out endpoint name ${ep.name} used twice`);
      const clientTls = ep.tls ? readClientTlsFiles(ep.tls, ep.name) : undefined;
      this.senders.set(
        ep.name,
        new EndpointSender({
          name: ep.name,
          ackTimeoutMs: ep.ackTimeoutMs,
          maxAttempts: ep.maxAttempts,
          retryMinMs: ep.retryMinMs,
          retryMaxMs: ep.retryMaxMs,
          idlePollMs: Math.max(50, cfg.pollMs),
          queue: this.queue,
          logger: logger.child({ component: 'hl7-out-sender' }),
          now,
          target: { host: ep.host, port: ep.port, connectTimeoutMs: ep.connectTimeoutMs, ...(clientTls ? { tls: clientTls } : {}) },
        }),
      );
    }
    const m = s.metrics;
    const sum = (k: 'sent' | 'acked' | 'dead' | 'transportFailures') => () => [...this.senders.values()].reduce((a, x) => a + x.stats[k], 0);
    m.gauge('hl7out_queued_bytes', 'Outbound HL7: bytes of messages not yet ACKed', () => this.queue.pendingBytes());
    m.gauge('hl7out_queued_messages', 'Outbound HL7: messages not yet ACKed', () =>
      this.queue.status(cfg.endpoints.map((e) => e.name)).reduce((a, x) => a + x.queued, 0),
    );
    m.gauge('hl7out_dead_letters', 'Outbound HL7: dead-lettered messages', () =>
      this.queue.status(cfg.endpoints.map((e) => e.name)).reduce((a, x) => a + x.dead, 0),
    );
    m.gauge('hl7out_sent_total', 'Outbound HL7: messages written to an endpoint since start (resends included)', sum('sent'));
    m.gauge('hl7out_acked_total', 'Outbound HL7: messages positively ACKed since start', sum('acked'));
    m.gauge('hl7out_dead_lettered_total', 'Outbound HL7: messages dead-lettered since start', sum('dead'));
    m.gauge('hl7out_transport_failures_total', 'Outbound HL7: sends without an ACK (no connection, timeout) since start', sum('transportFailures'));
    m.gauge('hl7out_refused_full_total', 'Outbound HL7: enqueues refused because hl7Out.queueMaxBytes was reached, since start', () => this.queue.refusedFull);
  }

  start(): void {
    if (!this.cfg.endpoints.length) return;
    for (const s of this.senders.values()) s.start();
    const tick = () => {
      if (this.closed) return;
      this.ticking = this.producer
        .tick()
        .catch((err) => {
          this.logger.warn({ err: (err as Error).message }, 'outbound HL7 producer tick failed, next tick retries');
        })
        .finally(() => {
          if (!this.closed) this.timer = setTimeout(tick, this.cfg.pollMs);
        });
    };
    tick();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    await Promise.all([...this.senders.values()].map((s) => s.close()));
  }
}
