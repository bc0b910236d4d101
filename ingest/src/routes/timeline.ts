/**
 * Case timeline: the data of the case's beds from start to end (or now), each bed over its
 * binding window [from, to) — late binding, so data recorded before the case was created is
 * included; after a move the earlier bed's data up to the move, the later bed's from then on.
 * One series query per binding, merged: numerics grouped per (device, parameter) as [t, value]
 * pairs (a monitor that moved with the patient stays one series); waves as blocks, only when the
 * window is ≤ timeline.maxWaveWindowMs (default 5 min).
 */
import type { Case } from '../cases/case-store.js';
import { IngestError } from '../errors.js';
import type { SeriesQuery, SeriesReader, SeriesResult } from '../series/types.js';

export interface TimelineOptions { from?: number; to?: number; params?: string[]; maxWaveWindowMs: number; maxWindowMs: number; now: number }

export interface Timeline {
  case: Case;
  from: number;
  to: number;
  numerics: { mdc: string | null; code: number | null; vendorCode: string; unit: string; device: string; label?: string; points: [number, number | null][] }[];
  waves: { mdc: string | null; vendorCode: string; unit: string; device: string; rateHz: number; blocks: { t0: number; samples: (number | null)[] }[] }[];
  alarms: SeriesResult['alarms'];
  settings: SeriesResult['settings'];
  wavesOmitted?: string;
}

export async function caseTimeline(c: Case, reader: SeriesReader, o: TimelineOptions): Promise<Timeline> {
  const caseEnd = c.end ?? o.now;
  const from = Math.max(c.start, o.from ?? c.start);
  const to = Math.min(caseEnd, o.to ?? caseEnd);
  if (to < from) throw new IngestError('ING_ERR_BAD_REQUEST', 'data', 'window is empty or outside the case');
  if (to - from > o.maxWindowMs) throw new IngestError('ING_ERR_BAD_REQUEST', 'data', `window longer than ${o.maxWindowMs} ms`);
  const withWaves = to - from <= o.maxWaveWindowMs;
  const kinds: SeriesQuery['kinds'] = withWaves ? ['numeric', 'wave', 'alarm', 'setting'] : ['numeric', 'alarm', 'setting'];
  const mdcs = o.params?.length ? o.params : undefined;
  // bindings are half-open and times are integer ms: a binding ending at `to` holds data up to to - 1
  const windows = c.bindings
    .map((b) => ({ bed: b.bed, from: Math.max(from, b.from), to: b.to === null ? to : Math.min(to, b.to - 1) }))
    .filter((w) => w.to >= w.from);
  const parts = await Promise.all(windows.map((w) => reader.query({ ...w, mdcs, kinds })));
  const res: SeriesResult = {
    numerics: parts.flatMap((p) => p.numerics), waves: parts.flatMap((p) => p.waves),
    alarms: parts.flatMap((p) => p.alarms), settings: parts.flatMap((p) => p.settings),
  };
  const numerics = new Map<string, Timeline['numerics'][number]>();
  for (const n of res.numerics) {
    const key = `${n.device}\u0000${n.mdc ?? ''}\u0000${n.vendorCode}\u0000${n.label ?? ''}`;
    let g = numerics.get(key);
    if (!g) {
      g = { mdc: n.mdc, code: n.code, vendorCode: n.vendorCode, unit: n.unit, device: n.device, points: [] };
      if (n.label) g.label = n.label;
      numerics.set(key, g);
    }
    g.points.push([n.t, n.value]);
  }
  const waves = new Map<string, Timeline['waves'][number]>();
  for (const w of res.waves) {
    const key = `${w.device}\u0000${w.mdc ?? ''}\u0000${w.vendorCode}`;
    let g = waves.get(key);
    if (!g) waves.set(key, (g = { mdc: w.mdc, vendorCode: w.vendorCode, unit: w.unit, device: w.device, rateHz: w.rateHz, blocks: [] }));
    g.blocks.push({ t0: w.t0, samples: w.samples });
  }
  const out: Timeline = { case: c, from, to, numerics: [...numerics.values()], waves: [...waves.values()], alarms: res.alarms, settings: res.settings };
  if (!withWaves) out.wavesOmitted = `window ${to - from} ms exceeds ${o.maxWaveWindowMs} ms: request a shorter window for waves`;
  return out;
}
