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
 *
 * Intake integrity (intake-integrity.ts, docs/security.md): an envelope with more readings than
 * `intake.maxReadingsPerEnvelope` is dead-lettered whole; then per point: readings outside the device
 * time window go to `<kind>_quarantine`, a reading already stored with the same content is a duplicate
 * (not rewritten), with another content it goes to `<kind>_conflict` (the stored value stays), and a
 * point that would create a series beyond the gateway's hourly budget is refused (dead letter) while
 * the rest is stored. Per-point refusals are dead-lettered with the dedupe key, like refused devices.
 */
import type { Logger } from 'pino';
import { decodeEnvelope, encodeEnvelope, EnvelopeError, type Envelope } from '../../../schemas/src/envelope.js';
import { checkGatewayStatus, type StatusProblem } from '../../../schemas/src/gateway-status.js';
import { intakeDefaults, type IntakeLimits } from '../../../schemas/src/ingest-config.js';
import type { CaseStore } from '../cases/case-store.js';
import { IngestError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { BindingCache } from '../registry/binding-cache.js';
import type { BedLocation, RegistryStore } from '../registry/registry-store.js';
import { abortableDelay, backoffMs } from '../series/http-sender.js';
import { envelopeToSourcedPoints, gatewayHealthPoint, type SourcedPoint } from '../series/layout.js';
import type { SeriesPoint, SeriesReader, SeriesWriter } from '../series/types.js';
import type { DeadLetterStore } from './dead-letter.js';
import type { DedupeKey, DedupeStore } from './dedupe.js';
import { routeDevices, type RefusedPart, type RoutedPart } from './device-routing.js';
import { IdentityCheck } from './identity-check.js';
import { IntakeIntegrity, type Assessed, type IntegrityBatch } from './intake-integrity.js';
import { countReadings, recordIntegrity } from './integrity-outcome.js';
import { parseTopic, vitalsTopic } from './topics.js';

export interface InMessage {
  topic: string;
  payload: Uint8Array;
}
export interface VitalsMessage {
  topic: string;
  payload: string;
}
export interface BatchOutcome {
  ack: boolean[];
  vitals: VitalsMessage[];
}

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
  /** config `intake` (schema defaults when absent) */
  intake?: Partial<IntakeLimits>;
  /** where the content-identity check reads stored points; default: `series` when it can query, else none */
  reader?: SeriesReader | null;
}

interface Item {
  index: number;
  env?: Envelope;
  key?: DedupeKey;
  points: SeriesPoint[];
  /** data: the points of the accepted devices with their readings, before the integrity check */
  sourced?: SourcedPoint[];
  /** data: where each point goes (set by the integrity check) */
  assessed?: Assessed;
  /** its integrity reservations were committed or rolled back */
  settled?: boolean;
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
  readonly integrity: IntakeIntegrity;
  private readonly maxReadings: number;

  constructor(private readonly d: ProcessorDeps) {
    const lim: IntakeLimits = { ...intakeDefaults(), ...d.intake };
    const reader =
      d.reader !== undefined ? d.reader : typeof (d.series as Partial<SeriesReader>).query === 'function' ? (d.series as unknown as SeriesReader) : null;
    this.maxReadings = lim.maxReadingsPerEnvelope;
    this.integrity = new IntakeIntegrity({
      window: lim,
      maxNewSeriesPerGatewayHour: lim.maxNewSeriesPerGatewayHour,
      maxKnownSeries: lim.maxKnownSeries,
      contentWindowMs: lim.contentWindowMs,
      contentMaxEntriesPerBed: lim.contentMaxEntriesPerBed,
      lookupSpanMs: lim.lookupSpanMs,
      maxLookupsPerBatch: lim.maxLookupsPerBatch,
      reader,
    });
    d.metrics.gauge('content_index_entries', 'Entries of the content-identity index (all beds)', () => this.integrity.index.entries);
    d.metrics.gauge('known_series', 'Series known to the series budget (all gateways)', () => this.integrity.budget.knownCount);
    this.bindings = new BindingCache(d.registry);
    this.identity = new IdentityCheck(d.registry, this.bindings, d.logger);
    d.metrics.gauge('device_identity_mismatch', 'Registered devices whose reported serial/model/firmware differs from the registry', () =>
      d.registry.countIdentityMismatches(),
    );
  }

  countVitals(n: number): void {
    this.d.metrics.inc('vitals_published_total', n);
  }

  /** an invalid status document: counted, warned at most once a minute per gateway and problem path */
  private refuseStatus(gatewayId: string, first: StatusProblem, problems: number): void {
    this.d.metrics.inc('status_invalid_total');
    const k = `status\u0000${gatewayId}\u0000${first.path}`;
    const t = Date.now();
    if (t - (this.refusalLogged.get(k) ?? -Infinity) < REFUSAL_LOG_EVERY_MS) return;
    if (this.refusalLogged.size >= 10_000) this.refusalLogged.clear();
    this.refusalLogged.set(k, t);
    this.d.logger.warn({ gatewayId, path: first.path, problem: first.message, problems }, 'gateway status refused: does not match the status schema');
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
      if (tp.kind === 'status' && m.payload.length === 0) {
        this.d.metrics.inc('status_messages_total');
        ack[index] = true;
        return;
      }
      const gw = this.bindings.gateway(tp.gatewayId);
      if (!gw) return this.dead(index, ack, m, 'ING_ERR_UNKNOWN_GATEWAY', `gateway ${tp.gatewayId} is not registered`, tp.gatewayId);
      if (gw.retiredAt !== null) {
        return this.dead(
          index,
          ack,
          m,
          'ING_ERR_GATEWAY_RETIRED',
          `gateway ${tp.gatewayId} was retired at ${new Date(gw.retiredAt).toISOString()}`,
          tp.gatewayId,
        );
      }
      const loc: BedLocation = { site: gw.location.site, room: gw.location.room, bed: gw.location.bed };
      if (loc.site !== tp.site || loc.room !== tp.room || loc.bed !== tp.bed) {
        return this.dead(index, ack, m, 'ING_ERR_TOPIC', `gateway ${tp.gatewayId} is registered at ${loc.site}/${loc.room}/${loc.bed}`, tp.gatewayId);
      }
      if (tp.kind === 'status') {
        this.d.metrics.inc('status_messages_total');
        let status: unknown;
        try {
          status = JSON.parse(Buffer.from(m.payload).toString('utf8'));
        } catch {
          status = null;
        }
        if (!status || typeof status !== 'object' || Array.isArray(status)) {
          this.refuseStatus(tp.gatewayId, { path: '/', message: 'not a JSON object' }, 1);
          return this.dead(index, ack, m, 'ING_ERR_ENVELOPE', 'status payload is not a JSON object', tp.gatewayId);
        }
        // the contract (schemas/src/gateway-status.ts): a document that does not match is counted, logged, acked, not stored
        const checked = checkGatewayStatus(status);
        if (!checked.ok) {
          this.refuseStatus(tp.gatewayId, checked.problems[0], checked.problems.length);
          ack[index] = true;
          return;
        }
        const s = checked.doc;
        if (s.gatewayId !== tp.gatewayId) {
          this.refuseStatus(tp.gatewayId, { path: '/gatewayId', message: 'differs from the topic gateway' }, 1);
          ack[index] = true;
          return;
        }
        this.d.registry.updateGatewayStatus(tp.gatewayId, now, s.online, s);
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
      const readings = countReadings(env);
      if (readings > this.maxReadings) {
        this.d.metrics.inc('envelopes_over_cap_total');
        return this.dead(
          index,
          ack,
          m,
          'ING_ERR_ENVELOPE_OVER_CAP',
          `envelope ${env.bootId}#${env.seq} holds ${readings} readings (numerics + wave samples + alarms + settings), more than intake.maxReadingsPerEnvelope ${this.maxReadings}: dead-lettered whole, nothing stored`,
          tp.gatewayId,
        );
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
      const sourced: SourcedPoint[] = [];
      for (const p of parts) envelopeToSourcedPoints({ ...env, devices: p.devices }, p.where, sourced);
      items.push({ index, env, key, points: [], sourced, parts, refused, gatewayId: tp.gatewayId });
    });
    if (!items.length) return { ack, vitals: [] };

    const data = items.filter((i) => i.sourced);
    const beds = new Set<string>();
    for (const i of data) for (const s of i.sourced!) beds.add(s.where.bed);
    const batch = data.length ? await this.integrity.begin(beds) : null;
    try {
      const receivedAt = batch ? (this.d.now?.() ?? Date.now()) : now; // after a wait for a bed another batch held
      if (batch && !(await this.assess(batch, data, receivedAt, signal))) return { ack, vitals: [] };
      const stored = await this.writeItems(batch, items, msgs, ack, signal, receivedAt);
      if (!stored.length) return { ack, vitals: [] };
      this.settle(stored, msgs, ack, now);
      return { ack, vitals: this.vitals(stored, now) };
    } catch (err) {
      // a bug or a sqlite failure: what was reserved for points not known to be stored is released
      for (const i of data) if (i.assessed && !i.settled) this.integrity.rollback(i.assessed);
      throw err;
    } finally {
      batch?.release();
    }
  }

  /** stored items: refusals dead-lettered and dedupe keys marked in one transaction, counters, acks */
  private settle(stored: Item[], msgs: readonly InMessage[], ack: boolean[], now: number): void {
    const keys = stored.filter((i) => i.key).map((i) => i.key as DedupeKey);
    this.d.dedupe.atomically(() => {
      for (const i of stored) {
        this.recordRefused(i, msgs[i.index].topic);
        if (i.assessed && i.env) recordIntegrity(i.assessed, i.env, msgs[i.index].topic, this.d.deadLetters, this.d.metrics);
      }
      this.d.dedupe.markAll(keys, now);
    });
    const seen = new Set<string>();
    for (const i of stored) {
      ack[i.index] = true;
      const landed = i.assessed ? i.assessed.points.length + i.assessed.counts.duplicates : i.points.length;
      if (i.env && !landed && (i.refused.length || i.assessed?.refused.length))
        this.d.metrics.inc('envelopes_dead_lettered_total'); // nothing of it stored
      else if (i.env) {
        this.d.metrics.inc('envelopes_written_total');
        if (!seen.has(i.gatewayId)) {
          seen.add(i.gatewayId);
          this.d.registry.updateGatewayStatus(i.gatewayId, now, null, null);
        }
      }
    }
  }

  /** the integrity check of `items` (under `batch`), retried while the series backend cannot be read; false when aborted */
  private async assess(batch: IntegrityBatch, items: Item[], now: number, signal: AbortSignal): Promise<boolean> {
    const stats = this.integrity.index.stats;
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) return false;
      const before = stats.loads + stats.lookups;
      try {
        const out = await this.integrity.assess(
          batch,
          items.map((i) => ({ gatewayId: i.gatewayId, env: i.env!, sourced: i.sourced! })),
          now,
        );
        items.forEach((i, k) => {
          i.assessed = out[k];
          i.points = out[k].points;
          i.settled = false;
        });
        return true;
      } catch (err) {
        this.d.metrics.inc('content_lookup_failures_total');
        this.lastWriteError = `content lookup: ${(err as Error).message}`;
        if (attempt === 0 || attempt % 20 === 0) this.d.logger.warn({ err: (err as Error).message, attempt }, 'content lookup failed, retrying');
        try {
          await abortableDelay(backoffMs(Math.min(attempt, 10), this.d.retryMinMs ?? 100, this.d.retryMaxMs ?? 5000), signal);
        } catch {
          return false;
        }
      } finally {
        this.d.metrics.inc('content_lookups_total', stats.loads + stats.lookups - before);
      }
    }
  }

  /** The refused device batches of a settled envelope → dead letters (payload: those batches only), counters, a rate-limited warning. */
  private recordRefused(item: Item, topic: string): void {
    const env = item.env;
    if (!env) return;
    for (const r of item.refused) {
      this.d.deadLetters.add({
        topic,
        code: r.code,
        gatewayId: item.gatewayId,
        payload: encodeEnvelope({ ...env, devices: r.devices }),
        reason:
          `${r.reasons.join('; ')}; the payload holds only the refused device batches of envelope ${env.bootId}#${env.seq}` +
          (item.parts.length ? ' (its other devices were stored)' : ''),
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

  /**
   * Returns the items whose points are stored (their integrity reservations committed, the others'
   * rolled back); poison items are dead-lettered (acked); [] when aborted.
   */
  private async writeItems(
    batch: IntegrityBatch | null,
    items: Item[],
    msgs: readonly InMessage[],
    ack: boolean[],
    signal: AbortSignal,
    now: number,
  ): Promise<Item[]> {
    const settle = (i: Item, ok: boolean) => {
      if (!i.assessed || !batch) return;
      i.settled = true;
      if (ok) this.integrity.commit(batch, i.assessed, now);
      else this.integrity.rollback(i.assessed);
    };
    const empty = items.filter((i) => !i.points.length); // nothing to write (every device refused, only duplicates)
    const full = items.filter((i) => i.points.length);
    const r = full.length
      ? await this.writeWithRetry(
          full.flatMap((i) => i.points),
          signal,
        )
      : 'ok';
    if (r === 'ok') {
      items.forEach((i) => settle(i, true));
      return items;
    }
    full.forEach((i) => settle(i, false));
    if (r === 'aborted') return [];
    // data error: isolate the offending message(s), each checked again on its own; valid lines of a partial write are stored anyway
    empty.forEach((i) => settle(i, true));
    const ok: Item[] = [...empty];
    for (const item of full) {
      if (full.length > 1 && batch && item.sourced && !(await this.assess(batch, [item], now, signal))) return ok;
      const one = full.length === 1 ? r : item.points.length ? await this.writeWithRetry(item.points, signal) : 'ok';
      if (one === 'aborted') {
        if (full.length > 1) settle(item, false);
        return ok;
      }
      if (one === 'ok') {
        settle(item, true);
        ok.push(item);
        continue;
      }
      if (full.length > 1) settle(item, false);
      this.dead(item.index, ack, msgs[item.index], 'ING_ERR_SERIES_PARTIAL', one.message, item.gatewayId);
      this.recordRefused(item, msgs[item.index].topic); // the refusal reasons stay visible
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
    const byBed = new Map<
      string,
      { loc: BedLocation; numerics: Record<string, { t: number; value: number | null; unit: string; device: string; flags?: string[] }> }
    >();
    for (const i of stored) {
      // only readings in the main series (written now or already there): nothing quarantined, conflicting or refused
      for (const s of i.assessed?.accepted ?? []) {
        const n = s.obs;
        if (n?.kind !== 'numeric' || !n.mdc) continue;
        let v = byBed.get(s.where.bed);
        if (!v) byBed.set(s.where.bed, (v = { loc: s.where, numerics: {} }));
        const prev = v.numerics[n.mdc];
        // quality flags (demo, artifact, invalid, …) travel with the value; no key when there are none
        if (!prev || prev.t <= n.t)
          v.numerics[n.mdc] = { t: n.t, value: n.value, unit: n.unit, device: s.device.deviceId, ...(n.flags?.length ? { flags: [...n.flags] } : {}) };
      }
    }
    return [...byBed.values()].map(({ loc, numerics }) => ({
      topic: vitalsTopic(this.d.prefix, loc.site, loc.room, loc.bed),
      payload: JSON.stringify({ bed: loc.bed, room: loc.room, site: loc.site, ...this.d.cases.vitalsCase(loc.bed, now, numerics), t: now }),
    }));
  }
}
