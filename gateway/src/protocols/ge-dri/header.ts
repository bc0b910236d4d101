/**
 * The 40-byte `datex_hdr` (little-endian), read and written in one place (README §Wire format):
 * r_len i16 | r_nbr u8 | r_dri_level u8 | plug_id u16 | r_time u32 | reserved u8,u8,u16 |
 * r_maintype i16 | sr_desc[8] {sr_offset i16, sr_type u8} (list ends at sr_type 0xFF).
 */
import { HEADER_SIZE, SR_DESC_COUNT, SR_EOL } from './layout.js';

export interface SubrecordDesc {
  offset: number;
  type: number;
}
export interface RecordHeader {
  len: number;
  recNbr: number;
  driLevel: number;
  plugId: number;
  time: number;
  mainType: number;
  subrecords: SubrecordDesc[];
}

export function writeHeader(buf: Buffer, h: RecordHeader): void {
  if (h.subrecords.length > SR_DESC_COUNT) throw new RangeError(`at most ${SR_DESC_COUNT} subrecords`);
  buf.fill(0, 0, HEADER_SIZE);
  buf.writeInt16LE(h.len, 0);
  buf.writeUInt8(h.recNbr & 0xff, 2);
  buf.writeUInt8(h.driLevel & 0xff, 3);
  buf.writeUInt16LE(h.plugId & 0xffff, 4);
  buf.writeUInt32LE(h.time >>> 0, 6);
  buf.writeInt16LE(h.mainType, 14);
  h.subrecords.forEach((d, i) => {
    buf.writeInt16LE(d.offset, 16 + 3 * i);
    buf.writeUInt8(d.type, 18 + 3 * i);
  });
  if (h.subrecords.length < SR_DESC_COUNT) buf.writeUInt8(SR_EOL, 18 + 3 * h.subrecords.length);
}

/** null when the record is shorter than a header. Subrecords stop at 0xFF or after 8 entries. */
export function readHeader(rec: Uint8Array): RecordHeader | null {
  if (rec.length < HEADER_SIZE) return null;
  const b = Buffer.from(rec.buffer, rec.byteOffset, rec.length);
  const subrecords: SubrecordDesc[] = [];
  for (let i = 0; i < SR_DESC_COUNT; i++) {
    const type = b.readUInt8(18 + 3 * i);
    if (type === SR_EOL) break;
    subrecords.push({ offset: b.readInt16LE(16 + 3 * i), type });
  }
  return {
    len: b.readInt16LE(0),
    recNbr: b.readUInt8(2),
    driLevel: b.readUInt8(3),
    plugId: b.readUInt16LE(4),
    time: b.readUInt32LE(6),
    mainType: b.readInt16LE(14),
    subrecords,
  };
}
