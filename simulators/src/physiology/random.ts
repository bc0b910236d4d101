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
  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  static keyed(seed: number, key: string): Rng {
    return new Rng(hashSeed(seed, key));
  }

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
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  int(lo: number, hiExclusive: number): number {
    return lo + Math.floor(this.next() * (hiExclusive - lo));
  }
}

function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** 32-bit hash of (seed, stream, i); `i` may exceed 32 bits (times in ms, grid indices). */
function hash3(seed: number, stream: number, i: number): number {
  const hi = Math.floor(i / 4294967296) >>> 0;
  let h = mix32((seed >>> 0) ^ Math.imul(stream | 0, 0x9e3779b9));
  h = mix32(h ^ (i >>> 0));
  return mix32(h ^ hi ^ 0x27d4eb2d);
}

/**
 * Uniform in [0, 1) as a pure function of (seed, stream, i): random access and no state, so a
 * value keyed by time is the same whoever asks for it and in whatever order.
 */
export function hashUnit(seed: number, stream: number, i: number): number {
  return hash3(seed, stream, i) / 4294967296;
}

/** Zero-mean, unit-variance noise at grid point i of a stream: triangular, from the two 16-bit halves of one hash. */
export function hashNoise(seed: number, stream: number, i: number): number {
  const h = hash3(seed, stream, i);
  return (((h >>> 16) + (h & 0xffff)) / 65536 - 1) * Math.sqrt(6);
}
