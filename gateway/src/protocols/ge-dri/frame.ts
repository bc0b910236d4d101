/**
 * DRI frame codec, symmetric and the only place that knows the checksum and the byte stuffing:
 *   0x7E | stuff( record || sum8(record) ) | 0x7E      with 0x7E → 7D 5E and 0x7D → 7D 5D.
 * The checksum is the 8-bit sum of the UNSTUFFED record bytes and is itself stuffed (README §Wire format).
 */
export const FLAG = 0x7e;
export const ESC = 0x7d;
export const ESC_XOR = 0x20;

export function sum8(bytes: Uint8Array, end = bytes.length): number {
  let s = 0;
  for (let i = 0; i < end; i++) s = (s + bytes[i]) & 0xff;
  return s;
}

/** Escapes 0x7E and 0x7D. */
export function stuff(bytes: Uint8Array): Buffer {
  let extra = 0;
  for (const b of bytes) if (b === FLAG || b === ESC) extra++;
  const out = Buffer.allocUnsafe(bytes.length + extra);
  let j = 0;
  for (const b of bytes) {
    if (b === FLAG || b === ESC) {
      out[j++] = ESC;
      out[j++] = b ^ ESC_XOR;
    } else out[j++] = b;
  }
  return out;
}

/** Reverses stuff(); null when an escape is dangling or escapes something that needed no escape. */
export function unstuff(bytes: Uint8Array): Buffer | null {
  const out = Buffer.allocUnsafe(bytes.length);
  let j = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === ESC) {
      if (i + 1 >= bytes.length) return null;
      const v = bytes[++i] ^ ESC_XOR;
      if (v !== FLAG && v !== ESC) return null;
      out[j++] = v;
    } else out[j++] = b;
  }
  return out.subarray(0, j);
}

/** 0x7E + stuff(record || sum8(record)) + 0x7E. */
export function frameRecord(record: Uint8Array): Buffer {
  const withSum = Buffer.allocUnsafe(record.length + 1);
  withSum.set(record, 0);
  withSum[record.length] = sum8(record);
  return Buffer.concat([Buffer.of(FLAG), stuff(withSum), Buffer.of(FLAG)]);
}

/** Body between two flags → the verified record without its checksum. */
export function unframe(stuffedBody: Uint8Array): { record: Buffer } | { error: 'checksum' | 'stuffing' | 'short' } {
  const u = unstuff(stuffedBody);
  if (!u) return { error: 'stuffing' };
  if (u.length < 2) return { error: 'short' };
  const n = u.length - 1;
  if (sum8(u, n) !== u[n]) return { error: 'checksum' };
  return { record: Buffer.from(u.subarray(0, n)) };
}
