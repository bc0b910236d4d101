/**
 * What is stored at (series, time), per bed, for the content-identity check (docs/security.md
 * "Intake integrity"): a replayed reading with the same content is a duplicate, with another content
 * a conflict — never an overwrite. Bounded memory, no series query on the live path:
 *
 * - hot: every point this process stored with coveredFrom ≤ t ≤ now + futureAllowance, in buckets of
 *   65.536 s of t; key = series id × 65536 + (t − bucket start), value = content (reading-identity.ts).
 *   Buckets older than now − windowMs are dropped and coveredFrom moves up; a bed over maxEntriesPerBed
 *   drops its oldest bucket early (coveredFrom moves up with it: more lookups, never a wrong answer).
 * - load: on a bed's first use the series backend is read once for [now − windowMs, now +
 *   futureAllowance], so what a previous process stored is known (and its series reported to `onSeries`).
 * - lookups, "only where needed": a reading older than coveredFrom (backlog, an old measurement time)
 *   is looked up in the backend; its times are clustered (a cluster spans ≤ lookupSpanMs), one query per
 *   cluster, at most maxLookupsPerBatch per bed and batch (beyond: `unverified`, the caller keeps those
 *   apart). A looked-up range is remembered (`checked`, with what it held and what was written into it
 *   since, in `old`) so a drain or a repeated old NIBP time costs one query, not one per batch.
 *
 * Only the main measurements can be read back (SeriesReader); `_quarantine` / `_conflict` points are
 * known from this process's own writes only. With several ingest replicas each has its own index.
 */
import type { SeriesReader } from '../series/types.js';
import { storedToPoint } from '../series/layout.js';
import { contentOf, seriesKey } from './reading-identity.js';

const B = 65_536;

export interface ContentIndexOptions {
  windowMs: number;
  /** how far ahead of now a main-series point can be (the time window's largest future allowance) */
  futureAllowanceMs: number;
  maxEntriesPerBed: number;
  lookupSpanMs: number;
  maxLookupsPerBatch: number;
  /** null: nothing to read back (index of this process's writes only) */
  reader: SeriesReader | null;
  /** each series found in the backend (the series budget learns it) */
  onSeries?: (key: string) => void;
}

/** a stored content, `undefined` = nothing stored there, `UNVERIFIED` = could not be looked up */
export const UNVERIFIED = Symbol('unverified');
export type Stored = number | undefined | typeof UNVERIFIED;

interface Bed {
  coveredFrom: number;
  sids: Map<string, number>;
  hot: Map<number, Map<number, number>>;
  hotSize: number;
  /** `${sid}:${t}` → content for points outside the hot range */
  old: Map<string, number>;
  checked: [number, number][];
  /** times of this batch that could not be looked up */
  unverified: Set<number>;
}

const MAX_CHECKED = 32;

export class ContentIndex {
  private readonly beds = new Map<string, Bed>();
  readonly stats = { loads: 0, lookups: 0, rowsRead: 0, evictions: 0 };

  constructor(private readonly o: ContentIndexOptions) {}

  get entries(): number {
    let n = 0;
    for (const b of this.beds.values()) n += b.hotSize + b.old.size;
    return n;
  }

  private sid(bed: Bed, key: string): number {
    let id = bed.sids.get(key);
    if (id === undefined) bed.sids.set(key, (id = bed.sids.size));
    return id;
  }

  private advance(bed: Bed, now: number): void {
    const cut = Math.floor((now - this.o.windowMs) / B);
    for (const [b, m] of bed.hot) {
      if (b >= cut) continue;
      bed.hot.delete(b);
      bed.hotSize -= m.size;
    }
    bed.coveredFrom = Math.max(bed.coveredFrom, cut * B);
    while (bed.hotSize > this.o.maxEntriesPerBed) {
      const oldest = Math.min(...bed.hot.keys());
      bed.hotSize -= bed.hot.get(oldest)?.size ?? 0;
      bed.hot.delete(oldest);
      bed.coveredFrom = Math.max(bed.coveredFrom, (oldest + 1) * B);
      this.stats.evictions++;
    }
    if (bed.old.size > this.o.maxEntriesPerBed) {
      bed.old.clear();
      bed.checked = [];
      this.stats.evictions++;
    }
  }

  private put(bed: Bed, key: string, t: number, content: number, now: number): void {
    const id = this.sid(bed, key);
    if (t >= bed.coveredFrom && t <= now + this.o.futureAllowanceMs) {
      const b = Math.floor(t / B);
      let m = bed.hot.get(b);
      if (!m) bed.hot.set(b, (m = new Map()));
      const k = id * B + (t - b * B);
      if (!m.has(k)) bed.hotSize++;
      m.set(k, content);
    } else bed.old.set(`${id}:${t}`, content);
  }

  private async read(bedName: string, bed: Bed, from: number, to: number, now: number): Promise<void> {
    if (!this.o.reader) return;
    const r = await this.o.reader.query({ bed: bedName, from, to });
    for (const list of [r.numerics, r.waves, r.alarms, r.settings]) {
      for (const o of list) {
        const p = storedToPoint(o);
        const key = seriesKey(p);
        this.o.onSeries?.(key);
        this.put(bed, key, p.time, contentOf(p), now);
        this.stats.rowsRead++;
      }
    }
  }

  /**
   * Makes `times` of `bedName` answerable by `stored()`: loads the bed on first use, looks up what is
   * older than the hot range. Async (series queries); throws what the reader throws (transient: retry).
   */
  async prepare(bedName: string, times: readonly number[], now: number): Promise<void> {
    let bed = this.beds.get(bedName);
    // series ids are never reused: a bed that has seen too many series starts over (reloaded)
    if (bed && bed.sids.size > 4 * this.o.maxEntriesPerBed) {
      this.beds.delete(bedName);
      bed = undefined;
      this.stats.evictions++;
    }
    if (!bed) {
      const fresh: Bed = {
        coveredFrom: now - this.o.windowMs,
        sids: new Map(),
        hot: new Map(),
        hotSize: 0,
        old: new Map(),
        checked: [],
        unverified: new Set(),
      };
      await this.read(bedName, fresh, fresh.coveredFrom, now + this.o.futureAllowanceMs, now);
      this.stats.loads++;
      this.beds.set(bedName, (bed = fresh));
    }
    this.advance(bed, now);
    bed.unverified.clear();
    const b = bed;
    const need = [...new Set(times.filter((t) => t < b.coveredFrom && !b.checked.some(([f, to]) => t >= f && t <= to)))].sort((x, y) => x - y);
    const clusters: [number, number][] = [];
    for (const t of need) {
      const last = clusters[clusters.length - 1];
      if (last && t - last[0] <= this.o.lookupSpanMs) last[1] = t;
      else clusters.push([t, t]);
    }
    for (const [i, [from, to]] of clusters.entries()) {
      if (i >= this.o.maxLookupsPerBatch || !this.o.reader) {
        for (const t of need) if (t >= from && t <= to) bed.unverified.add(t);
        continue;
      }
      await this.read(bedName, bed, from, to, now);
      this.stats.lookups++;
      bed.checked.push([from, to]);
      if (bed.checked.length > MAX_CHECKED) bed.checked.shift();
    }
  }

  /** what is stored at (key, t) of a bed prepared for t in this batch */
  stored(bedName: string, key: string, t: number): Stored {
    const bed = this.beds.get(bedName);
    if (!bed) return UNVERIFIED;
    if (bed.unverified.size && bed.unverified.has(t)) return UNVERIFIED;
    const id = bed.sids.get(key);
    if (id === undefined) return undefined;
    const b = Math.floor(t / B);
    const hot = bed.hot.get(b)?.get(id * B + (t - b * B));
    return hot !== undefined ? hot : bed.old.get(`${id}:${t}`);
  }

  /**
   * A point of a prepared bed is about to be written (nothing was stored at (key, t)): later readings of
   * the same batch see it. `forget` it if the write does not happen.
   */
  record(bedName: string, key: string, t: number, content: number, now: number): void {
    const bed = this.beds.get(bedName);
    if (bed) this.put(bed, key, t, content, now);
  }

  forget(bedName: string, key: string, t: number): void {
    const bed = this.beds.get(bedName);
    const id = bed?.sids.get(key);
    if (!bed || id === undefined) return;
    const b = Math.floor(t / B);
    const m = bed.hot.get(b);
    if (m?.delete(id * B + (t - b * B))) bed.hotSize--;
    bed.old.delete(`${id}:${t}`);
  }
}
