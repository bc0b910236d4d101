/**
 * One batch of MQTT messages → validated, deduped, written, acknowledged. No MQTT here: the
 * subscriber hands messages in and acks those this returns as `ack`. A message is acked only
 * after its points were stored (or it was a duplicate, or a poison message moved to the dead-letter
 * store). Series failures are retried with backoff, as long as it takes, until the signal aborts:
 * then nothing more is acked and the broker redelivers later (writes are idempotent).
 */
import type { Logger } from 'pino';
import { decodeEnvelope, EnvelopeError, type Envelope } from '../../../schemas/src/envelope.js';
import type { CaseStore } from '../cases/case-store.js';
import { IngestError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { RegistryStore } from '../registry/registry-store.js';
import { abortableDelay, backoffMs } from '../series/http-sender.js';
import { envelopeToPoints, gatewayHealthPoint } from '../series/layout.js';
import type { SeriesPoint, SeriesWriter } from '../series/types.js';
import type { DeadLetterStore } from './dead-letter.js';
import type { DedupeKey, DedupeStore } from './dedupe.js';
import { parseTopic, vitalsTopic } from './topics.js';

export interface InMessage { topic: string; payload: Uint8Array }
export interface VitalsMessage { topic: string; payload: string }
export interface BatchOutcome { ack: boolean[]; vitals: VitalsMessage[] }

export interface ProcessorDeps {
  prefix: string;
  registry: RegistryStore;
  cases: CaseStore;
  series: SeriesWriter;
  dedupe: DedupeStore;
  deadLetters: DeadLetterStore;
  metrics: Metrics;
  logger: Logger;
  retryMinMs?: number;
  retryMaxMs?: number;
  now?: () => number;
}

interface Item { index: number; env?: Envelope; key?: DedupeKey; points: SeriesPoint[]; loc: { site: string; room: string; bed: string }; gatewayId: string }

export class BatchProcessor {
  /** last series write error (for /health), null after a success */
  lastWriteError: string | null = null;
  constructor(private readonly d: ProcessorDeps) {}

  countVitals(n: number): void {
    this.d.metrics.inc('vitals_published_total', n);
  }

  private dead(index: number, ack: boolean[], m: InMessage, code: string, reason: string, gatewayId?: string): void {
    this.d.deadLetters.add({ topic: m.topic, code, reason, gatewayId, payload: m.payload });
    this.d.metrics.inc('envelopes_dead_lettered_total');
    ack[index] = true;
  }

  async process(msgs: readonly InMessage[], signal: AbortSignal): Promise<BatchOutcome> {
    const ack = msgs.map(() => false);
    const items: Item[] = [];
    const inBatch = new Set<string>();
    const now = this.d.now?.() ?? Date.now();
    msgs.forEach((m, index) => {
      const tp = parseTopic(this.d.prefix, m.topic);
      if (!tp) return this.dead(index, ack, m, 'ING_ERR_TOPIC', 'topic does not match {prefix}/{site}/{room}/{bed}/{gatewayId}/{data|status}');
      if (tp.kind === 'data') this.d.metrics.inc('envelopes_received_total');
      const loc = this.d.registry.locateGateway(tp.gatewayId);
      if (!loc) return this.dead(index, ack, m, 'ING_ERR_UNKNOWN_GATEWAY', `gateway ${tp.gatewayId} is not registered`, tp.gatewayId);
      if (loc.site !== tp.site || loc.room !== tp.room || loc.bed !== tp.bed) {
        return this.dead(index, ack, m, 'ING_ERR_TOPIC', `gateway ${tp.gatewayId} is registered at ${loc.site}/${loc.room}/${loc.bed}`, tp.gatewayId);
      }
      if (tp.kind === 'status') {
        this.d.metrics.inc('status_messages_total');
        if (m.payload.length === 0) { ack[index] = true; return; } // retained message cleared
        let status: unknown;
        try { status = JSON.parse(Buffer.from(m.payload).toString('utf8')); } catch { status = null; }
        if (!status || typeof status !== 'object' || Array.isArray(status)) {
          return this.dead(index, ack, m, 'ING_ERR_ENVELOPE', 'status payload is not a JSON object', tp.gatewayId);
        }
        const s = status as Record<string, unknown>;
        const online = s.online === true || s.state === 'online' || s.status === 'online' ? true
          : s.online === false || s.state === 'offline' || s.status === 'offline' ? false : null;
        this.d.registry.updateGatewayStatus(tp.gatewayId, now, online, s);
        items.push({ index, points: [gatewayHealthPoint(loc, tp.gatewayId, s, now)], loc, gatewayId: tp.gatewayId });
        return;
      }
      let env: Envelope;
      try {
        env = decodeEnvelope(m.payload);
      } catch (err) {
        const reason = err instanceof EnvelopeError ? err.message : `decode failed: ${(err as Error).message}`;
        return this.dead(index, ack, m, 'ING_ERR_ENVELOPE', reason, tp.gatewayId);
      }
      if (env.gatewayId !== tp.gatewayId) {
        return this.dead(index, ack, m, 'ING_ERR_TOPIC', `envelope gateway ${env.gatewayId} differs from topic gateway`, tp.gatewayId);
      }
      const key: DedupeKey = { gatewayId: env.gatewayId, bootId: env.bootId, seq: env.seq };
      const k = `${key.gatewayId}\u0000${key.bootId}\u0000${key.seq}`;
      if (inBatch.has(k) || this.d.dedupe.seen(key)) {
        this.d.metrics.inc('envelopes_deduped_total');
        ack[index] = true;
        return;
      }
      inBatch.add(k);
      items.push({ index, env, key, points: envelopeToPoints(env, loc), loc, gatewayId: tp.gatewayId });
    });
    if (!items.length) return { ack, vitals: [] };

    const stored = await this.writeItems(items, msgs, ack, signal);
    if (!stored.length) return { ack, vitals: [] };
    const keys = stored.filter((i) => i.key).map((i) => i.key as DedupeKey);
    this.d.dedupe.markAll(keys, now);
    const seen = new Set<string>();
    for (const i of stored) {
      ack[i.index] = true;
      if (i.env) {
        this.d.metrics.inc('envelopes_written_total');
        if (!seen.has(i.gatewayId)) { seen.add(i.gatewayId); this.d.registry.updateGatewayStatus(i.gatewayId, now, null, null); }
      }
    }
    return { ack, vitals: this.vitals(stored, now) };
  }

  /** Returns the items whose points are stored; poison items are dead-lettered (acked); [] when aborted. */
  private async writeItems(items: Item[], msgs: readonly InMessage[], ack: boolean[], signal: AbortSignal): Promise<Item[]> {
    const r = await this.writeWithRetry(items.flatMap((i) => i.points), signal);
    if (r === 'ok') return items;
    if (r === 'aborted') return [];
    // data error: isolate the offending message(s); valid lines of a partial write are stored anyway
    const ok: Item[] = [];
    for (const item of items) {
      const one = items.length === 1 ? r : await this.writeWithRetry(item.points, signal);
      if (one === 'aborted') return ok;
      if (one === 'ok') ok.push(item);
      else this.dead(item.index, ack, msgs[item.index], 'ING_ERR_SERIES_PARTIAL', one.message, item.gatewayId);
    }
    return ok;
  }

  private async writeWithRetry(points: SeriesPoint[], signal: AbortSignal): Promise<'ok' | 'aborted' | IngestError> {
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) return 'aborted';
      const t0 = performance.now();
      try {
        const res = await this.d.series.write(points, signal);
        this.d.metrics.observeWriteLatency(performance.now() - t0);
        this.d.metrics.inc('points_written_total', res.points);
        this.d.metrics.inc('points_skipped_total', res.skipped);
        this.lastWriteError = null;
        return 'ok';
      } catch (err) {
        if (signal.aborted) return 'aborted';
        if (err instanceof IngestError && err.kind === 'data') return err;
        this.d.metrics.inc('series_write_failures_total');
        this.lastWriteError = (err as Error).message;
        if (attempt === 0 || attempt % 20 === 0) this.d.logger.warn({ err: (err as Error).message, attempt }, 'series write failed, retrying');
        try {
          await abortableDelay(backoffMs(Math.min(attempt, 10), this.d.retryMinMs ?? 100, this.d.retryMaxMs ?? 5000), signal);
        } catch {
          return 'aborted';
        }
      }
    }
  }

  private vitals(stored: Item[], now: number): VitalsMessage[] {
    const byBed = new Map<string, { loc: Item['loc']; numerics: Record<string, { t: number; value: number | null; unit: string; device: string }> }>();
    for (const i of stored) {
      if (!i.env) continue;
      for (const d of i.env.devices) {
        for (const n of d.numerics) {
          if (!n.mdc) continue;
          let v = byBed.get(i.loc.bed);
          if (!v) byBed.set(i.loc.bed, (v = { loc: i.loc, numerics: {} }));
          const prev = v.numerics[n.mdc];
          if (!prev || prev.t <= n.t) v.numerics[n.mdc] = { t: n.t, value: n.value, unit: n.unit, device: d.deviceId };
        }
      }
    }
    return [...byBed.values()].map(({ loc, numerics }) => ({
      topic: vitalsTopic(this.d.prefix, loc.site, loc.room, loc.bed),
      payload: JSON.stringify({ bed: loc.bed, room: loc.room, site: loc.site, caseId: this.d.cases.coveringCase(loc.bed, now)?.id ?? null, t: now, numerics }),
    }));
  }
}
