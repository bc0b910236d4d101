/**
 * Nonin serial frame codec for data formats 2, 7 and 8, symmetric (the simulator encodes with it)
 * and the only place that knows frame shapes and checksums (README.md §Frames, docs/protocols/nonin.md):
 *   #2: 01 | STATUS | PLETH | DATA | CHK      CHK = (01 + STATUS + PLETH + DATA) & FF, 75 frames/s
 *   #7: STATUS | PLETH_MSB | PLETH_LSB | DATA | CHK   CHK = sum of the 4 bytes & FF (16-bit pleth)
 *   #8: STATUS | HR_MSB | HR_LSB | SPO2       1 frame/s, no checksum (bit 7 set only in STATUS)
 * STATUS bit 7 is always 1; bit 0 (SYNC) marks frame 1 of a 25-frame packet (#2/#7).
 */
export type DataFormat = 2 | 7 | 8;
export const DATA_FORMATS: readonly DataFormat[] = [2, 7, 8];

export interface NoninFrame {
  status: number;
  pleth: number;
  data: number;
}
export interface Format8Frame {
  status: number;
  hrMsb: number;
  hrLsb: number;
  spo2: number;
}

export const FRAME_SIZE: Record<DataFormat, number> = { 2: 5, 7: 5, 8: 4 };
export const STATUS = { ALWAYS: 0x80, SNSD: 0x40, ARTF: 0x20, OOT: 0x10, SNSA: 0x08, RPRF: 0x04, GPRF: 0x02, SYNC: 0x01 } as const;
export const FRAMES_PER_PACKET = 25;
export const FRAME_RATE_HZ = 75;
export const HR_MISSING = 511;
export const SPO2_MISSING = 127;

const sum = (b: Uint8Array, from: number, to: number): number => {
  let s = 0;
  for (let i = from; i < to; i++) s = (s + b[i]) & 0xff;
  return s;
};

export function encodeFrame(format: 2 | 7, f: NoninFrame): Buffer {
  const b =
    format === 2
      ? Buffer.from([0x01, f.status | 0x80, f.pleth & 0xff, f.data & 0xff, 0])
      : Buffer.from([f.status | 0x80, (f.pleth >> 8) & 0xff, f.pleth & 0xff, f.data & 0xff, 0]);
  b[4] = sum(b, 0, 4);
  return b;
}

export function encodeFormat8(f: Format8Frame): Buffer {
  return Buffer.from([f.status | 0x80, f.hrMsb & 0x7f, f.hrLsb & 0x7f, f.spo2 & 0x7f]);
}

/** Checks the frame at `b[at..]`: 'ok', 'checksum' (shape fits, sum does not) or 'no-frame'. */
export function checkFrame(format: DataFormat, b: Uint8Array, at: number): 'ok' | 'checksum' | 'no-frame' {
  if (format === 8) return b[at] & 0x80 && !(b[at + 1] & 0x80) && !(b[at + 2] & 0x80) && !(b[at + 3] & 0x80) ? 'ok' : 'no-frame';
  if (format === 2 && b[at] !== 0x01) return 'no-frame';
  const st = format === 2 ? b[at + 1] : b[at];
  if (!(st & 0x80)) return 'no-frame';
  return sum(b, at, at + 4) === b[at + 4] ? 'ok' : 'checksum';
}

/** STATUS byte of the #2/#7 frame at `b[at..]`. */
export function frameStatus(format: 2 | 7, b: Uint8Array, at: number): number {
  return format === 2 ? b[at + 1] : b[at];
}

/**
 * A #8 frame that could come from a device: the shape fits and the values are in range (HR is 9
 * bits, so HR_MSB <= 3; SpO2 0..100 or the missing marker 127). #8 has no checksum: stream format
 * detection uses this stricter test, the #8 framer only the shape.
 */
export function plausibleFormat8(b: Uint8Array, at: number): boolean {
  return checkFrame(8, b, at) === 'ok' && b[at + 1] <= 0x03 && (b[at + 3] <= 100 || b[at + 3] === SPO2_MISSING);
}

export function readFrame(format: 2 | 7, b: Uint8Array, at: number): NoninFrame {
  return format === 2 ? { status: b[at + 1], pleth: b[at + 2], data: b[at + 3] } : { status: b[at], pleth: (b[at + 1] << 8) | b[at + 2], data: b[at + 3] };
}

export function readFormat8(b: Uint8Array, at: number): Format8Frame {
  return { status: b[at], hrMsb: b[at + 1], hrLsb: b[at + 2], spo2: b[at + 3] };
}

/** Heart rate from its two bytes: 9-bit (#2, #8: MSB bits 0–1, LSB bits 0–6) or 16-bit (#7). */
export function combineHr(msb: number, lsb: number, mode: '9bit' | '16bit'): number {
  return mode === '9bit' ? ((msb & 0x03) << 7) | (lsb & 0x7f) : ((msb << 8) | lsb) & 0xffff;
}

export function splitHr(hr: number, mode: '9bit' | '16bit'): [number, number] {
  return mode === '9bit' ? [(hr >> 7) & 0x03, hr & 0x7f] : [(hr >> 8) & 0xff, hr & 0xff];
}

/** Host command (3150 / Onyx): STX op len data… ETX; op 0x70 selects the data format. */
export const STX = 0x02;
export const ETX = 0x03;
export const ACK = 0x06;
export const NAK = 0x15;
export const OP_SELECT_FORMAT = 0x70;

export function encodeSelectFormat(format: DataFormat, prefix = 0x02): Buffer {
  return Buffer.from([STX, OP_SELECT_FORMAT, 0x02, prefix & 0xff, format, ETX]);
}

/** The format a select-format command asks for, or undefined if `b` is not one. */
export function parseSelectFormat(b: Uint8Array): number | undefined {
  if (b.length !== 6 || b[0] !== STX || b[1] !== OP_SELECT_FORMAT || b[2] !== 0x02 || b[5] !== ETX) return undefined;
  return b[4];
}
