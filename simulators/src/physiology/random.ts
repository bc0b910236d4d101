/** Seeded, reproducible randomness: mulberry32 streams keyed by (seed, name). */

/** FNV-1a 32-bit hash of a string, mixed with a numeric seed. */
export function hashSeed(seed: number, key: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export class Rng {
  private s: number;
  private spare: number | undefined;
  constructor(seed: number) { this.s = seed >>> 0; }

  static keyed(seed: number, key: string): Rng { return new Rng(hashSeed(seed, key)); }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal (Box–Muller, pairs cached). */
  gauss(): number {
    if (this.spare !== undefined) { const v = this.spare; this.spare = undefined; return v; }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  int(lo: number, hiExclusive: number): number { return lo + Math.floor(this.next() * (hiExclusive - lo)); }
}
