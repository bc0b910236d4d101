/**
 * Host → monitor requests (README §Wire format), encoded and parsed here so the gateway session and the
 * simulator share one definition. All records are UNFRAMED; frame them with frameRecord().
 *   PHDB: 40-byte header (r_len 49, maintype 0, sr_desc[0] = {0, 0}) + phdb_req
 *         { u8 phdb_rcrd_type; i16 tx_interval (0 = stop, -1 = once); u32 phdb_class_bf; i16 reserved }
 *   WAVE: 40-byte header (r_len 72, maintype 1, sr_desc[0] = {0, 0}) + wf_req
 *         { i16 req_type; i16 res; u8 type[8] (0xFF-terminated); i16 reserved[10] }
 */
import { readHeader, writeHeader } from './header.js';
import { HEADER_SIZE, MAIN_TYPE, SR_EOL } from './layout.js';

export type HostRequest =
  | { kind: 'phdb'; recordType: 1 | 2 | 3; intervalS: number; classMask: number; driLevel: number }
  | { kind: 'wave'; reqType: 0 | 1 | 2; waveIds: number[]; driLevel: number }
  | { kind: 'other'; mainType: number };

export const PHDB_REQUEST_LEN = 49;
export const WAVE_REQUEST_LEN = 72;
export const WF_REQ = { contStart: 0, contStop: 1, timedStart: 2 } as const;
/** phdb_class_bf bits: basic is sent unless DENY; 0x0E = ext1|ext2|ext3. */
export const CLASS_BIT = { denyBasic: 0x1, ext1: 0x2, ext2: 0x4, ext3: 0x8 } as const;
export const MAX_WAVES_PER_REQUEST = 8;

export function encodePhdbRequest(o: { recordType: 1 | 2 | 3; intervalS: number; classMask: number; driLevel: number }): Buffer {
  const buf = Buffer.alloc(PHDB_REQUEST_LEN);
  writeHeader(buf, {
    len: PHDB_REQUEST_LEN,
    recNbr: 0,
    driLevel: o.driLevel,
    plugId: 0,
    time: 0,
    mainType: MAIN_TYPE.phdb,
    subrecords: [{ offset: 0, type: 0 }],
  });
  buf.writeUInt8(o.recordType, HEADER_SIZE);
  buf.writeInt16LE(o.intervalS, HEADER_SIZE + 1);
  buf.writeUInt32LE(o.classMask >>> 0, HEADER_SIZE + 3);
  return buf;
}

export function encodeWaveRequest(o: { reqType: 0 | 1 | 2; waveIds: number[]; driLevel: number }): Buffer {
  if (o.waveIds.length > MAX_WAVES_PER_REQUEST) throw new RangeError(`at most ${MAX_WAVES_PER_REQUEST} waveforms per request`);
  const buf = Buffer.alloc(WAVE_REQUEST_LEN);
  writeHeader(buf, {
    len: WAVE_REQUEST_LEN,
    recNbr: 0,
    driLevel: o.driLevel,
    plugId: 0,
    time: 0,
    mainType: MAIN_TYPE.wave,
    subrecords: [{ offset: 0, type: 0 }],
  });
  buf.writeInt16LE(o.reqType, HEADER_SIZE);
  o.waveIds.forEach((id, i) => buf.writeUInt8(id, HEADER_SIZE + 4 + i));
  if (o.waveIds.length < MAX_WAVES_PER_REQUEST) buf.writeUInt8(SR_EOL, HEADER_SIZE + 4 + o.waveIds.length);
  return buf;
}

/** Parses an unframed host request; anything not a well-formed PHDB/wave request is 'other'. */
export function parseRequest(record: Uint8Array): HostRequest {
  const h = readHeader(record);
  if (!h) return { kind: 'other', mainType: -1 };
  const b = Buffer.from(record.buffer, record.byteOffset, record.length);
  if (h.mainType === MAIN_TYPE.phdb && b.length >= HEADER_SIZE + 7) {
    const rt = b.readUInt8(HEADER_SIZE);
    if (rt === 1 || rt === 2 || rt === 3) {
      return { kind: 'phdb', recordType: rt, intervalS: b.readInt16LE(HEADER_SIZE + 1), classMask: b.readUInt32LE(HEADER_SIZE + 3), driLevel: h.driLevel };
    }
  }
  if (h.mainType === MAIN_TYPE.wave && b.length >= HEADER_SIZE + 4 + MAX_WAVES_PER_REQUEST) {
    const rt = b.readInt16LE(HEADER_SIZE);
    if (rt === 0 || rt === 1 || rt === 2) {
      const waveIds: number[] = [];
      for (let i = 0; i < MAX_WAVES_PER_REQUEST; i++) {
        const id = b.readUInt8(HEADER_SIZE + 4 + i);
        if (id === SR_EOL) break;
        waveIds.push(id);
      }
      return { kind: 'wave', reqType: rt, waveIds, driLevel: h.driLevel };
    }
  }
  return { kind: 'other', mainType: h.mainType };
}
