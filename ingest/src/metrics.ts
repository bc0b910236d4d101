/**
 * Process metrics in Prometheus text format (no dependency): counters, gauges and one
 * latency histogram. Names follow `orlink_ingest_*`.
 */
const BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const COUNTERS = {
  envelopes_received_total: 'Envelopes (data messages) received from MQTT',
  envelopes_written_total: 'Envelopes whose points were stored and acknowledged',
  envelopes_deduped_total: 'Duplicate envelopes acknowledged without rewriting',
  envelopes_dead_lettered_total: 'Messages moved to the dead-letter store',
  status_messages_total: 'Gateway status messages processed',
  points_written_total: 'Points stored in the series backend',
  points_skipped_total: 'Points dropped by the serializer (no valid field)',
  series_requests_total: 'HTTP write requests to the series backend',
  series_retries_total: 'Retried series write requests (5xx/429/network)',
  series_write_failures_total: 'Batch writes that failed and will be retried as a whole',
  vitals_published_total: 'vitals messages published',
  device_wrong_gateway_total: 'Device batches refused: the device is registered to another gateway',
  device_retired_total: 'Device batches refused: the device is retired',
  envelopes_over_cap_total: 'Envelopes dead-lettered whole: more readings than intake.maxReadingsPerEnvelope',
  series_budget_refused_total: 'Points refused (dead-lettered): they would create a series beyond the gateway\'s hourly budget',
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
  mqtt_retain_denied_total: 'MQTT publishes (or wills) refused: retained outside the gateway\'s own status topic',
  mqtt_status_too_large_total: 'Gateway status documents refused: larger than broker.limits.maxStatusBytes (not stored)',
  mqtt_rate_limited_total: 'Gateway publishes held back by the per-gateway message/byte rate',
  mqtt_inflight_exceeded_total: 'MQTT connections closed: more publishes awaiting PUBACK than broker.limits.maxInflight',
  mqtt_sessions_limited_total: 'Gateway (record-system) sessions closed because the same account opened more than broker.limits.maxSessions (broker.record.maxSessions)',
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
} as const;

export type CounterName = keyof typeof COUNTERS;

export class Metrics {
  private readonly counters = new Map<CounterName, number>();
  private readonly gauges = new Map<string, { help: string; read: () => number }>();
  private readonly hist = { buckets: new Array<number>(BUCKETS_S.length).fill(0), sum: 0, count: 0 };

  inc(name: CounterName, by = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
  }

  get(name: CounterName): number {
    return this.counters.get(name) ?? 0;
  }

  gauge(name: string, help: string, read: () => number): void {
    this.gauges.set(name, { help, read });
  }

  /** series write latency (one whole batch write, retries included) */
  observeWriteLatency(ms: number): void {
    const s = ms / 1000;
    this.hist.sum += s;
    this.hist.count++;
    for (let i = 0; i < BUCKETS_S.length; i++) if (s <= BUCKETS_S[i]) this.hist.buckets[i]++;
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, help] of Object.entries(COUNTERS) as [CounterName, string][]) {
      lines.push(`# HELP orlink_ingest_${name} ${help}`, `# TYPE orlink_ingest_${name} counter`, `orlink_ingest_${name} ${this.get(name)}`);
    }
    for (const [name, g] of this.gauges) {
      let v = NaN;
      try { v = g.read(); } catch { /* reported as NaN */ }
      lines.push(`# HELP orlink_ingest_${name} ${g.help}`, `# TYPE orlink_ingest_${name} gauge`, `orlink_ingest_${name} ${v}`);
    }
    const h = 'orlink_ingest_series_write_seconds';
    lines.push(`# HELP ${h} Latency of one batch write to the series backend`, `# TYPE ${h} histogram`);
    BUCKETS_S.forEach((b, i) => lines.push(`${h}_bucket{le="${b}"} ${this.hist.buckets[i]}`));
    lines.push(`${h}_bucket{le="+Inf"} ${this.hist.count}`, `${h}_sum ${this.hist.sum}`, `${h}_count ${this.hist.count}`);
    return lines.join('\n') + '\n';
  }
}
