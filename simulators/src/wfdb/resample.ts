/**
 * Linear-interpolation resampling from a record's rate to a device's rate. NaN samples are
 * bridged by their nearest valid neighbour, never propagated into valid output.
 */

export interface ResampleOptions {
  /** Treat the input as one period of a loop: the sample after the last is the first. */
  periodic?: boolean;
}

/** Output length for `n` input samples: n × toHz / fromHz, rounded. */
export function resampledLength(n: number, fromHz: number, toHz: number): number {
  return Math.max(0, Math.round((n * toHz) / fromHz));
}

export function resampleLinear(x: ArrayLike<number>, fromHz: number, toHz: number, opts: ResampleOptions = {}): Float64Array {
  if (!(fromHz > 0) || !(toHz > 0)) throw new RangeError('resampleLinear: rates must be > 0');
  const n = x.length;
  const m = resampledLength(n, fromHz, toHz);
  const out = new Float64Array(m);
  if (n === 0) return out;
  const ratio = fromHz / toHz;
  for (let j = 0; j < m; j++) {
    const pos = j * ratio;
    let i0 = Math.floor(pos);
    const f = pos - i0;
    let i1 = i0 + 1;
    if (opts.periodic) {
      i0 %= n;
      i1 %= n;
    } else {
      if (i0 >= n - 1) {
        i0 = n - 1;
        i1 = n - 1;
      }
    }
    const a = x[i0]!;
    const b = x[i1]!;
    out[j] = Number.isNaN(a) ? b : Number.isNaN(b) ? a : a + (b - a) * f;
  }
  return out;
}

/** Replace NaN runs by the last valid value (leading NaNs take the first valid value). */
export function fillGaps(x: Float64Array): Float64Array {
  const out = Float64Array.from(x);
  const first = out.findIndex((v) => !Number.isNaN(v));
  if (first < 0) return out.fill(0);
  for (let i = 0; i < first; i++) out[i] = out[first]!;
  for (let i = first + 1; i < out.length; i++) if (Number.isNaN(out[i]!)) out[i] = out[i - 1]!;
  return out;
}
