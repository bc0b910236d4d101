/**
 * FLOAT-Type (README §Values): signed 8-bit exponent, signed 24-bit mantissa, value = m × 10^e.
 * Special values are never numbers: NaN, NRes, +INF, -INF (and the reserved 0x00800001).
 */
export type FloatSpecial = 'nan' | 'nres' | '+inf' | '-inf' | 'reserved';

export interface DecodedFloat {
  value: number | null;
  special?: FloatSpecial;
  /** Exponent: the resolution the monitor states (value has this many decimals when < 0). */
  exponent: number;
}

const SPECIAL: Record<number, FloatSpecial> = {
  0x007fffff: 'nan',
  0x00800000: 'nres',
  0x007ffffe: '+inf',
  0x00800002: '-inf',
  0x00800001: 'reserved',
};

export function decodeFloat(raw: number): DecodedFloat {
  const u = raw >>> 0;
  const special = SPECIAL[u];
  if (special) return { value: null, special, exponent: 0 };
  const exponent = ((u >>> 24) << 24) >> 24;
  const mantissa = ((u & 0xffffff) << 8) >> 8;
  // Decimal arithmetic: divide by 10^-e to avoid 0.1-style binary noise.
  const value = exponent >= 0 ? mantissa * 10 ** exponent : mantissa / 10 ** -exponent;
  return { value: Number(value.toPrecision(12)), exponent };
}

/** Encodes a value at a given exponent (resolution); null encodes NaN. */
export function encodeFloat(value: number | null, exponent = 0): number {
  if (value === null || !Number.isFinite(value)) return 0x007fffff;
  let m = Math.round(exponent >= 0 ? value / 10 ** exponent : value * 10 ** -exponent);
  let e = exponent;
  while ((m > 0x7ffffd || m < -0x7ffffd) && e < 127) {
    m = Math.round(m / 10);
    e++;
  }
  return (((e & 0xff) << 24) | (m & 0xffffff)) >>> 0;
}

/** Number of decimals needed to show a value at its exponent. */
export function decimalsOf(exponent: number): number {
  return exponent < 0 ? -exponent : 0;
}
