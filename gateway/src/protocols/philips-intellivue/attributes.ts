/**
 * AttributeList → typed object attributes (README §Layers, §Values). Unknown attributes are skipped
 * by their length; a malformed attribute value is counted by the caller (ShortRead) and skipped.
 */
import { decodeFloat, type DecodedFloat } from './float.js';
import { ATTR } from './nomenclature.js';
import { Reader } from './reader.js';

export interface NuObs {
  physioId: number;
  state: number;
  unitCode: number;
  value: DecodedFloat;
}
export interface SaObs {
  physioId: number;
  state: number;
  samples: Buffer;
}
export interface SaSpec {
  arraySize: number;
  sampleSize: number;
  significantBits: number;
  flags: number;
}
export interface ScaleSpec {
  lowerAbs: DecodedFloat;
  upperAbs: DecodedFloat;
  lowerScaled: number;
  upperScaled: number;
}
export interface AlertEntry {
  source: number;
  code: number;
  type: number;
  state: number;
  handle: number;
  text?: number;
  label?: string;
}

export interface ObjAttrs {
  handle?: number;
  type?: { partition: number; code: number };
  label?: number;
  labelString?: string;
  unitCode?: number;
  nu?: NuObs;
  cmpd?: NuObs[];
  sa?: SaObs;
  saCmpd?: SaObs[];
  saSpec?: SaSpec;
  scale?: ScaleSpec;
  samplePeriod?: number;
  timeAbs?: number | null;
  timeRel?: number;
  tsAbs?: number | null;
  tsRel?: number;
  model?: { manufacturer: string; model: string };
  prodSpec?: { type: number; component: number; text: string }[];
  bedLabel?: string;
  systemId?: string;
  netAddr?: { mac: string; ip: string; mask: string };
  protocols?: { appl: number; trans: number; port: number; options: number }[];
  physAlerts?: AlertEntry[];
  techAlerts?: AlertEntry[];
}

const bcd = (b: number): number => (b >> 4) * 10 + (b & 0xf);

/** AbsoluteTime (8 BCD bytes) → epoch ms as the device states it (taken as UTC); null when unset. */
export function decodeAbsTime(b: Buffer): number | null {
  if (b.length < 8 || b.subarray(0, 8).every((x) => x === 0xff)) return null;
  const year = bcd(b[0]) * 100 + bcd(b[1]);
  const ms = Date.UTC(year, bcd(b[2]) - 1, bcd(b[3]), bcd(b[4]), bcd(b[5]), bcd(b[6]), bcd(b[7]) * 10);
  return Number.isFinite(ms) ? ms : null;
}

export function encodeAbsTime(ms: number): Buffer {
  const d = new Date(ms);
  const b = (n: number): number => ((Math.floor(n / 10) % 10) << 4) | (n % 10);
  const y = d.getUTCFullYear();
  return Buffer.from([
    b(Math.floor(y / 100)),
    b(y % 100),
    b(d.getUTCMonth() + 1),
    b(d.getUTCDate()),
    b(d.getUTCHours()),
    b(d.getUTCMinutes()),
    b(d.getUTCSeconds()),
    b(Math.floor(d.getUTCMilliseconds() / 10)),
  ]);
}

/** String {length u16, UTF-16BE}; drops NULs and U+FEFF. */
export function readString(r: Reader): string {
  const len = r.u16('string length');
  const b = r.bytes(len, 'string');
  let s = '';
  for (let i = 0; i + 1 < b.length; i += 2) {
    const c = b.readUInt16BE(i);
    if (c !== 0 && c !== 0xfeff) s += String.fromCharCode(c);
  }
  return s;
}

/** VariableLabel {length u16, bytes} (8-bit text). */
function readVarLabel(r: Reader): string {
  const len = r.u16('label length');
  return r.bytes(len, 'label').toString('latin1').replace(/\0+$/, '').replace(/\0/g, '');
}

function readNu(r: Reader): NuObs {
  return { physioId: r.u16(), state: r.u16(), unitCode: r.u16(), value: decodeFloat(r.u32()) };
}

function readSa(r: Reader): SaObs {
  const physioId = r.u16();
  const state = r.u16();
  const len = r.u16();
  return { physioId, state, samples: Buffer.from(r.bytes(len, 'sa array')) };
}

function readAlerts(r: Reader): AlertEntry[] {
  const count = r.u16();
  r.u16();
  const out: AlertEntry[] = [];
  for (let i = 0; i < count; i++) {
    const e: AlertEntry = { source: r.u16(), code: r.u16(), type: r.u16(), state: r.u16(), handle: 0 };
    r.u16(); // object class
    r.u16(); // context
    e.handle = r.u16();
    const infoId = r.u16();
    const info = r.sub(r.u16(), 'alert info');
    if (infoId === 0x0001 || infoId === 0x0002 || info.remaining() >= 10) {
      // StrAlMonInfo { al_inst_no u16, al_text TextId u32, priority u16, flags u16, String }
      try {
        info.u16();
        e.text = info.u32();
        info.u16();
        info.u16();
        if (info.remaining() >= 2) e.label = readString(info);
      } catch {
        /* optional info */
      }
    }
    out.push(e);
  }
  return out;
}

/** Parses one AttributeList from `r` into `into` (merging); returns ids seen. */
export function readAttributeList(r: Reader, into: ObjAttrs = {}, onBad?: (attrId: number) => void): ObjAttrs {
  const count = r.u16('attr count');
  r.u16('attr list length');
  for (let i = 0; i < count; i++) {
    const id = r.u16('attr id');
    const v = r.sub(r.u16('attr length'), 'attr value');
    try {
      readAttribute(id, v, into);
    } catch (err) {
      if (!onBad) throw err;
      onBad(id); // one malformed value costs only that attribute
    }
  }
  return into;
}

function readAttribute(id: number, v: Reader, a: ObjAttrs): void {
  switch (id) {
    case ATTR.ID_HANDLE:
      a.handle = v.u16();
      break;
    case ATTR.ID_TYPE:
      a.type = { partition: v.u16(), code: v.u16() };
      break;
    case ATTR.ID_LABEL:
      a.label = v.u32();
      break;
    case ATTR.ID_LABEL_STRING:
      a.labelString = readString(v).trim();
      break;
    case ATTR.UNIT_CODE:
      a.unitCode = v.u16();
      break;
    case ATTR.NU_VAL_OBS:
      a.nu = readNu(v);
      break;
    case ATTR.NU_CMPD_VAL_OBS: {
      const n = v.u16();
      v.u16();
      a.cmpd = Array.from({ length: n }, () => readNu(v));
      break;
    }
    case ATTR.SA_VAL_OBS:
      a.sa = readSa(v);
      break;
    case ATTR.SA_CMPD_VAL_OBS: {
      const n = v.u16();
      v.u16();
      a.saCmpd = Array.from({ length: n }, () => readSa(v));
      break;
    }
    case ATTR.SA_SPECN:
      a.saSpec = { arraySize: v.u16(), sampleSize: v.u8(), significantBits: v.u8(), flags: v.u16() };
      break;
    case ATTR.SCALE_SPECN_I16:
    case ATTR.SA_CALIB_I16:
      if (id === ATTR.SA_CALIB_I16 && a.scale) break; // the scale spec wins when both are present
      a.scale = { lowerAbs: decodeFloat(v.u32()), upperAbs: decodeFloat(v.u32()), lowerScaled: v.u16(), upperScaled: v.u16() };
      break;
    case ATTR.TIME_PD_SAMP:
      a.samplePeriod = v.u32();
      break;
    case ATTR.TIME_ABS:
      a.timeAbs = decodeAbsTime(v.bytes(8));
      break;
    case ATTR.TIME_REL:
      a.timeRel = v.u32();
      break;
    case ATTR.TIME_STAMP_ABS:
      a.tsAbs = decodeAbsTime(v.bytes(8));
      break;
    case ATTR.TIME_STAMP_REL:
      a.tsRel = v.u32();
      break;
    case ATTR.ID_MODEL:
      a.model = { manufacturer: readVarLabel(v), model: readVarLabel(v) };
      break;
    case ATTR.ID_BED_LABEL:
      a.bedLabel = readString(v);
      break;
    case ATTR.SYS_ID:
      a.systemId = v.bytes(v.u16()).toString('hex');
      break;
    case ATTR.ID_PROD_SPECN: {
      const n = v.u16();
      v.u16();
      a.prodSpec = [];
      for (let k = 0; k < n; k++) a.prodSpec.push({ type: v.u16(), component: v.u16(), text: readVarLabel(v) });
      break;
    }
    case ATTR.NET_ADDR_INFO: {
      const mac = v
        .bytes(6)
        .toString('hex')
        .replace(/(..)(?!$)/g, '$1:');
      a.netAddr = { mac, ip: [...v.bytes(4)].join('.'), mask: [...v.bytes(4)].join('.') };
      break;
    }
    case ATTR.PCOL_SUPPORT: {
      const n = v.u16();
      v.u16();
      a.protocols = Array.from({ length: n }, () => ({ appl: v.u16(), trans: v.u16(), port: v.u16(), options: v.u16() }));
      break;
    }
    case ATTR.AL_MON_P_AL_LIST:
      a.physAlerts = readAlerts(v);
      break;
    case ATTR.AL_MON_T_AL_LIST:
      a.techAlerts = readAlerts(v);
      break;
    default:
      break;
  }
}
