/**
 * A real recording played as an endless, seamless loop at a device's rate: gaps filled, the last
 * `fadeS` seconds cross-faded into the first ones (so the wrap has no step), then resampled with
 * periodic linear interpolation. `next(n)` returns the following n samples, contiguous forever.
 */
import { fillGaps, resampleLinear } from '../wfdb/index.js';

export interface RecordedLoopOptions {
  fadeS?: number;
  startS?: number;
}

/** Cross-faded loop at the input rate: length n − fade, continuous across the wrap. */
export function makeLoop(x: Float64Array, fade: number): Float64Array {
  const n = x.length;
  const w = Math.max(0, Math.min(fade, Math.floor(n / 3)));
  if (w === 0) return Float64Array.from(x);
  const out = new Float64Array(n - w);
  out.set(x.subarray(w, n - w), 0);
  const tail = n - 2 * w;
  for (let j = 0; j < w; j++) {
    const a = (j + 1) / w;
    out[tail + j] = (1 - a) * x[n - w + j]! + a * x[j]!;
  }
  return out;
}

/** 2nd and 98th percentiles (robust amplitude of a waveform). */
export function robustRange(x: Float64Array): { lo: number; hi: number } {
  const s = Float64Array.from(x).sort();
  return { lo: s[Math.floor(s.length * 0.02)]!, hi: s[Math.min(s.length - 1, Math.floor(s.length * 0.98))]! };
}

export class RecordedLoop {
  readonly rateHz: number;
  readonly loop: Float64Array;
  private pos: number;

  constructor(samples: Float64Array, sourceHz: number, rateHz: number, opts: RecordedLoopOptions = {}) {
    this.rateHz = rateHz;
    const looped = makeLoop(fillGaps(samples), Math.round((opts.fadeS ?? 0.5) * sourceHz));
    this.loop = resampleLinear(looped, sourceHz, rateHz, { periodic: true });
    if (this.loop.length === 0) throw new RangeError('RecordedLoop: empty recording');
    this.pos = Math.round((opts.startS ?? 0) * rateHz) % this.loop.length;
  }

  /** Loop duration, seconds. */
  get periodS(): number {
    return this.loop.length / this.rateHz;
  }

  next(n: number): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = this.loop[this.pos]!;
      this.pos = this.pos + 1 === this.loop.length ? 0 : this.pos + 1;
    }
    return out;
  }
}
