/**
 * The anesthesia-record chart of a case (GET /cases/:id/chart, docs/chart.md): one value per
 * parameter per grid point, as an AIMS prints it, chosen from the raw numerics of the case's beds
 * (each over its binding, never outside the case) after the artifact rules of rules.ts.
 *   grid point t: multiples of the grid since the epoch whose window [t − grid/2, t + grid/2) meets [from, to]
 *        (the first and last may lie just outside [from, to]: their windows hold its ends)
 *   NIBP (rule nibp-last): the latest cuff measurement in the window: a measurement is the first reading of a
 *        run of identical (sys, dia, mean) readings of a device, timed there — a held value is never repeated
 *   other parameters (rule median): the median of the accepted readings in the window
 *   none: nothing accepted in the window → value null
 * Read in stretches of STRETCH_MS of grid points (plus context margins), so memory stays bounded.
 */
import type { Case } from '../cases/case-store.js';
import { IngestError } from '../errors.js';
import type { SeriesReader, StoredNumeric } from '../series/types.js';
import { classify, familyOf, median, NIBP_MDCS, RECOVERY_MS, HR_HISTORY_MS, type Family, type Reason } from './rules.js';

export const GRIDS = { '1m': 60_000, '5m': 300_000, '15m': 900_000 } as const;
export type Grid = keyof typeof GRIDS;

/** most rejected readings listed per point (the count is always given) */
export const MAX_REJECTED_LISTED = 200;
/** grid points read together */
export const STRETCH_MS = 4 * 3600_000;
/** context read around a stretch for the rules (recovery, heart-rate history) */
export const CONTEXT_MS = Math.max(RECOVERY_MS, HR_HISTORY_MS) + 30_000;
/** how far back a NIBP run may have started (a held value older than this is taken as a new measurement) */
export const NIBP_LOOKBACK_MS = 3600_000;

export interface ChartRejected {
  t: number;
  value: number | null;
  reason: Reason;
}
export interface ChartPoint {
  t: number;
  value: number | null;
  rule: 'median' | 'nibp-last' | 'none';
  /** accepted readings in the window (median), or the measurement's time (nibp-last) */
  n: number;
  at?: number;
  rejected?: ChartRejected[];
  rejectedCount?: number;
}
export interface ChartSeries {
  mdc: string | null;
  code: number | null;
  vendorCode: string;
  unit: string;
  device: string;
  label?: string;
  family: Family;
  points: ChartPoint[];
}
export interface Chart {
  caseId: string;
  grid: Grid;
  gridMs: number;
  from: number;
  to: number;
  series: ChartSeries[];
}

export interface ChartOptions {
  grid: Grid;
  from?: number;
  to?: number;
  params?: string[];
  now: number;
  maxWindowMs: number;
}

const keyOf = (n: StoredNumeric) => `${n.device}\u0000${n.mdc ?? ''}\u0000${n.vendorCode}\u0000${n.label ?? ''}`;

/** The case's numerics in [lo, hi], each bed over its binding, sorted by time. */
async function readCase(c: Case, reader: SeriesReader, caseEnd: number, lo: number, hi: number, mdcs?: string[]): Promise<StoredNumeric[]> {
  const out: StoredNumeric[] = [];
  for (const b of c.bindings) {
    const from = Math.max(lo, b.from, c.start);
    const to = Math.min(hi, b.to === null ? caseEnd : b.to - 1, caseEnd);
    if (to < from) continue;
    const r = await reader.query({ bed: b.bed, from, to, kinds: ['numeric'], ...(mdcs ? { mdcs } : {}) });
    for (const n of r.numerics) out.push(n);
  }
  return out.sort((a, b) => a.t - b.t);
}

/**
 * The NIBP readings that open runs before the stretch [lo, hi]: the case's own (each bed over its
 * binding), and each bed's in the hour before its part of the stretch begins, also from before its
 * binding: a value the monitor still holds when the patient arrives (the previous patient's, or one
 * taken elsewhere) is then a held repeat, not a measurement at the arrival. These readings only decide
 * where runs start; no value of them is ever charted.
 */
async function nibpBeforeStretch(c: Case, reader: SeriesReader, caseEnd: number, lo: number, hi: number): Promise<StoredNumeric[]> {
  const out = await readCase(c, reader, caseEnd, lo - NIBP_LOOKBACK_MS, lo - 1, [...NIBP_MDCS]);
  const seen = new Set(out.map((n) => `${n.device}\u0000${n.t}\u0000${n.mdc ?? ''}\u0000${n.vendorCode}`));
  for (const b of c.bindings) {
    const start = Math.max(lo, b.from, c.start);
    if (start > Math.min(hi, b.to === null ? caseEnd : b.to - 1, caseEnd)) continue; // not in this stretch
    if (start > b.from) continue; // the stretch starts inside the binding: readCase above covers it
    const r = await reader.query({ bed: b.bed, from: start - NIBP_LOOKBACK_MS, to: start - 1, kinds: ['numeric'], mdcs: [...NIBP_MDCS] });
    for (const n of r.numerics) {
      const k = `${n.device}\u0000${n.t}\u0000${n.mdc ?? ''}\u0000${n.vendorCode}`;
      if (!seen.has(k)) {
        seen.add(k);
        out.push(n);
      }
    }
  }
  return out.sort((a, b) => a.t - b.t);
}

export async function caseChart(c: Case, reader: SeriesReader, o: ChartOptions): Promise<Chart> {
  const G = GRIDS[o.grid];
  const caseEnd = c.end ?? o.now;
  const from = Math.max(c.start, o.from ?? c.start);
  const to = Math.min(caseEnd, o.to ?? caseEnd);
  if (to < from) throw new IngestError('ING_ERR_BAD_REQUEST', 'data', 'window is empty or outside the case');
  if (to - from > o.maxWindowMs) throw new IngestError('ING_ERR_BAD_REQUEST', 'data', `window longer than ${o.maxWindowMs} ms`);
  const grid: number[] = [];
  // every grid point whose window [t − G/2, t + G/2) meets [from, to]: the whole window is charted
  for (let t = Math.floor((from - G / 2) / G) * G + G; t - G / 2 <= to; t += G) grid.push(t);
  const want = o.params?.length ? new Set(o.params) : null;
  const series = new Map<string, { s: ChartSeries; pts: Map<number, ChartPoint> }>();
  const perStretch = Math.max(1, Math.floor(STRETCH_MS / G));

  for (let k = 0; k < grid.length; k += perStretch) {
    const pts = grid.slice(k, k + perStretch);
    const lo = pts[0] - G / 2;
    const hi = pts[pts.length - 1] + G / 2 - 1;
    const readings = await readCase(c, reader, caseEnd, lo - CONTEXT_MS, hi + CONTEXT_MS);
    const reasons = classify(readings);
    // NIBP: the runs started before the stretch (held values read at its start are not new measurements)
    const nibpBefore = await nibpBeforeStretch(c, reader, caseEnd, lo - CONTEXT_MS, hi + CONTEXT_MS);
    const measuredAt = nibpMeasurements(nibpBefore, readings);

    const bySeries = new Map<string, number[]>();
    readings.forEach((r, i) => {
      if (r.t < lo || r.t > hi) return;
      if (want && !want.has(r.mdc ?? '') && !want.has(r.vendorCode)) return;
      const key = keyOf(r);
      let idx = bySeries.get(key);
      if (!idx) bySeries.set(key, (idx = []));
      idx.push(i);
    });
    for (const [key, idx] of bySeries) {
      const first = readings[idx[0]];
      let entry = series.get(key);
      if (!entry) {
        const s: ChartSeries = {
          mdc: first.mdc,
          code: first.code,
          vendorCode: first.vendorCode,
          unit: first.unit,
          device: first.device,
          family: familyOf(first.mdc),
          points: [],
        };
        if (first.label) s.label = first.label;
        series.set(key, (entry = { s, pts: new Map() }));
      }
      let j = 0;
      for (const g of pts) {
        const wLo = g - G / 2;
        const wHi = g + G / 2;
        while (j < idx.length && readings[idx[j]].t < wLo) j++;
        const accepted: number[] = [];
        const rejected: ChartRejected[] = [];
        let last: { t: number; v: number } | null = null;
        for (let m = j; m < idx.length && readings[idx[m]].t < wHi; m++) {
          const i = idx[m];
          const r = readings[i];
          const reason = reasons[i];
          if (entry.s.family === 'nibp') {
            if (!measuredAt.has(i)) continue; // a held repeat of a measurement: not a reading of its own
            if (reason) rejected.push({ t: r.t, value: r.value, reason });
            else last = { t: r.t, v: r.value as number };
            continue;
          }
          if (reason) rejected.push({ t: r.t, value: r.value, reason });
          else accepted.push(r.value as number);
        }
        let p: ChartPoint;
        if (entry.s.family === 'nibp') p = last ? { t: g, value: last.v, rule: 'nibp-last', n: 1, at: last.t } : { t: g, value: null, rule: 'none', n: 0 };
        else p = accepted.length ? { t: g, value: median(accepted), rule: 'median', n: accepted.length } : { t: g, value: null, rule: 'none', n: 0 };
        if (rejected.length) {
          p.rejected = rejected.slice(0, MAX_REJECTED_LISTED);
          p.rejectedCount = rejected.length;
        }
        entry.pts.set(g, p);
      }
    }
  }
  const out: ChartSeries[] = [];
  for (const { s, pts } of series.values()) {
    s.points = grid.map((g) => pts.get(g) ?? { t: g, value: null, rule: 'none', n: 0 });
    out.push(s);
  }
  out.sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : (a.mdc ?? a.vendorCode) < (b.mdc ?? b.vendorCode) ? -1 : 1));
  return { caseId: c.id, grid: o.grid, gridMs: G, from, to, series: out };
}

/**
 * Indices into `readings` of the NIBP readings that are cuff measurements: the first reading of each
 * run of identical (sys, dia, mean) of a device; `before` (NIBP read before the stretch) only opens runs.
 */
function nibpMeasurements(before: readonly StoredNumeric[], readings: readonly StoredNumeric[]): Set<number> {
  const sig = new Map<string, Map<number, string[]>>(); // device → time → "mdc=value" of its NIBP readings
  for (const r of [...before, ...readings]) {
    if (familyOf(r.mdc) !== 'nibp') continue;
    let d = sig.get(r.device);
    if (!d) sig.set(r.device, (d = new Map()));
    const at = d.get(r.t) ?? [];
    at.push(`${r.mdc ?? r.vendorCode}=${r.value}`);
    d.set(r.t, at);
  }
  const starts = new Set<string>();
  for (const [device, d] of sig) {
    let prev: string | undefined;
    for (const t of [...d.keys()].sort((a, b) => a - b)) {
      const s = d.get(t)!.sort().join('|');
      if (s !== prev) starts.add(`${device}\u0000${t}`);
      prev = s;
    }
  }
  const out = new Set<number>();
  readings.forEach((r, i) => {
    if (familyOf(r.mdc) === 'nibp' && starts.has(`${r.device}\u0000${r.t}`)) out.add(i);
  });
  return out;
}
