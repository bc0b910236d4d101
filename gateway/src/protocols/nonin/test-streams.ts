/**
 * Test helper only: seeded Nonin streams built with the encoder the simulator uses (encode.ts),
 * re-chunking, and decoding them chunk by chunk. Values wander (HR across 127/128 and 255/256 so
 * both HR bytes change, SpO2 with missing markers), status bits come and go (artifact, sensor off
 * with a flat pleth), so detection sees more than one easy pattern.
 */
import type { Observation } from '../../../../schemas/src/observation.js';
import { randInt, rng } from '../ge-dri/test-rng.js';
import { encodePacket, encodeSecond } from './encode.js';
import { STATUS, type DataFormat } from './frame.js';

export interface Chunk {
  bytes: Buffer;
  rx?: number;
}

/** `n` packets (#2/#7, 1/3 s each) or seconds (#8) of a plausible oximeter. */
export function stream(format: DataFormat, n: number, seed: number): Buffer {
  const r = rng(seed);
  const out: Buffer[] = [];
  let hr = randInt(r, 60, 250);
  let spo2 = randInt(r, 88, 100);
  for (let i = 0; i < n; i++) {
    hr = Math.max(30, Math.min(300, hr + randInt(r, -9, 9)));
    spo2 = Math.max(70, Math.min(100, spo2 + randInt(r, -1, 1)));
    const off = i % 11 === 7;
    const status = STATUS.ALWAYS | (off ? STATUS.SNSD : STATUS.GPRF) | (i % 5 === 3 ? STATUS.ARTF : 0);
    const v = off
      ? {}
      : { HR: hr, SPO2: i % 13 === 5 ? null : spo2, SPO2_D: spo2, SPO2_FAST: spo2, SPO2_BB: spo2, EHR: hr, ESPO2: spo2, ESPO2_D: spo2, HR_D: hr, EHR_D: hr };
    if (format === 8) out.push(encodeSecond(v, status));
    else {
      const max = format === 2 ? 255 : 65535;
      const pleth = Array.from({ length: 25 }, (_, k) => (off ? 0 : Math.round(max * (0.5 + 0.4 * Math.sin((i * 25 + k) / 9)) + randInt(r, -2, 2))));
      out.push(encodePacket(format, v, pleth, status, 0x30 + (i % 3)));
    }
  }
  return Buffer.concat(out);
}

/** Seeded random bytes. */
export function noise(n: number, seed: number, lo = 0, hi = 255): Buffer {
  const r = rng(seed);
  return Buffer.from(Array.from({ length: n }, () => randInt(r, lo, hi)));
}

/** Cuts `b` into chunks of 1..max bytes; rx (when given) advances 1 ms per byte. */
export function rechunk(b: Buffer, seed: number, max: number, rx0?: number): Chunk[] {
  const r = rng(seed);
  const out: Chunk[] = [];
  for (let i = 0; i < b.length;) {
    const n = randInt(r, 1, max);
    out.push({ bytes: b.subarray(i, i + n), ...(rx0 === undefined ? {} : { rx: rx0 + i + n }) });
    i += n;
  }
  return out;
}

export function decodeChunks(dec: { push(c: Uint8Array, rx?: number): Observation[] }, chunks: Chunk[]): Observation[] {
  return chunks.flatMap((c) => dec.push(c.bytes, c.rx));
}

/** What a reading says, without its time (streams decoded in pieces restart their frame clock). */
export const gist = (o: Observation): string =>
  o.kind === 'numeric'
    ? `${o.vendorCode}=${o.value}`
    : o.kind === 'wave'
      ? `${o.vendorCode}:${o.samples.join(',')}`
      : o.kind === 'alarm'
        ? `${o.vendorCode} ${o.phase}`
        : o.kind;
