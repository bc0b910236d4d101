/** PHDB subrecord (278 bytes) → vendor numerics, using the shared layout table. */
import { fieldLabel } from './labels.js';
import { INVALID_LIMIT, PHDB_CLASSES, PHDB_LAYOUT, SPECIAL_MARKERS, SUBRECORD_CLASS_OFFSET, SUBRECORD_PHYSDATA_OFFSET, type PhdbClass } from './layout.js';
import type { MarkerFlag, VendorNumeric } from './vendor-types.js';

/** Only groups whose status has both "exists" and "active" carry usable values. */
export const GROUP_ACTIVE = 0x3;

export interface PhdbSubrecord {
  cls: PhdbClass;
  driLevel: number;
  subtype: number;
  time: number;
  numerics: VendorNumeric[];
}

export function decodeClassWord(w: number): { cls: PhdbClass; driLevel: number; subtype: number } {
  return { cls: PHDB_CLASSES[(w >> 8) & 0x3], driLevel: (w >> 4) & 0xf, subtype: w & 0xf };
}

export function rawToValue(raw: number, divisor: number): { value: number | null; marker?: MarkerFlag } {
  if (raw < INVALID_LIMIT) return { value: null, marker: SPECIAL_MARKERS[raw] ?? 'invalid' };
  return { value: divisor === 1 ? raw : Number((raw / divisor).toPrecision(12)) };
}

/** `b` must hold at least 278 bytes (one subrecord) from `base`. */
export function decodePhdbSubrecord(b: Buffer, base: number, tDeviceMs: number): PhdbSubrecord {
  const cw = decodeClassWord(b.readUInt16LE(base + SUBRECORD_CLASS_OFFSET));
  const time = b.readUInt32LE(base);
  // Trend subrecords carry their own time; fall back to the record header's when it is 0.
  const t = time ? time * 1000 : tDeviceMs;
  const pd = base + SUBRECORD_PHYSDATA_OFFSET;
  const numerics: VendorNumeric[] = [];
  let firstStatus: number | undefined;
  for (const g of PHDB_LAYOUT[cw.cls]) {
    const start = pd + g.offset;
    let labelCode = 0;
    // A group without a header (ecg_extra) follows the status of the class's first group (ecg).
    const status = g.hasHeader ? b.readUInt32LE(start) : (firstStatus ?? 0);
    firstStatus ??= status;
    if ((status & GROUP_ACTIVE) !== GROUP_ACTIVE) continue;
    if (g.hasHeader) labelCode = b.readUInt16LE(start + 4);
    for (const fd of g.fields) {
      const raw = b.readInt16LE(start + fd.offset);
      const v = rawToValue(raw, fd.divisor);
      const n: VendorNumeric = { vendorCode: `${g.name}.${fd.name}`, cls: cw.cls, group: g.name, field: fd.name, raw, value: v.value, tDevice: t };
      if (v.marker) n.marker = v.marker;
      const label = g.hasHeader ? fieldLabel(g.name, fd.name, labelCode) : undefined;
      if (label !== undefined) n.label = label;
      if (g.hasHeader) n.labelCode = labelCode;
      numerics.push(n);
    }
  }
  return { ...cw, time, numerics };
}
