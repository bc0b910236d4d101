/**
 * Case timeline: the case's bed data from start to end (or now) — late binding, so data recorded
 * before the case was created is included. Numerics grouped per (device, parameter) as [t, value]
 * pairs; waves as blocks, only when the window is ≤ timeline.maxWaveWindowMs (default 5 min).
 */
import type { Case } from '../cases/case-store.js';
import { IngestError } from '../errors.js';
import type { SeriesReader, SeriesResult } from '../series/types.js';

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
  const res = await reader.query({
    bed: c.bedId, from, to, mdcs: o.params?.length ? o.params : undefined,
    kinds: withWaves ? ['numeric', 'wave', 'alarm', 'setting'] : ['numeric', 'alarm', 'setting'],
  });
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
