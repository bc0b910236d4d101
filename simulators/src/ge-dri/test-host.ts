/**
 * A minimal DRI host for tests (not used in production): sends framed requests with the codec,
 * collects the monitor's records through the codec's DriFramer, and decodes them with the layout
 * divisors alone (independent of the gateway's profile mapping).
 */
import type { Duplex } from 'node:stream';
import { DriFramer, PHDB_LAYOUT, WAVES, encodePhdbRequest, encodeWaveRequest, frameRecord, type PhdbClass } from './codec.js';
import { physical } from './truth.js';

export interface DecodedNumeric {
  vendorCode: string;
  cls: PhdbClass;
  raw: number;
  value: number;
  t: number;
  label: number;
}
export interface DecodedWave {
  waveId: number;
  rTime: number;
  recNbr: number;
  label: number;
  raw: number[];
  samples: number[];
}
export interface HostRecord {
  len: number;
  recNbr: number;
  driLevel: number;
  time: number;
  mainType: number;
  sr: { offset: number; type: number }[];
  bytes: Buffer;
}

const CLASSES: PhdbClass[] = ['basic', 'ext1', 'ext2', 'ext3'];

export function readRecordHeader(b: Buffer): HostRecord {
  const sr: { offset: number; type: number }[] = [];
  for (let i = 0; i < 8; i++) {
    const type = b.readUInt8(18 + 3 * i);
    if (type === 0xff) break;
    sr.push({ offset: b.readInt16LE(16 + 3 * i), type });
  }
  return { len: b.readInt16LE(0), recNbr: b.readUInt8(2), driLevel: b.readUInt8(3), time: b.readUInt32LE(6), mainType: b.readInt16LE(14), sr, bytes: b };
}

/** Valid numerics of a PHDB record: active groups only, special values (< −32000) skipped. */
export function decodePhdbNumerics(rec: HostRecord): DecodedNumeric[] {
  const out: DecodedNumeric[] = [];
  for (const s of rec.sr) {
    const base = 40 + s.offset;
    const cls = CLASSES[(rec.bytes.readUInt16LE(base + 276) >> 8) & 3]!;
    let first: number | undefined;
    for (const g of PHDB_LAYOUT[cls]) {
      const start = base + 4 + g.offset;
      const status = g.hasHeader ? rec.bytes.readUInt32LE(start) : (first ?? 0);
      first ??= status;
      if ((status & 3) !== 3) continue;
      const label = g.hasHeader ? rec.bytes.readUInt16LE(start + 4) : 0;
      for (const f of g.fields) {
        const raw = rec.bytes.readInt16LE(start + f.offset);
        if (raw < -32000) continue;
        out.push({ vendorCode: `${g.name}.${f.name}`, cls, raw, value: physical(raw, f.divisor), t: rec.time * 1000, label });
      }
    }
  }
  return out;
}

export function decodeWaves(rec: HostRecord): DecodedWave[] {
  return rec.sr.map((s) => {
    const base = 40 + s.offset;
    const n = rec.bytes.readInt16LE(base);
    const raw = Array.from({ length: n }, (_, i) => rec.bytes.readInt16LE(base + 6 + 2 * i));
    const div = WAVES[s.type]?.divisor ?? 1;
    return { waveId: s.type, rTime: rec.time, recNbr: rec.recNbr, label: rec.bytes.readUInt16LE(base + 4), raw, samples: raw.map((r) => physical(r, div)) };
  });
}

export class TestHost {
  readonly framer = new DriFramer();
  readonly records: HostRecord[] = [];
  readonly chunks: Buffer[] = [];
  bytes = 0;
  constructor(private readonly link: Duplex) {
    link.on('data', (c: Buffer) => {
      this.bytes += c.length;
      this.chunks.push(c);
      for (const r of this.framer.push(c)) this.records.push(readRecordHeader(r));
    });
  }
  send(bytes: Uint8Array): void {
    this.link.write(bytes);
  }
  requestPhdb(intervalS: number, classMask = 0x0e, driLevel = 9): void {
    this.send(frameRecord(encodePhdbRequest({ recordType: 1, intervalS, classMask, driLevel })));
  }
  requestWaves(waveIds: number[], reqType: 0 | 1 | 2 = 0, driLevel = 9): void {
    this.send(frameRecord(encodeWaveRequest({ reqType, waveIds, driLevel })));
  }
  phdbRecords(): HostRecord[] {
    return this.records.filter((r) => r.mainType === 0);
  }
  waveRecords(): HostRecord[] {
    return this.records.filter((r) => r.mainType === 1);
  }
}
