/**
 * Intake integrity (docs/security.md "Intake integrity"): decides, per point of the envelopes of a
 * batch, where it goes — before anything is written:
 *   1. time window (time-window.ts): a reading outside it goes to `<kind>_quarantine` (fields q_reason,
 *      q_received_at, q_sent_at, q_boot, q_seq), never to the main series;
 *   2. content identity (content-index.ts): the same (series, time) already stored with the same
 *      content → duplicate, not rewritten; with another content → `<kind>_conflict` (fields c_received_at,
 *      c_boot, c_seq), the stored value stays; a conflict slot already taken by another content, or a
 *      quarantined slot taken, → dead letter (ING_ERR_READING_CONFLICT); a main-series reading whose slot
 *      could not be looked up → quarantined as `unverified`;
 *   3. series budget (series-budget.ts): a point that would create a series beyond the gateway's hourly
 *      budget → dead letter (ING_ERR_SERIES_BUDGET), the rest is written.
 * Two-phase: `begin` takes the batch's beds (a per-bed lock: batches may run concurrently, and two
 * that share a bed take turns from the check to the commit); `assess` reserves (index entries, budget
 * tokens) so later points of the same batch see earlier ones; `commit` after the write succeeded,
 * `rollback` when it did not; `release` at the end. Device status points (time = sent_at, a state
 * snapshot) only pass the series budget.
 */
import { encodeEnvelope, type DeviceBatch, type Envelope } from '../../../schemas/src/envelope.js';
import type { IngestErrorCode } from '../errors.js';
import type { SourcedPoint } from '../series/layout.js';
import type { SeriesPoint, SeriesReader } from '../series/types.js';
import { ContentIndex, UNVERIFIED, type Stored } from './content-index.js';
import { CONFLICT_SUFFIX, QUARANTINE_SUFFIX, READING_MEASUREMENTS, contentOf, isAbsentContent } from './reading-identity.js';
import { KeyedLock } from './keyed-lock.js';
import { SeriesBudget, type Reservations } from './series-budget.js';
import { maxFutureAllowance, timeVerdict, type TimeWindowLimits } from './time-window.js';

export interface IntegrityOptions {
  window: TimeWindowLimits;
  maxNewSeriesPerGatewayHour: number;
  maxKnownSeries: number;
  contentWindowMs: number;
  contentMaxEntriesPerBed: number;
  lookupSpanMs: number;
  maxLookupsPerBatch: number;
  reader: SeriesReader | null;
}

export type RefusalCode = Extract<IngestErrorCode, 'ING_ERR_SERIES_BUDGET' | 'ING_ERR_READING_CONFLICT'>;

export interface IntegrityInput {
  gatewayId: string;
  env: Envelope;
  sourced: SourcedPoint[];
}

/** one batch's hold on its beds and its budget reservations */
export interface IntegrityBatch {
  reservations: Reservations;
  release(): void;
}

export interface Assessed {
  gatewayId: string;
  /** what to write */
  points: SeriesPoint[];
  /** readings in the main series after this batch (written or duplicates): vitals are built from these */
  accepted: SourcedPoint[];
  refused: { code: RefusalCode; reason: string; src: SourcedPoint }[];
  counts: { quarantined: number; unverified: number; duplicates: number; conflicts: number; budgetRefused: number };
  /** the series keys of `points` (same order) */
  series: string[];
}

const CLOCK_FLAGS = new Set(['clock-jump', 'clock-offset']);

function clockFlagged(src: SourcedPoint): boolean {
  const o = src.obs;
  return !!o && (o.kind === 'numeric' || o.kind === 'wave') && !!o.flags?.some((f) => CLOCK_FLAGS.has(f));
}

function apart(p: SeriesPoint, suffix: string, extra: Record<string, string | number>): SeriesPoint {
  return { measurement: p.measurement + suffix, tags: p.tags, fields: { ...p.fields, ...extra }, time: p.time };
}

export class IntakeIntegrity {
  readonly index: ContentIndex;
  readonly budget: SeriesBudget;
  private readonly beds = new KeyedLock();

  constructor(private readonly o: IntegrityOptions) {
    this.budget = new SeriesBudget({ perHour: o.maxNewSeriesPerGatewayHour, maxKnown: o.maxKnownSeries });
    this.index = new ContentIndex({
      windowMs: o.contentWindowMs,
      futureAllowanceMs: maxFutureAllowance(o.window),
      maxEntriesPerBed: o.contentMaxEntriesPerBed,
      lookupSpanMs: o.lookupSpanMs,
      maxLookupsPerBatch: o.maxLookupsPerBatch,
      reader: o.reader,
      onSeries: (key) => this.budget.learn(key, Date.now()),
    });
  }

  /** waits until no other batch holds any of `beds` */
  async begin(beds: Iterable<string>): Promise<IntegrityBatch> {
    const release = await this.beds.acquire(beds);
    return { reservations: new Map(), release };
  }

  /** call under `begin` for the beds of every input */
  async assess(batch: IntegrityBatch, inputs: readonly IntegrityInput[], now: number): Promise<Assessed[]> {
    // 1. time verdicts; the times each bed must answer for
    const verdicts = inputs.map(({ env, sourced }) =>
      sourced.map((s) => (s.obs ? timeVerdict(s.point.time, clockFlagged(s), env.sentAt, now, this.o.window) : null)),
    );
    const times = new Map<string, number[]>();
    inputs.forEach(({ sourced }, i) =>
      sourced.forEach((s, j) => {
        if (!s.obs) return;
        let list = times.get(s.where.bed);
        if (!list) times.set(s.where.bed, (list = []));
        if (!verdicts[i][j]) list.push(s.point.time);
      }),
    );
    for (const [bed, list] of times) await this.index.prepare(bed, list, now);
    // 2. route every point
    return inputs.map((input, i) => this.route(batch, input, verdicts[i], now));
  }

  private route(batch: IntegrityBatch, input: IntegrityInput, verdicts: (string | null)[], now: number): Assessed {
    const { gatewayId, env } = input;
    const a: Assessed = {
      gatewayId,
      points: [],
      accepted: [],
      refused: [],
      series: [],
      counts: { quarantined: 0, unverified: 0, duplicates: 0, conflicts: 0, budgetRefused: 0 },
    };
    const write = (src: SourcedPoint, p: SeriesPoint, key: string, content: number | null): boolean => {
      if (!this.budget.charge(batch.reservations, gatewayId, key, now)) {
        a.refused.push({
          code: 'ING_ERR_SERIES_BUDGET',
          src,
          reason: `series ${p.measurement} ${Object.values(p.tags).join('/')} would exceed the gateway's budget of ${this.o.maxNewSeriesPerGatewayHour} new series per hour`,
        });
        a.counts.budgetRefused++;
        return false;
      }
      a.points.push(p);
      a.series.push(key);
      if (content !== null) this.index.record(src.where.bed, key, p.time, content, now);
      return true;
    };
    input.sourced.forEach((src, j) => {
      const p = src.point;
      if (!src.obs || !READING_MEASUREMENTS.has(p.measurement)) {
        write(src, p, src.series, null);
        return;
      }
      const content = contentOf(p);
      const bed = src.where.bed;
      const verdict = verdicts[j];
      if (!verdict) {
        const key = src.series;
        const stored = this.index.stored(bed, key, p.time);
        if (stored === undefined) {
          if (write(src, p, key, content)) a.accepted.push(src);
          return;
        }
        if (stored === content) {
          a.counts.duplicates++;
          a.accepted.push(src);
          return;
        }
        // a slot stored without a value (sentinel, sensor off) is filled by the value that follows, and a
        // valueless repeat of a stored value adds nothing: neither is a conflict (HL7 senders repeat a cuff
        // measurement with its own time, some of those repeats with the sentinel)
        if (stored !== UNVERIFIED && isAbsentContent(stored) && !isAbsentContent(content)) {
          if (write(src, p, key, content)) a.accepted.push(src);
          return;
        }
        if (stored !== UNVERIFIED && isAbsentContent(content)) {
          a.counts.duplicates++;
          a.accepted.push(src);
          return;
        }
        if (stored === UNVERIFIED) {
          a.counts.unverified++;
          this.apartPoint(a, src, apart(p, QUARANTINE_SUFFIX, this.qFields('unverified', env, now)), content, write);
          return;
        }
        a.counts.conflicts++;
        this.apartPoint(a, src, apart(p, CONFLICT_SUFFIX, { c_received_at: now, c_boot: env.bootId, c_seq: env.seq }), content, write);
        return;
      }
      a.counts.quarantined++;
      this.apartPoint(a, src, apart(p, QUARANTINE_SUFFIX, this.qFields(verdict, env, now)), content, write);
    });
    return a;
  }

  private qFields(reason: string, env: Envelope, now: number): Record<string, string | number> {
    return { q_reason: reason, q_received_at: now, q_sent_at: env.sentAt, q_boot: env.bootId, q_seq: env.seq };
  }

  /** a point kept apart (quarantine or conflict measurement): written once; the same content again is a duplicate; another → dead letter */
  private apartPoint(
    a: Assessed,
    src: SourcedPoint,
    p: SeriesPoint,
    content: number,
    write: (src: SourcedPoint, p: SeriesPoint, key: string, content: number | null) => boolean,
  ): void {
    const key = p.measurement + src.series.slice(src.point.measurement.length);
    const stored: Stored = this.index.stored(src.where.bed, key, p.time);
    if (stored === undefined || stored === UNVERIFIED) {
      write(src, p, key, content);
      return;
    }
    if (stored === content) {
      a.counts.duplicates++;
      return;
    }
    a.refused.push({
      code: 'ING_ERR_READING_CONFLICT',
      src,
      reason: `${p.measurement} already holds another value for this series at ${new Date(p.time).toISOString()}: kept, this one refused`,
    });
  }

  /** the assessed points are stored */
  commit(batch: IntegrityBatch, a: Assessed, now: number): void {
    this.budget.commit(batch.reservations, a.gatewayId, a.series, now);
  }

  /** the assessed points were not written: release what `assess` reserved */
  rollback(a: Assessed): void {
    // every point written holds an index entry of its own (nothing was stored at its slot), except device status
    a.points.forEach((p, i) => {
      if (p.measurement !== 'device_status') this.index.forget(p.tags.bed, a.series[i], p.time);
    });
  }
}

/** An envelope holding only `srcs` (their readings, or the device status for a status point): a dead letter's payload. */
export function envelopeOf(env: Envelope, srcs: readonly SourcedPoint[]): Uint8Array {
  const byDevice = new Map<DeviceBatch, DeviceBatch>();
  for (const s of srcs) {
    let d = byDevice.get(s.device);
    if (!d) byDevice.set(s.device, (d = { deviceId: s.device.deviceId, profileId: s.device.profileId, numerics: [], waves: [], alarms: [], settings: [] }));
    const o = s.obs;
    if (!o) {
      if (s.device.status) d.status = s.device.status;
    } else if (o.kind === 'numeric') d.numerics.push(o);
    else if (o.kind === 'wave') d.waves.push(o);
    else if (o.kind === 'alarm') d.alarms.push(o);
    else d.settings.push(o);
  }
  return encodeEnvelope({ ...env, devices: [...byDevice.values()] });
}
