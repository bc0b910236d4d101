/**
 * What the reports read of one case (docs/reports.md "Rules"): per bed binding, ONE `countNumerics`
 * request (valid values per series and points per device, counted by the database per minute), and
 * the NIBP readings (paged by time) to find the cuff measurements. Everything else is arithmetic on
 * minute sets. Minutes are epoch-aligned [t, t + 60 s); a binding [from, to) covers the minutes that
 * overlap it; an open binding runs to `now`.
 *
 * NIBP: monitors send NIBP once per measurement (HL7) or every second holding the last value (GE
 * S/5). A cuff measurement is the first reading of each run of identical (sys, dia, mean) of a device
 * (the rule of the chart, docs/chart.md); it covers its minute and the next NIBP_COVER_MINUTES − 1
 * (a blood pressure at least every 5 minutes): those are NIBP's monitored minutes.
 */
import { FLAG } from '../../../schemas/src/observation.js';
import type { Case } from '../cases/case-store.js';
import { IngestError } from '../errors.js';
import type { SeriesStore } from '../series/types.js';
import { CORE_TEMPERATURES, familyOf, NIBP_PARAMS, type Family } from './families.js';

export const MINUTE = 60_000;
/** A value flagged invalid or demo is not monitoring (demo data never counts for a patient). */
export const EXCLUDE_FLAGS = FLAG.invalid | FLAG.demo;
/** NIBP readings per page, and pages per binding at most (1 Hz held values, 3 values, 10 h = 108 000 readings = 6 pages) */
export const NIBP_PAGE = 20_000;
export const NIBP_MAX_PAGES = 50;
/** minutes a cuff measurement covers: its own and the next four */
export const NIBP_COVER_MINUTES = 5;

export interface BedWindow {
  bed: string;
  from: number;
  to: number;
}

export interface CaseData {
  windows: BedWindow[];
  /** minute starts with at least one valid value of the family */
  family: Map<Family, Set<number>>;
  /** times of the cuff measurements, ascending (several devices: each device's) */
  nibpTimes: number[];
  /** minute start → the highest per-channel mean of the valid core temperatures in that minute */
  coreTemp: Map<number, number>;
  /** bed → minute starts with a valid value of any family */
  monitoredByBed: Map<string, Set<number>>;
  /** `${device}\u0001${bed}` → minute starts in which the device stored any numeric point */
  deviceMinutes: Map<string, Set<number>>;
  /** NIBP_MAX_PAGES was reached on a binding: the measurement count is a lower bound */
  nibpTruncated: boolean;
}

export const minuteOf = (t: number) => Math.floor(t / MINUTE) * MINUTE;

/** The number of minutes overlapping [from, to). */
export function minutesOf(from: number, to: number): number {
  return to > from ? Math.ceil(to / MINUTE) - Math.floor(from / MINUTE) : 0;
}

/** How many of `minutes` overlap [from, to). */
export function countIn(minutes: Iterable<number>, from: number, to: number): number {
  const lo = minuteOf(from);
  let n = 0;
  for (const m of minutes) if (m >= lo && m < to) n++;
  return n;
}

/** The case's bed windows; an open one ends at `now` (at least 1 ms after its start). */
export function bedWindows(c: Case, now: number): BedWindow[] {
  return c.bindings.map((b) => ({ bed: b.bed, from: b.from, to: b.to ?? Math.max(now, b.from + 1) }));
}

function add<K>(m: Map<K, Set<number>>, k: K, t: number): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(t);
}

/**
 * Reads the valid NIBP readings of [from, to] page by page (pages cut on time: the readings of the last
 * time of a full page are read again with the next), and calls `fn` with each time's readings of each device.
 */
async function forEachNibpTime(
  series: SeriesStore,
  q: { bed: string; from: number; to: number },
  pageSize: number,
  fn: (device: string, t: number, sig: string) => void,
): Promise<boolean> {
  let from = q.from;
  for (let page = 0; page < NIBP_MAX_PAGES; page++) {
    const r = await series.query({ ...q, from, mdcs: [...NIBP_PARAMS], kinds: ['numeric'], limit: pageSize });
    const full = r.numerics.length >= pageSize;
    const lastT = r.numerics.length ? r.numerics[r.numerics.length - 1].t : from;
    // a full page whose readings all share one time cannot advance: take it as it is
    const keep = full && lastT > from ? r.numerics.filter((n) => n.t < lastT) : r.numerics;
    const at = new Map<string, string[]>(); // device → "param=value" at the current time
    let cur = -1;
    const flush = () => {
      for (const [device, xs] of at) fn(device, cur, xs.sort().join('|'));
      at.clear();
    };
    for (const n of keep) {
      if (n.value === null || n.flags?.some((f) => f === 'invalid' || f === 'demo')) continue;
      if (n.t !== cur) {
        flush();
        cur = n.t;
      }
      const xs = at.get(n.device) ?? [];
      xs.push(`${n.mdc ?? n.vendorCode}=${n.value}`);
      at.set(n.device, xs);
    }
    flush();
    if (!full) return false;
    from = lastT > from ? lastT : lastT + 1;
    if (from > q.to) return false;
  }
  return true;
}

/** `nibpPage`: readings per NIBP page (tests make it small to exercise paging). */
export async function collectCase(series: SeriesStore, c: Case, now: number, nibpPage = NIBP_PAGE): Promise<CaseData> {
  const out: CaseData = {
    windows: bedWindows(c, now),
    family: new Map(),
    nibpTimes: [],
    coreTemp: new Map(),
    monitoredByBed: new Map(),
    deviceMinutes: new Map(),
    nibpTruncated: false,
  };
  const prevSig = new Map<string, string>(); // device → signature of its last NIBP time (a device may move along with the case)
  const nibp: number[] = [];
  try {
    for (const w of out.windows) {
      // stored times are inclusive on both ends of a query: [from, to - 1] is the half-open [from, to)
      const q = { bed: w.bed, from: w.from, to: w.to - 1 };
      const counts = await series.countNumerics({ ...q, bucketMs: MINUTE, excludeFlags: EXCLUDE_FLAGS });
      for (const s of counts.series) {
        const f = familyOf(s.param);
        if (!f) continue;
        if (f !== 'nibp') add(out.family, f, s.t);
        add(out.monitoredByBed, w.bed, s.t);
        if (CORE_TEMPERATURES.has(s.param)) out.coreTemp.set(s.t, Math.max(out.coreTemp.get(s.t) ?? -Infinity, s.mean));
      }
      for (const d of counts.devices) add(out.deviceMinutes, `${d.device}\u0001${w.bed}`, d.t);
      const before = nibp.length;
      const truncated = await forEachNibpTime(series, q, nibpPage, (device, t, sig) => {
        if (prevSig.get(device) !== sig) nibp.push(t);
        prevSig.set(device, sig);
      });
      if (truncated) out.nibpTruncated = true;
      // covered minutes: inside this binding only
      for (const t of nibp.slice(before)) {
        for (let i = 0; i < NIBP_COVER_MINUTES; i++) {
          const m = minuteOf(t) + i * MINUTE;
          if (m < w.to) add(out.family, 'nibp', m);
        }
      }
    }
  } catch (err) {
    if (err instanceof IngestError) throw err;
    throw new IngestError('ING_ERR_SERIES_QUERY', 'transient', `report query failed: ${(err as Error).message}`, { cause: err });
  }
  out.nibpTimes = nibp.sort((a, b) => a - b);
  return out;
}
