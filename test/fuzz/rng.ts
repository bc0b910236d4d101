/**
 * Deterministic randomness for the fuzzer: every case is a pure function of (run seed, target,
 * case index), so the orchestrator can rebuild the input of a case a worker hung on, and a run can
 * be repeated exactly.
 */
export type Rng = () => number;

/** 32-bit FNV-1a of a string (target names → numbers). */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** mulberry32: small, fast, good enough to drive mutations. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** The generator of case `index` of `target` in a run seeded `seed`. */
export function caseRng(seed: number, target: string, index: number): Rng {
  // splitmix-style mixing so that neighbouring indices give unrelated streams
  let z = (seed ^ hash32(target) ^ Math.imul(index, 0x9e3779b1)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return rng((z ^ (z >>> 16)) + Math.floor(index / 4294967296));
}

/** Integer in [min, max]. */
export const int = (r: Rng, min: number, max: number): number => min + Math.floor(r() * (max - min + 1));
export const pick = <T>(r: Rng, list: readonly T[]): T => list[Math.floor(r() * list.length)];
export const chance = (r: Rng, p: number): boolean => r() < p;

/** Picks by weight: `weights[i]` for `items[i]`. */
export function weighted<T>(r: Rng, items: readonly (readonly [T, number])[]): T {
  let total = 0;
  for (const [, w] of items) total += w;
  let x = r() * total;
  for (const [v, w] of items) {
    x -= w;
    if (x < 0) return v;
  }
  return items[items.length - 1][0];
}
