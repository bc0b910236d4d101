/**
 * Inverse of the Nonin decoder (simulator, round-trip tests): one packet of values → wire bytes.
 * #2/#7: 25 frames, DATA slots as decoder.ts reads them, SYNC on frame 1, `status` on every frame;
 * #8: one 4-byte frame. null → the missing marker (HR 511, SpO2 127).
 */
import { encodeFormat8, encodeFrame, FRAMES_PER_PACKET, HR_MISSING, SPO2_MISSING, splitHr, STATUS } from './frame.js';

export type NoninValues = Partial<Record<'HR' | 'SPO2' | 'SPO2_D' | 'SPO2_FAST' | 'SPO2_BB' | 'EHR' | 'ESPO2' | 'ESPO2_D' | 'HR_D' | 'EHR_D', number | null>>;

const HR_SLOTS: [keyof NoninValues, number][] = [
  ['HR', 1],
  ['EHR', 14],
  ['HR_D', 20],
  ['EHR_D', 22],
];
const SPO2_SLOTS: [keyof NoninValues, number][] = [
  ['SPO2', 3],
  ['SPO2_D', 9],
  ['SPO2_FAST', 10],
  ['SPO2_BB', 11],
  ['ESPO2', 16],
  ['ESPO2_D', 17],
];

export function encodePacket(
  format: 2 | 7,
  v: NoninValues,
  pleth: readonly number[],
  status: number,
  firmware = 0x30,
  hrMode: '9bit' | '16bit' = format === 7 ? '16bit' : '9bit',
): Buffer {
  const data = new Array<number>(FRAMES_PER_PACKET + 1).fill(0);
  for (const [k, at] of HR_SLOTS) [data[at], data[at + 1]] = splitHr(v[k] ?? HR_MISSING, hrMode);
  for (const [k, at] of SPO2_SLOTS) data[at] = (v[k] ?? SPO2_MISSING) & 0x7f;
  data[4] = firmware & 0xff;
  const frames: Buffer[] = [];
  for (let n = 1; n <= FRAMES_PER_PACKET; n++) {
    const st = (status & ~STATUS.SYNC) | STATUS.ALWAYS | (n === 1 ? STATUS.SYNC : 0);
    frames.push(encodeFrame(format, { status: st, pleth: pleth[n - 1] ?? 0, data: data[n] }));
  }
  return Buffer.concat(frames);
}

export function encodeSecond(v: { HR?: number | null; SPO2?: number | null }, status: number): Buffer {
  const [hrMsb, hrLsb] = splitHr(v.HR ?? HR_MISSING, '9bit');
  return encodeFormat8({ status: (status & ~STATUS.SYNC) | STATUS.ALWAYS, hrMsb, hrLsb, spo2: (v.SPO2 ?? SPO2_MISSING) & 0x7f });
}
