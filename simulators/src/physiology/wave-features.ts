/**
 * Small, independent measurements on sampled waves, used to check the synthetic model against the
 * physiology it claims (R peaks → heart rate, per-beat extremes, breath peaks). They know nothing
 * of how the waves are made: a threshold-and-refractory peak picker and local extremum helpers.
 */

/**
 * Indices of peaks: local maxima above `fraction` of the way from the median to the maximum of
 * x, at least `refractoryS` apart (of two peaks closer than that, the higher one wins).
 */
export function findPeaks(x: ArrayLike<number>, rateHz: number, opts: { fraction?: number; refractoryS?: number } = {}): number[] {
  const n = x.length;
  if (n < 3) return [];
  const sorted = Float64Array.from(x as ArrayLike<number>).sort();
  const med = sorted[Math.floor(n / 2)]!;
  const max = sorted[n - 1]!;
  const thr = med + (opts.fraction ?? 0.6) * (max - med);
  const gap = Math.max(1, Math.round((opts.refractoryS ?? 0.25) * rateHz));
  const peaks: number[] = [];
  for (let i = 1; i < n - 1; i++) {
    const v = x[i]!;
    if (v < thr || v < x[i - 1]! || v < x[i + 1]!) continue;
    const last = peaks[peaks.length - 1];
    if (last !== undefined && i - last < gap) {
      if (v > x[last]!) peaks[peaks.length - 1] = i;
      continue;
    }
    peaks.push(i);
  }
  return peaks;
}

/** Heart rate (/min) from successive peak indices: mean of 60/RR, and the RR intervals in ms. */
export function rateFromPeaks(peaks: number[], rateHz: number): { rate: number; rrMs: number[] } {
  const rrMs: number[] = [];
  for (let i = 1; i < peaks.length; i++) rrMs.push(((peaks[i]! - peaks[i - 1]!) * 1000) / rateHz);
  const rate = rrMs.length ? rrMs.reduce((a, b) => a + 60_000 / b, 0) / rrMs.length : NaN;
  return { rate, rrMs };
}

export function mean(a: readonly number[]): number {
  return a.reduce((s, v) => s + v, 0) / a.length;
}

export function sd(a: readonly number[]): number {
  const m = mean(a);
  return Math.sqrt(a.reduce((s, v) => s + (v - m) * (v - m), 0) / Math.max(1, a.length - 1));
}

/** Index of the maximum (or minimum) of x in [from, to). */
export function argExtreme(x: ArrayLike<number>, from: number, to: number, kind: 'max' | 'min'): number {
  let best = Math.max(0, from);
  for (let i = best + 1; i < Math.min(to, x.length); i++) {
    if (kind === 'max' ? x[i]! > x[best]! : x[i]! < x[best]!) best = i;
  }
  return best;
}

/** Indices in (from, to) where x has a strict local minimum followed (later in the range) by a local maximum. */
export function notchAfter(x: ArrayLike<number>, from: number, to: number): { min: number; max: number } | null {
  for (let i = from + 1; i < Math.min(to, x.length - 1); i++) {
    if (!(x[i]! < x[i - 1]! && x[i]! <= x[i + 1]!)) continue;
    for (let j = i + 1; j < Math.min(to, x.length - 1); j++) {
      if (x[j]! > x[j - 1]! && x[j]! >= x[j + 1]!) return { min: i, max: j };
    }
    return null;
  }
  return null;
}
