/**
 * Encoder: the inverse of the decoder, driven by the same layout table (used by the simulator
 * and the round-trip tests). Produces UNFRAMED records; frame them with frameRecord().
 */
import { writeHeader } from './header.js';
import {
  DATA_INVALID,
  GROUP_HEADER_SIZE,
  HEADER_SIZE,
  MAIN_TYPE,
  PHDB_CLASSES,
  PHDB_LAYOUT,
  PHDB_SUBRECORD_SIZE,
  SUBRECORD_CLASS_OFFSET,
  SUBRECORD_PHYSDATA_OFFSET,
  type PhdbClass,
} from './layout.js';

export interface GroupValues {
  status?: number; // default 3 (exists|active)
  label?: number;
  fields: Record<string, number>; // RAW int16 values by field name; missing fields = -32767
}

const CLASS_INDEX: Record<PhdbClass, number> = { basic: 0, ext1: 1, ext2: 2, ext3: 3 };

function clampInt16(v: number): number {
  if (!Number.isFinite(v)) return DATA_INVALID;
  return Math.max(-32768, Math.min(32767, Math.round(v)));
}

/** cl_drilvl_subt: bits 8–9 class, bits 4–7 DRI level (low nibble), bits 0–3 subtype (record type). */
export function classWord(cls: PhdbClass, driLevel: number, subtype: number): number {
  return (CLASS_INDEX[cls] << 8) | ((driLevel & 0xf) << 4) | (subtype & 0xf);
}

function writeSubrecord(
  buf: Buffer,
  base: number,
  cls: PhdbClass,
  time: number,
  driLevel: number,
  subtype: number,
  groups: Record<string, GroupValues> | undefined,
): void {
  buf.writeUInt32LE(time >>> 0, base);
  const pd = base + SUBRECORD_PHYSDATA_OFFSET;
  for (const gr of PHDB_LAYOUT[cls]) {
    const gv = groups?.[gr.name];
    const start = pd + gr.offset;
    if (gr.hasHeader) {
      buf.writeUInt32LE((gv ? (gv.status ?? 3) : 0) >>> 0, start);
      buf.writeUInt16LE((gv?.label ?? 0) & 0xffff, start + 4);
    }
    for (const fd of gr.fields) {
      const raw = gv?.fields[fd.name];
      buf.writeInt16LE(raw === undefined ? DATA_INVALID : clampInt16(raw), start + fd.offset);
    }
  }
  buf.writeUInt16LE(classWord(cls, driLevel, subtype), base + SUBRECORD_CLASS_OFFSET);
}

export function encodePhdbRecord(o: {
  time: number;
  recordType?: 1 | 2 | 3;
  driLevel?: number;
  recNbr?: number;
  plugId?: number;
  classes: Partial<Record<PhdbClass, Record<string, GroupValues>>>;
}): Buffer {
  const driLevel = o.driLevel ?? 10;
  const recordType = o.recordType ?? 1;
  // A display record carries all four classes (as the real monitors send them); absent ones are all status 0.
  const classes = PHDB_CLASSES;
  const len = HEADER_SIZE + classes.length * PHDB_SUBRECORD_SIZE;
  const buf = Buffer.alloc(len);
  writeHeader(buf, {
    len,
    recNbr: o.recNbr ?? 0,
    driLevel,
    plugId: o.plugId ?? 0,
    time: o.time,
    mainType: MAIN_TYPE.phdb,
    subrecords: classes.map((_, i) => ({ offset: i * PHDB_SUBRECORD_SIZE, type: recordType })),
  });
  classes.forEach((cls, i) => writeSubrecord(buf, HEADER_SIZE + i * PHDB_SUBRECORD_SIZE, cls, o.time, driLevel, recordType, o.classes[cls]));
  return buf;
}

export function encodeWaveRecord(o: {
  time: number;
  driLevel?: number;
  recNbr?: number;
  channels: { waveId: number; samples: number[]; status?: number; label?: number }[];
}): Buffer {
  if (o.channels.length > 8) throw new RangeError('at most 8 wave channels per record');
  const sizes = o.channels.map((c) => GROUP_HEADER_SIZE + 2 * c.samples.length);
  const len = HEADER_SIZE + sizes.reduce((a, b) => a + b, 0);
  const buf = Buffer.alloc(len);
  let off = 0;
  const subrecords = o.channels.map((c, i) => {
    const d = { offset: off, type: c.waveId };
    off += sizes[i];
    return d;
  });
  writeHeader(buf, { len, recNbr: o.recNbr ?? 0, driLevel: o.driLevel ?? 10, plugId: 0, time: o.time, mainType: MAIN_TYPE.wave, subrecords });
  o.channels.forEach((c, i) => {
    const base = HEADER_SIZE + subrecords[i].offset;
    buf.writeInt16LE(c.samples.length, base);
    buf.writeUInt16LE((c.status ?? 0) & 0xffff, base + 2);
    buf.writeUInt16LE((c.label ?? 0) & 0xffff, base + 4);
    c.samples.forEach((s, k) => buf.writeInt16LE(clampInt16(s), base + 6 + 2 * k));
  });
  return buf;
}
