/**
 * Wave block packing for the `wave.data` string field: integer samples as zigzag deltas
 * (first delta from 0), each an unsigned LEB128 varint, the bytes base64. Gaps (null samples)
 * carry delta 0 and are listed separately (the `gaps` field: comma-separated indexes).
 */
export function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

export function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/** ints must be safe integers; |delta| < 2^52 */
export function packInts(ints: readonly number[]): string {
  const bytes: number[] = [];
  let prev = 0;
  for (const v of ints) {
    let z = zigzag(v - prev);
    prev = v;
    while (z >= 0x80) {
      bytes.push((z % 0x80) | 0x80);
      z = Math.floor(z / 0x80);
    }
    bytes.push(z);
  }
  return Buffer.from(bytes).toString('base64');
}

export function unpackInts(data: string): number[] {
  const buf = Buffer.from(data, 'base64');
  const out: number[] = [];
  let acc = 0;
  let i = 0;
  while (i < buf.length) {
    let z = 0;
    let mul = 1;
    let b: number;
    let guard = 0;
    do {
      b = buf[i++];
      if (b === undefined) throw new Error('truncated varint in wave data');
      z += (b & 0x7f) * mul;
      mul *= 0x80;
      if (++guard > 8) throw new Error('varint too long in wave data');
    } while (b & 0x80);
    acc += unzigzag(z);
    out.push(acc);
  }
  return out;
}
