/**
 * Wave block shaping for the wire (docs/gateway.md §Batching): contiguous fragments of one channel within a
 * publish interval are merged, then cut into blocks of at most 1 s (floor(rateHz) samples).
 */
import type { WaveObs } from '../../../schemas/src/observation.js';

function key(w: WaveObs): string {
  return [w.vendorCode, w.mdc, w.unit, w.rateHz, w.scale, w.offset, w.label ?? '', (w.flags ?? []).join('|')].join('\u0000');
}

/** Merge fragments whose t0 continues the previous one within one sample period. */
export function mergeWaves(waves: readonly WaveObs[]): WaveObs[] {
  const out: WaveObs[] = [];
  const open = new Map<string, WaveObs>();
  for (const w of waves) {
    if (!(w.rateHz > 0) || w.samples.length === 0) {
      out.push(w);
      continue;
    }
    const k = key(w);
    const prev = open.get(k);
    const period = 1000 / w.rateHz;
    if (prev && Math.abs(prev.t0 + prev.samples.length * period - w.t0) <= period) {
      prev.samples = prev.samples.concat(w.samples);
      continue;
    }
    const copy: WaveObs = { ...w, samples: [...w.samples] };
    open.set(k, copy);
    out.push(copy);
  }
  return out;
}

/** Cut a wave into blocks of at most one second; t0 of each block follows from the rate. */
export function splitWave(w: WaveObs): WaveObs[] {
  const max = Math.max(1, Math.floor(w.rateHz));
  if (!(w.rateHz > 0) || w.samples.length <= max) return [w];
  const out: WaveObs[] = [];
  for (let i = 0; i < w.samples.length; i += max) {
    out.push({ ...w, t0: w.t0 + Math.round((i * 1000) / w.rateHz), samples: w.samples.slice(i, i + max) });
  }
  return out;
}

export function shapeWaves(waves: readonly WaveObs[]): WaveObs[] {
  return mergeWaves(waves).flatMap(splitWave);
}
