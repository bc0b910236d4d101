/**
 * Case timeline: the data of the case's beds from start to end (or now), each bed over its
 * binding window [from, to) — late binding, so data recorded before the case was created is
 * included; after a move the earlier bed's data up to the move, the later bed's from then on.
 * Numerics grouped per (device, parameter, label) as [t, value] pairs (a monitor that moved with the
 * patient stays one series); waves as blocks, only when the window is ≤ timeline.maxWaveWindowMs.
 *
 * Paged on time (docs/decisions.md, "Long timelines are paged on time"): a page holds every item of
 * every kind with cursor ≤ t < nextCursor and at most `limit` items of each kind. The bindings are read
 * in time order with LIMIT limit + 1; when a kind comes back over the limit, the page ends before the
 * time of its first item past the limit (items sharing that time may be cut anywhere among them, so all
 * of them move to the next page, which starts at that time). A window that fits in one page is
 * answered exactly as before: no `nextCursor`. More than `limit` items in one millisecond: that
 * millisecond is a page of its own (bounded by the number of series).
 */
import type { Case } from '../cases/case-store.js';
import { IngestError } from '../errors.js';
import type { SeriesAggregator, SeriesQuery, SeriesReader, SeriesResult } from '../series/types.js';

/** Numeric resolutions: raw points, or means over buckets of this many ms computed by the database. */
export const RESOLUTIONS = { raw: 0, '1s': 1000, '1m': 60_000, '5m': 300_000 } as const;
export type Resolution = keyof typeof RESOLUTIONS;

export interface TimelineOptions {
  from?: number;
  to?: number;
  params?: string[];
  maxWaveWindowMs: number;
  maxWindowMs: number;
  now: number;
  /** most items of one kind per page */
  limit: number;
  /** where this page starts (a previous page's nextCursor, opaque); default: the window start */
  cursor?: string;
  /** numerics as stored (raw, default) or averaged per bucket by the series backend */
  resolution?: Resolution;
}

/** Page size: items of one kind (numeric points, wave blocks, alarms, settings) per page. */
export const PAGE_LIMIT = { default: 100_000, max: 200_000 } as const;

/** A cursor is the time the next page starts at, in decimal ms: opaque to clients (it may change form). */
export const CURSOR_PATTERN = '^[0-9]{1,16}$';
const decodeCursor = (c: string) => Number(c);
const encodeCursor = (t: number) => String(t);

export interface Timeline {
  case: Case;
  from: number;
  to: number;
  numerics: { mdc: string | null; code: number | null; vendorCode: string; unit: string; device: string; label?: string; points: [number, number | null][] }[];
  waves: { mdc: string | null; vendorCode: string; unit: string; device: string; rateHz: number; blocks: { t0: number; samples: (number | null)[] }[] }[];
  alarms: SeriesResult['alarms'];
  settings: SeriesResult['settings'];
  wavesOmitted?: string;
  /** present when the window holds more: request the same from, to, params, limit with cursor = nextCursor */
  nextCursor?: string;
}

interface BedWindow {
  bed: string;
  from: number;
  to: number;
}

type Timed = { t?: number; t0?: number };
const tOf = (x: Timed) => (x.t0 ?? x.t) as number;
const listsOf = (r: SeriesResult): Timed[][] => [r.numerics, r.waves, r.alarms, r.settings];

function before(r: SeriesResult, cut: number): SeriesResult {
  const keep = <T extends Timed>(xs: T[]) => xs.filter((x) => tOf(x) < cut);
  return { numerics: keep(r.numerics), waves: keep(r.waves), alarms: keep(r.alarms), settings: keep(r.settings) };
}

/** One page: the items with cursor ≤ t < cut (cut null: up to the window's end) of the bed windows. */
async function readPage(reader: SeriesReader, windows: BedWindow[], base: Pick<SeriesQuery, 'mdcs' | 'kinds'>, cursor: number, limit: number) {
  let parts: SeriesResult[] = [];
  let cut: number | null = null;
  const counts = [0, 0, 0, 0];
  for (const w of windows) {
    const lo = Math.max(w.from, cursor);
    if (lo > w.to) continue;
    if (cut !== null) break; // windows are ordered and disjoint: the next one starts after the cut
    const room = limit - Math.max(counts[0], counts[1], counts[2], counts[3]);
    // one more than room: a kind that fills the room exactly ends the window, not the page
    const r = await reader.query({ bed: w.bed, from: lo, to: w.to, ...base, limit: room + 1 });
    parts.push(r);
    const lists = listsOf(r);
    for (let k = 0; k < lists.length; k++) {
      counts[k] += Math.min(lists[k].length, room);
      if (lists[k].length > room) cut = Math.min(cut ?? Infinity, tOf(lists[k][room]));
    }
  }
  if (cut === null) return { parts, cut };
  const at: number = cut;
  parts = parts.map((p) => before(p, at));
  if (parts.every((p) => listsOf(p).every((l) => !l.length))) {
    // more than `limit` items share one millisecond: that millisecond alone (bounded by the series count)
    const w = windows.find((x) => x.from <= at && at <= x.to) as BedWindow;
    return { parts: [await reader.query({ bed: w.bed, from: at, to: at, ...base })], cut: at + 1 };
  }
  return { parts, cut };
}

/** The page's numerics averaged per bucket (value = mean, t = bucket start) over each bed window, as a SeriesResult. */
async function aggregatedPart(
  reader: Partial<SeriesAggregator>,
  windows: BedWindow[],
  mdcs: string[] | undefined,
  bucket: number,
  lo: number,
  hi: number,
): Promise<SeriesResult> {
  if (!reader.aggregateNumerics) throw new IngestError('ING_ERR_BAD_REQUEST', 'data', 'this series backend cannot aggregate: use resolution=raw');
  const out: SeriesResult = { numerics: [], waves: [], alarms: [], settings: [] };
  for (const w of windows) {
    const from = Math.max(w.from, lo);
    const to = Math.min(w.to, hi);
    if (to < from) continue;
    for (const a of await reader.aggregateNumerics({ bed: w.bed, from, to, mdcs, bucketMs: bucket })) {
      out.numerics.push({
        kind: 'numeric',
        mdc: a.mdc,
        code: a.code,
        value: a.value,
        unit: a.unit,
        t: a.t,
        vendorCode: a.vendorCode,
        device: a.device,
        site: a.site,
        room: a.room,
        bed: a.bed,
        ...(a.label ? { label: a.label } : {}),
      });
    }
  }
  return out;
}

export async function caseTimeline(c: Case, reader: SeriesReader & Partial<SeriesAggregator>, o: TimelineOptions): Promise<Timeline> {
  const caseEnd = c.end ?? o.now;
  const from = Math.max(c.start, o.from ?? c.start);
  const to = Math.min(caseEnd, o.to ?? caseEnd);
  if (to < from) throw new IngestError('ING_ERR_BAD_REQUEST', 'data', 'window is empty or outside the case');
  if (to - from > o.maxWindowMs) throw new IngestError('ING_ERR_BAD_REQUEST', 'data', `window longer than ${o.maxWindowMs} ms`);
  const cursor = o.cursor === undefined ? from : decodeCursor(o.cursor);
  if (cursor < from || cursor > to)
    throw new IngestError('ING_ERR_BAD_REQUEST', 'data', 'cursor outside the window: pass the from, to and cursor of the previous page');
  const withWaves = to - from <= o.maxWaveWindowMs;
  const kinds: SeriesQuery['kinds'] = withWaves ? ['numeric', 'wave', 'alarm', 'setting'] : ['numeric', 'alarm', 'setting'];
  const bucket = RESOLUTIONS[o.resolution ?? 'raw'];
  if (bucket && (to - from) / bucket > o.limit) {
    throw new IngestError(
      'ING_ERR_BAD_REQUEST',
      'data',
      `resolution ${o.resolution} over ${to - from} ms is more than ${o.limit} points per series: use a coarser resolution or a shorter window`,
    );
  }
  const mdcs = o.params?.length ? o.params : undefined;
  // bindings are half-open and times are integer ms: a binding ending at `to` holds data up to to - 1
  const windows = c.bindings
    .map((b) => ({ bed: b.bed, from: Math.max(from, b.from), to: b.to === null ? to : Math.min(to, b.to - 1) }))
    .filter((w) => w.to >= w.from)
    .sort((a, b) => a.from - b.from);
  // with a resolution, numerics are not paged raw: the page is cut by the other kinds, on a bucket boundary
  const paged = await readPage(reader, windows, { mdcs, kinds: bucket ? kinds.filter((k) => k !== 'numeric') : kinds }, cursor, o.limit);
  let { parts, cut } = paged;
  if (bucket) {
    const aligned = cut === null ? null : Math.floor(cut / bucket) * bucket;
    if (aligned !== null && aligned > cursor && aligned < (cut as number)) {
      parts = parts.map((p) => before(p, aligned));
      cut = aligned;
    }
    parts.push(await aggregatedPart(reader, windows, mdcs, bucket, cursor, cut === null ? to : cut - 1));
  }
  const numerics = new Map<string, Timeline['numerics'][number]>();
  const waves = new Map<string, Timeline['waves'][number]>();
  const out: Timeline = { case: c, from, to, numerics: [], waves: [], alarms: [], settings: [] };
  for (const p of parts) {
    for (const n of p.numerics) {
      const key = `${n.device}\u0000${n.mdc ?? ''}\u0000${n.vendorCode}\u0000${n.label ?? ''}`;
      let g = numerics.get(key);
      if (!g) {
        g = { mdc: n.mdc, code: n.code, vendorCode: n.vendorCode, unit: n.unit, device: n.device, points: [] };
        if (n.label) g.label = n.label;
        numerics.set(key, g);
      }
      g.points.push([n.t, n.value]);
    }
    for (const w of p.waves) {
      const key = `${w.device}\u0000${w.mdc ?? ''}\u0000${w.vendorCode}`;
      let g = waves.get(key);
      if (!g) waves.set(key, (g = { mdc: w.mdc, vendorCode: w.vendorCode, unit: w.unit, device: w.device, rateHz: w.rateHz, blocks: [] }));
      g.blocks.push({ t0: w.t0, samples: w.samples });
    }
    for (const a of p.alarms) out.alarms.push(a);
    for (const s of p.settings) out.settings.push(s);
  }
  out.numerics = [...numerics.values()];
  out.waves = [...waves.values()];
  if (!withWaves) out.wavesOmitted = `window ${to - from} ms exceeds ${o.maxWaveWindowMs} ms: request a shorter window for waves`;
  if (cut !== null && cut <= to) out.nextCursor = encodeCursor(cut);
  return out;
}
