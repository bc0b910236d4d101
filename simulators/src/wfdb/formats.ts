/**
 * WFDB sample storage formats, decoded to plain integers (adc units). One function per format,
 * each reading `count` consecutive samples of the interleaved stream starting at `offset`.
 * The format's "invalid sample" value (WFDB_INVALID_SAMPLE for that width) is kept as is; the
 * caller turns it into NaN.
 */
import { SIM_ERR, SimError } from '../errors.js';

/** The adc value each format uses for "no sample" (the most negative value of its width). */
export const INVALID_ADC: Record<number, number> = { 212: -2048, 16: -32768, 61: -32768, 80: -128, 24: -8388608, 32: -2147483648 };

export const SUPPORTED_FORMATS = Object.keys(INVALID_ADC).map(Number);

/** Bytes needed for `count` samples (212 packs two samples in three bytes). */
export function bytesFor(format: number, count: number): number {
  switch (format) {
    case 212:
      return Math.ceil(count * 1.5);
    case 16:
    case 61:
      return count * 2;
    case 80:
      return count;
    case 24:
      return count * 3;
    case 32:
      return count * 4;
    default:
      throw new SimError(SIM_ERR.WFDB_FORMAT, `WFDB format ${format} is not supported`, { kind: 'data' });
  }
}

/** How many whole samples `byteLength` bytes hold. */
export function samplesIn(format: number, byteLength: number): number {
  switch (format) {
    case 212:
      return Math.floor(byteLength / 3) * 2 + (byteLength % 3 >= 2 ? 1 : 0);
    case 16:
    case 61:
      return Math.floor(byteLength / 2);
    case 80:
      return byteLength;
    case 24:
      return Math.floor(byteLength / 3);
    case 32:
      return Math.floor(byteLength / 4);
    default:
      throw new SimError(SIM_ERR.WFDB_FORMAT, `WFDB format ${format} is not supported`, { kind: 'data' });
  }
}

function sext(v: number, bits: number): number {
  const shift = 32 - bits;
  return (v << shift) >> shift;
}

/** Decode `count` samples of `format` from `buf` at byte `offset`. */
export function decodeSamples(format: number, buf: Uint8Array, offset: number, count: number): Int32Array {
  const need = bytesFor(format, count);
  if (offset + need > buf.length) {
    throw new SimError(SIM_ERR.WFDB_FILE, `signal file too short: need ${offset + need} bytes, have ${buf.length}`, { kind: 'data' });
  }
  const out = new Int32Array(count);
  const b = buf;
  let p = offset;
  switch (format) {
    case 212:
      // pairs: byte0 = low 8 bits of s0; byte1 = hi nibble of s1 << 4 | hi nibble of s0; byte2 = low 8 bits of s1
      for (let i = 0; i < count; i += 2, p += 3) {
        out[i] = sext(b[p]! | ((b[p + 1]! & 0x0f) << 8), 12);
        if (i + 1 < count) out[i + 1] = sext(b[p + 2]! | ((b[p + 1]! & 0xf0) << 4), 12);
      }
      break;
    case 16:
      for (let i = 0; i < count; i++, p += 2) out[i] = sext(b[p]! | (b[p + 1]! << 8), 16);
      break;
    case 61:
      for (let i = 0; i < count; i++, p += 2) out[i] = sext((b[p]! << 8) | b[p + 1]!, 16);
      break;
    case 80:
      for (let i = 0; i < count; i++, p++) out[i] = b[p]! - 128;
      break;
    case 24:
      for (let i = 0; i < count; i++, p += 3) out[i] = sext(b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16), 24);
      break;
    case 32:
      for (let i = 0; i < count; i++, p += 4) out[i] = b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
      break;
    default:
      throw new SimError(SIM_ERR.WFDB_FORMAT, `WFDB format ${format} is not supported`, { kind: 'data' });
  }
  return out;
}

/** Inverse of decodeSamples, for hand-made test buffers and fixtures. */
export function encodeSamples(format: number, values: ArrayLike<number>): Uint8Array {
  const n = values.length;
  const out = new Uint8Array(bytesFor(format, n));
  let p = 0;
  switch (format) {
    case 212:
      for (let i = 0; i < n; i += 2, p += 3) {
        const a = values[i]! & 0xfff;
        const c = i + 1 < n ? values[i + 1]! & 0xfff : 0;
        out[p] = a & 0xff;
        out[p + 1] = ((a >> 8) & 0x0f) | ((c >> 4) & 0xf0);
        if (i + 1 < n) out[p + 2] = c & 0xff;
      }
      break;
    case 16:
      for (let i = 0; i < n; i++, p += 2) {
        out[p] = values[i]! & 0xff;
        out[p + 1] = (values[i]! >> 8) & 0xff;
      }
      break;
    case 61:
      for (let i = 0; i < n; i++, p += 2) {
        out[p] = (values[i]! >> 8) & 0xff;
        out[p + 1] = values[i]! & 0xff;
      }
      break;
    case 80:
      for (let i = 0; i < n; i++) out[i] = (values[i]! + 128) & 0xff;
      break;
    case 24:
      for (let i = 0; i < n; i++, p += 3) {
        const v = values[i]!;
        out[p] = v & 0xff;
        out[p + 1] = (v >> 8) & 0xff;
        out[p + 2] = (v >> 16) & 0xff;
      }
      break;
    case 32:
      for (let i = 0; i < n; i++, p += 4) {
        const v = values[i]!;
        out[p] = v & 0xff;
        out[p + 1] = (v >> 8) & 0xff;
        out[p + 2] = (v >> 16) & 0xff;
        out[p + 3] = (v >>> 24) & 0xff;
      }
      break;
    default:
      throw new SimError(SIM_ERR.WFDB_FORMAT, `WFDB format ${format} is not supported`, { kind: 'data' });
  }
  return out;
}

/**
 * MATLAB v4 header of a WFDB `.mat` file (`16+24`): int16 little-endian full matrix, nsig rows,
 * nsamples columns, column-major, i.e. the same interleaving as format 16. Returns the header size.
 */
export function parseMatV4Header(buf: Uint8Array): { rows: number; cols: number; headerBytes: number; name: string } {
  if (buf.length < 20) throw new SimError(SIM_ERR.WFDB_FILE, '.mat file shorter than its header', { kind: 'data' });
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const type = dv.getInt32(0, true);
  // MOPT: M=0 little-endian IEEE, O=0, P=3 int16, T=0 full matrix → 30
  if (type !== 30) throw new SimError(SIM_ERR.WFDB_FORMAT, `.mat type ${type} is not a little-endian int16 matrix`, { kind: 'data' });
  const rows = dv.getInt32(4, true);
  const cols = dv.getInt32(8, true);
  const imag = dv.getInt32(12, true);
  const nameLen = dv.getInt32(16, true);
  if (imag !== 0 || nameLen < 1 || nameLen > 64 || 20 + nameLen > buf.length) {
    throw new SimError(SIM_ERR.WFDB_FORMAT, '.mat header is not a WFDB signal matrix', { kind: 'data' });
  }
  const name = Buffer.from(buf.subarray(20, 20 + nameLen - 1)).toString('latin1');
  return { rows, cols, headerBytes: 20 + nameLen, name };
}
