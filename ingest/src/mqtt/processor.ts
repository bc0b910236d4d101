/**
 * One batch of MQTT messages → validated, deduped, written, acknowledged. No MQTT here: the
 * subscriber hands messages in and acks those this returns as `ack`. A message is acked only
 * after its points were stored (or it was a duplicate, or a poison message moved to the dead-letter
 * store). Series failures are retried with backoff, as long as it takes, until the signal aborts:
 * then nothing more is acked and the broker redelivers later (writes are idempotent).
 *
 * Registry bindings decide where readings go (device-routing.ts): per device, its registered bed or
 * the gateway's; a device of another gateway, or retired, is refused while the envelope's other
 * devices are stored. Such a partly accepted envelope is acked once the accepted points are stored;
 * its refused device batches are dead-lettered in the same sqlite transaction that marks the
 * envelope's dedupe key, so a redelivery neither rewrites nor dead-letters twice. Bindings come from
 * an in-memory cache refreshed once per batch (registry/binding-cache.ts).
 */
import type { Logger } from 'pino';
import { decodeEnvelope, encodeEnvelope, EnvelopeError, type Envelope } from '../../../schemas/src/envelope.js';
import type { CaseStore } from '../cases/case-store.js';
import { IngestError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { BindingCache } from '../registry/binding-cache.js';
import type { BedLocation, RegistryStore } from '../registry/registry-store.js';
import { abortableDelay, backoffMs } from '../series/http-sender.js';
import { envelopeToPoints, gatewayHealthPoint } from '../series/layout.js';
import type { SeriesPoint, SeriesWriter } from '../series/types.js';
import type { DeadLetterStore } from './dead-letter.js';
import type { DedupeKey, DedupeStore } from './dedupe.js';
import { routeDevices, type RefusedPart, type RoutedPart } from './device-routing.js';
import { IdentityCheck } from './identity-check.js';
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

interface Item {
  index: number;
  env?: Envelope;
  key?: DedupeKey;
  points: SeriesPoint[];
  /** data: the accepted devices by bed (vitals); status: none */
  parts: RoutedPart[];
  /** data: the refused devices, dead-lettered when the envelope is settled */
  refused: RefusedPart[];
  gatewayId: string;
}

/** at most one warning per device and refusal kind per minute (counters carry the rate) */
const REFUSAL_LOG_EVERY_MS = 60_000;

export class BatchProcessor {
  /** last series write error (for /health), null after a success */
  lastWriteError: string | null = null;
  /** registry bindings for the hot path (tests read its `lookups`) */
  readonly bindings: BindingCache;
  private readonly identity: IdentityCheck;
  private readonly refusalLogged = new Map<string, number>();

  constructor(private readonly d: ProcessorDeps) {
    this.bindings = new BindingCache(d.registry);
    this.identity = new IdentityCheck(d.registry, this.bindings, d.logger);
    d.metrics.gauge('device_identity_mismatch', 'Registered devices whose reported serial/model/firmware differs from the registry',
      () => d.registry.countIdentityMismatches());
  }

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
    this.bindings.refresh();
    msgs.forEach((m, index) => {
      const tp = parseTopic(this.d.prefix, m.topic);
      if (!tp) return this.dead(index, ack, m, 'ING_ERR_TOPIC', 'topic does not match {prefix}/{site}/{room}/{bed}/{gatewayId}/{data|status}');
      if (tp.kind === 'data') this.d.metrics.inc('envelopes_received_total');
      // a retained status being cleared (also under the old location of a moved gateway): nothing to check or store
      if (tp.kind === 'status' && m.payload.length === 0) { this.d.metrics.inc('status_messages_total'); ack[index] = true; return; }
      const gw = this.bindings.gateway(tp.gatewayId);
      if (!gw) return this.dead(index, ack, m, 'ING_ERR_UNKNOWN_GATEWAY', `gateway ${tp.gatewayId} is not registered`, tp.gatewayId);
      if (gw.retiredAt !== null) {
        return this.dead(index, ack, m, 'ING_ERR_GATEWAY_RETIRED', `gateway ${tp.gatewayId} was retired at ${new Date(gw.retiredAt).toISOString()}`, tp.gatewayId);
      }
      const loc: BedLocation = { site: gw.location.site, room: gw.location.room, bed: gw.location.bed };
      if (loc.site !== tp.site || loc.room !== tp.room || loc.bed !== tp.bed) {
        return this.dead(index, ack, m, 'ING_ERR_TOPIC', `gateway ${tp.gatewayId} is registered at ${loc.site}/${loc.room}/${loc.bed}`, tp.gatewayId);
      }
      if (tp.kind === 'status') {
        this.d.metrics.inc('status_messages_total');
        let status: unknown;
        try { status = JSON.parse(Buffer.from(m.payload).toString('utf8')); } catch { status = null; }
        if (!status || typeof status !== 'object' || Array.isArray(status)) {
          return this.dead(index, ack, m, 'ING_ERR_ENVELOPE', 'status payload is not a JSON object', tp.gatewayId);
        }
        const s = status as Record<string, unknown>;
        const online = s.online === true || s.state === 'online' || s.status === 'online' ? true
          : s.online === false || s.state === 'offline' || s.status === 'offline' ? false : null;
        this.d.registry.updateGatewayStatus(tp.gatewayId, now, online, s);
        try {
          this.identity.observe(tp.gatewayId, s, now);
        } catch (err) {
          this.d.logger.warn({ err: (err as Error).message, gatewayId: tp.gatewayId }, 'identity check failed');
        }
        items.push({ index, points: [gatewayHealthPoint(loc, tp.gatewayId, s, now)], parts: [], refused: [], gatewayId: tp.gatewayId });
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
      const { parts, refused } = routeDevices(env, loc, (id) => this.bindings.device(id));
      const points = parts.flatMap((p) => envelopeToPoints({ ...env, devices: p.devices }, p.where));
      items.push({ index, env, key, points, parts, refused, gatewayId: tp.gatewayId });
    });
    if (!items.length) return { ack, vitals: [] };

    const stored = await this.writeItems(items, msgs, ack, signal);
    if (!stored.length) return { ack, vitals: [] };
    const keys = stored.filter((i) => i.key).map((i) => i.key as DedupeKey);
    this.d.dedupe.atomically(() => {
      for (const i of stored) this.recordRefused(i, msgs[i.index].topic);
      this.d.dedupe.markAll(keys, now);
    });
    const seen = new Set<string>();
    for (const i of stored) {
      ack[i.index] = true;
      if (i.env && !i.parts.length && i.refused.length) this.d.metrics.inc('envelopes_dead_lettered_total'); // every device refused
      else if (i.env) {
        this.d.metrics.inc('envelopes_written_total');
        if (!seen.has(i.gatewayId)) { seen.add(i.gatewayId); this.d.registry.updateGatewayStatus(i.gatewayId, now, null, null); }
      }
    }
    return { ack, vitals: this.vitals(stored, now) };
  }

  /** The refused device batches of a settled envelope → dead letters (payload: those batches only), counters, a rate-limited warning. */
  private recordRefused(item: Item, topic: string): void {
    const env = item.env;
    if (!env) return;
    for (const r of item.refused) {
      this.d.deadLetters.add({
        topic, code: r.code, gatewayId: item.gatewayId, payload: encodeEnvelope({ ...env, devices: r.devices }),
        reason: `${r.reasons.join('; ')}; the payload holds only the refused device batches of envelope ${env.bootId}#${env.seq}`
          + (item.parts.length ? ' (its other devices were stored)' : ''),
      });
      this.d.metrics.inc(r.code === 'ING_ERR_DEVICE_RETIRED' ? 'device_retired_total' : 'device_wrong_gateway_total', r.devices.length);
      const t = Date.now();
      for (const d of r.devices) {
        const k = `${r.code}\u0000${d.deviceId}`;
        if (t - (this.refusalLogged.get(k) ?? -Infinity) < REFUSAL_LOG_EVERY_MS) continue;
        if (this.refusalLogged.size >= 10_000) this.refusalLogged.clear();
        this.refusalLogged.set(k, t);
        this.d.logger.warn({ code: r.code, deviceId: d.deviceId, gatewayId: item.gatewayId }, 'device readings refused by the registry binding');
      }
    }
  }

  /** Returns the items whose points are stored; poison items are dead-lettered (acked); [] when aborted. */
  private async writeItems(items: Item[], msgs: readonly InMessage[], ack: boolean[], signal: AbortSignal): Promise<Item[]> {
    const empty = items.filter((i) => !i.points.length); // nothing to write (e.g. every device refused)
    const full = items.filter((i) => i.points.length);
    if (!full.length) return empty;
    const r = await this.writeWithRetry(full.flatMap((i) => i.points), signal);
    if (r === 'ok') return [...empty, ...full];
    if (r === 'aborted') return [];
    // data error: isolate the offending message(s); valid lines of a partial write are stored anyway
    const ok: Item[] = [...empty];
    for (const item of full) {
      const one = full.length === 1 ? r : await this.writeWithRetry(item.points, signal);
      if (one === 'aborted') return ok;
      if (one === 'ok') ok.push(item);
      else {
        this.dead(item.index, ack, msgs[item.index], 'ING_ERR_SERIES_PARTIAL', one.message, item.gatewayId);
        this.recordRefused(item, msgs[item.index].topic); // the refusal reasons stay visible
      }
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
    const byBed = new Map<string, { loc: BedLocation; numerics: Record<string, { t: number; value: number | null; unit: string; device: string }> }>();
    for (const i of stored) {
      for (const p of i.parts) {
        for (const d of p.devices) {
          for (const n of d.numerics) {
            if (!n.mdc) continue;
            let v = byBed.get(p.where.bed);
            if (!v) byBed.set(p.where.bed, (v = { loc: p.where, numerics: {} }));
            const prev = v.numerics[n.mdc];
            if (!prev || prev.t <= n.t) v.numerics[n.mdc] = { t: n.t, value: n.value, unit: n.unit, device: d.deviceId };
          }
        }
      }
    }
    return [...byBed.values()].map(({ loc, numerics }) => ({
      topic: vitalsTopic(this.d.prefix, loc.site, loc.room, loc.bed),
      payload: JSON.stringify({ bed: loc.bed, room: loc.room, site: loc.site, ...this.d.cases.vitalsCase(loc.bed, now, numerics), t: now }),
    }));
  }
}
