/**
 * Process metrics on a prom-client Registry, exposed in the Prometheus text format by `GET /metrics`.
 * Names follow `orlink_ingest_*` (fleet series: `orlink_gateway_*`, `orlink_device_*`, see monitoring/).
 *
 * - counters (COUNTERS, `inc`/`get`): prom-client Counters; `get` reads a local copy, synchronously.
 * - `gauge(name, help, read)`: a Gauge whose value is read at scrape time. A name ending in `_total` is a running
 *   count, not a level, and is exposed as a Counter instead (see `count`).
 * - `count(name, help, read)`: a Counter whose value is read at scrape time (a count kept elsewhere, e.g. the broker).
 * - `labelled(...)`: a labelled Gauge or Counter whose series are recomputed at every scrape.
 * - one Histogram: the latency of a batch write to the series backend.
 * - process metrics (`collectDefaultMetrics`, prefix `orlink_ingest_`: CPU, memory, handles, event-loop lag, GC),
 *   registered once per process and appended to every instance's exposition.
 * A read that throws is exposed as NaN (gauges) or leaves the series out (counters, labelled series); a scrape never fails.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
export const PREFIX = 'orlink_ingest_';

export const COUNTERS = {
  envelopes_received_total: 'Envelopes (data messages) received from MQTT',
  envelopes_written_total: 'Envelopes whose points were stored and acknowledged',
  envelopes_deduped_total: 'Duplicate envelopes acknowledged without rewriting',
  envelopes_dead_lettered_total: 'Messages moved to the dead-letter store',
  status_messages_total: 'Gateway status messages processed',
  status_invalid_total: 'Gateway status documents refused (not stored): not JSON, or not matching schemas/src/gateway-status.ts',
  points_written_total: 'Points stored in the series backend',
  points_skipped_total: 'Points dropped by the serializer (no valid field)',
  series_requests_total: 'HTTP write requests to the series backend',
  series_retries_total: 'Retried series write requests (5xx/429/network)',
  series_write_failures_total: 'Batch writes that failed and will be retried as a whole',
  vitals_published_total: 'vitals messages published',
  device_wrong_gateway_total: 'Device batches refused: the device is registered to another gateway',
  device_retired_total: 'Device batches refused: the device is retired',
  envelopes_over_cap_total: 'Envelopes dead-lettered whole: more readings than intake.maxReadingsPerEnvelope',
  series_budget_refused_total: "Points refused (dead-lettered): they would create a series beyond the gateway's hourly budget",
  readings_time_quarantined_total: 'Readings outside the device time window, stored apart in <kind>_quarantine',
  readings_unverified_total: 'Readings whose stored slot could not be looked up, stored apart in <kind>_quarantine',
  readings_duplicate_total: 'Readings already stored with the same content (another envelope), not rewritten',
  readings_conflicting_total: 'Readings already stored with another content: the stored one kept, this one in <kind>_conflict or dead-lettered',
  content_lookups_total: 'Series backend queries made by the content-identity check (bed loads and lookups of older times)',
  content_lookup_failures_total: 'Content-identity queries that failed and will be retried (nothing acked meanwhile)',
  rest_auth_failures_total: 'REST requests refused with 401: no, unknown, expired or revoked API token',
  rest_forbidden_total: 'REST requests refused with 403: role or site of the token not allowed',
  rest_rate_limited_total: 'REST requests refused with 429 (per-token limit or failed authentications per address)',
  rest_bad_request_total: 'REST requests answered 400/414/415: bad JSON, schema violations, malformed URLs, over-long path parameters',
  rest_not_found_total: 'REST requests answered 404: unknown route or unknown id',
  rest_payload_too_large_total: 'REST requests answered 413: body over the limit (1 MiB)',
  mqtt_packet_too_large_total: 'MQTT connections closed: a packet larger than broker.limits.maxPacketBytes (or a malformed length)',
  mqtt_retain_denied_total: "MQTT publishes (or wills) refused: retained outside the gateway's own status topic",
  mqtt_status_too_large_total: 'Gateway status documents refused: larger than broker.limits.maxStatusBytes (not stored)',
  mqtt_rate_limited_total: 'Gateway publishes held back by the per-gateway message/byte rate',
  mqtt_inflight_exceeded_total: 'MQTT connections closed: more publishes awaiting PUBACK than broker.limits.maxInflight',
  mqtt_sessions_limited_total:
    'Gateway (record-system) sessions closed because the same account opened more than broker.limits.maxSessions (broker.record.maxSessions)',
  mqtt_record_publish_denied_total: 'Publishes (or wills) of the read-only record-system account refused (connection closed; a will: login refused)',
  mqtt_record_subscribe_denied_total: 'Subscriptions of the record-system account outside vitals/case refused (SUBACK 0x80)',
  mqtt_client_id_refused_total: 'MQTT logins refused: the client id belongs to another account',
  mqtt_auth_failures_total: 'MQTT logins refused: wrong or unknown user name or password',
  mqtt_protocol_errors_total: 'MQTT connections closed for a protocol error: wildcard or empty publish topic, too many topic levels, malformed packet',
  mqtt_auth_locked_total: 'MQTT logins refused unchecked during a lockout after repeated failures',
  his_messages_applied_total: 'HIS (MLLP) messages applied and answered AA',
  his_messages_error_total: 'HIS messages understood but not applied, answered AE and kept for review',
  his_messages_rejected_total: 'HIS messages unreadable or unsupported, answered AR and kept for review',
  mqtt_cert_refused_total: 'MQTT client-certificate logins refused: not verified, or the CN is no active gateway (docs/tls.md)',
  mqtt_tls_handshake_failures_total: 'mqtts connections whose TLS handshake failed (untrusted, revoked or missing client certificate, not TLS)',
  his_tls_handshake_failures_total:
    'HIS MLLP connections refused at TLS (his.tls): handshake failed (untrusted, revoked or missing client certificate, not TLS) or certificate CN not in his.allowCn',
} as const;

export type CounterName = keyof typeof COUNTERS;

/** One series of a labelled metric: its label values and its value. */
export interface LabelledSample<L extends string> {
  labels: Record<L, string>;
  value: number;
}

let processRegistry: Registry | undefined;
/** The process metrics (CPU, memory, handles, event-loop lag, GC): one collector per process, however many Metrics exist. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: PREFIX });
  }
  return processRegistry;
}

function readOr(read: () => number, fallback: number): number {
  try {
    const v = read();
    return typeof v === 'number' ? v : fallback;
  } catch {
    return fallback;
  }
}

export class Metrics {
  /** this instance's metrics (the process metrics are kept apart, see `render`) */
  readonly registry = new Registry();
  private readonly counters = new Map<CounterName, { counter: Counter; value: number }>();
  private readonly readers = new Map<string, () => number>();
  private readonly hist: Histogram;
  private readonly withProcess: boolean;
  private readonly scrapeHooks: (() => void)[] = [];

  constructor(opts: { processMetrics?: boolean } = {}) {
    for (const [name, help] of Object.entries(COUNTERS) as [CounterName, string][]) {
      this.counters.set(name, { counter: new Counter({ name: PREFIX + name, help, registers: [this.registry] }), value: 0 });
    }
    this.hist = new Histogram({
      name: `${PREFIX}series_write_seconds`,
      help: 'Latency of one batch write to the series backend',
      buckets: BUCKETS_S,
      registers: [this.registry],
    });
    if (opts.processMetrics !== false) processMetrics();
    this.withProcess = opts.processMetrics !== false;
  }

  inc(name: CounterName, by = 1): void {
    const c = this.counters.get(name);
    if (!c || !Number.isFinite(by) || by < 0) return; // a counter never goes down
    c.value += by;
    c.counter.inc(by);
  }

  get(name: CounterName): number {
    return this.counters.get(name)?.value ?? 0;
  }

  /** a level read at scrape time (NaN when `read` throws); a name ending in `_total` is registered by `count` */
  gauge(name: string, help: string, read: () => number): void {
    if (name.endsWith('_total')) {
      this.count(name, help, read);
      return;
    }
    if (this.replaceReader(name, read)) return;
    const readers = this.readers;
    new Gauge({
      name: PREFIX + name,
      help,
      registers: [this.registry],
      collect() {
        this.set(readOr(readers.get(name)!, NaN));
      },
    });
  }

  /** a running count kept elsewhere (never decreasing except when its owner restarts), read at scrape time */
  count(name: string, help: string, read: () => number): void {
    if (this.replaceReader(name, read)) return;
    const readers = this.readers;
    new Counter({
      name: PREFIX + name,
      help,
      registers: [this.registry],
      collect() {
        const v = readOr(readers.get(name)!, NaN);
        this.reset();
        if (Number.isFinite(v) && v > 0) this.inc(v);
      },
    });
  }

  /**
   * A labelled metric whose series are all recomputed at scrape time by `rows` (full name: no prefix added).
   * The label values must come from a bounded set (registered entities), never from free input.
   */
  labelled<L extends string>(type: 'gauge' | 'counter', name: string, help: string, labelNames: readonly L[], rows: () => LabelledSample<L>[]): void {
    const collect = (set: (labels: Record<L, string>, v: number) => void, reset: () => void) => {
      reset();
      let samples: LabelledSample<L>[] = [];
      try {
        samples = rows();
      } catch {
        /* left out */
      }
      for (const s of samples) if (Number.isFinite(s.value) && (type === 'gauge' || s.value >= 0)) set(s.labels, s.value);
    };
    if (type === 'gauge') {
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          collect(
            (l, v) => this.set(l, v),
            () => this.reset(),
          );
        },
      });
    } else {
      new Counter<L>({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          collect(
            (l, v) => this.inc(l, v),
            () => this.reset(),
          );
        },
      });
    }
  }

  /** series write latency (one whole batch write, retries included) */
  observeWriteLatency(ms: number): void {
    if (Number.isFinite(ms) && ms >= 0) this.hist.observe(ms / 1000);
  }

  /** `f` runs at the start of every `render()`, before any value is read (e.g. to drop a per-scrape cache) */
  beforeScrape(f: () => void): void {
    this.scrapeHooks.push(f);
  }

  /** `Content-Type` of `render()` */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** the Prometheus text exposition: this instance's metrics, then the process metrics */
  async render(): Promise<string> {
    for (const f of this.scrapeHooks) {
      try {
        f();
      } catch {
        /* a hook never fails a scrape */
      }
    }
    const own = await this.registry.metrics();
    return this.withProcess ? own + '\n' + (await processMetrics().metrics()) : own;
  }

  private replaceReader(name: string, read: () => number): boolean {
    const known = this.readers.has(name);
    this.readers.set(name, read);
    return known;
  }
}
