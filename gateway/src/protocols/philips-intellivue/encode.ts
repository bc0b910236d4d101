/**
 * Monitor → host encoders (the simulator's side and the tests' source of truth): attribute lists,
 * NuObsValue / SaObsValue, MDS create event, extended poll replies split into RORLS + RORS.
 */
import { encodeAbsTime } from './attributes.js';
import { encodeFloat } from './float.js';
import { ACT, ATTR, CMD, LINKED, MOC, NOTI, PART, RO } from './nomenclature.js';
import { encodeRo } from './requests.js';

const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

export type Ava = [id: number, value: Buffer];

export function attrList(avas: Ava[]): Buffer {
  const body = Buffer.concat(avas.map(([id, v]) => Buffer.concat([u16(id), u16(v.length), v])));
  return Buffer.concat([u16(avas.length), u16(body.length), body]);
}

export function string16(s: string): Buffer {
  const chars = Buffer.alloc((s.length + 1) * 2); // NUL terminated, even length
  for (let i = 0; i < s.length; i++) chars.writeUInt16BE(s.charCodeAt(i), i * 2);
  return Buffer.concat([u16(chars.length), chars]);
}

export function varLabel(s: string): Buffer {
  const b = Buffer.from(s.length % 2 ? `${s}\0` : s, 'latin1');
  return Buffer.concat([u16(b.length), b]);
}

export interface NuSpec {
  physioId: number;
  state?: number;
  unitCode: number;
  value: number | null;
  exponent?: number;
  rawFloat?: number;
}

export function nuObs(n: NuSpec): Buffer {
  return Buffer.concat([u16(n.physioId), u16(n.state ?? 0), u16(n.unitCode), u32(n.rawFloat ?? encodeFloat(n.value, n.exponent ?? 0))]);
}

export function nuCmpd(list: NuSpec[]): Buffer {
  const body = Buffer.concat(list.map(nuObs));
  return Buffer.concat([u16(list.length), u16(body.length), body]);
}

export function saObs(physioId: number, samples: number[], state = 0): Buffer {
  const arr = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => arr.writeUInt16BE(s & 0xffff, i * 2));
  return Buffer.concat([u16(physioId), u16(state), u16(arr.length), arr]);
}

export function typeAttr(physioId: number): Buffer {
  return Buffer.concat([u16(PART.SCADA), u16(physioId)]);
}

export function saSpec(arraySize: number, significantBits: number, flags = 0): Buffer {
  return Buffer.concat([u16(arraySize), Buffer.from([16, significantBits]), u16(flags)]);
}

export function scaleSpec(lowerAbs: number | null, upperAbs: number | null, lowerScaled: number, upperScaled: number, exponent = -3): Buffer {
  return Buffer.concat([u32(encodeFloat(lowerAbs, exponent)), u32(encodeFloat(upperAbs, exponent)), u16(lowerScaled), u16(upperScaled)]);
}

export interface PollObject {
  handle: number;
  avas: Ava[];
}

/** PollMdibDataReplyExt body (after ActionResult). */
export function pollReplyExt(o: {
  pollNumber: number;
  sequenceNo: number;
  relTime: number;
  absTime?: number;
  objType: number;
  context?: number;
  objects: PollObject[];
}): Buffer {
  const obs = Buffer.concat(o.objects.map((x) => Buffer.concat([u16(x.handle), attrList(x.avas)])));
  const ctx = Buffer.concat([u16(o.context ?? 0), u16(o.objects.length), u16(obs.length), obs]);
  const info = Buffer.concat([u16(o.objects.length ? 1 : 0), u16(o.objects.length ? ctx.length : 0), ...(o.objects.length ? [ctx] : [])]);
  const abs = o.absTime === undefined ? Buffer.alloc(8, 0xff) : encodeAbsTime(o.absTime);
  return Buffer.concat([u16(o.pollNumber), u16(o.sequenceNo), u32(o.relTime), abs, u16(PART.OBJ), u16(o.objType), u16(0), info]);
}

function actionResult(reply: Buffer): Buffer {
  return Buffer.concat([u16(MOC.VMS_MDS), u16(0), u16(0), u16(ACT.POLL_MDIB_DATA_EXT), u16(reply.length), reply]);
}

/**
 * A poll reply as the monitor sends it: objects split into chunks of at most `maxBytes` each;
 * every chunk but the last goes as RORLS (1 first, 2 middle, 3 last with data), then a final RORS
 * (with the last chunk, or empty when `emptyFinal`).
 */
export function pollReplyMessages(
  invokeId: number,
  base: Omit<Parameters<typeof pollReplyExt>[0], 'objects'>,
  objects: PollObject[],
  maxBytes = 1400,
  emptyFinal = false,
): Buffer[] {
  const chunks: PollObject[][] = [];
  let cur: PollObject[] = [];
  let size = 0;
  for (const o of objects) {
    const s = attrList(o.avas).length + 2;
    if (cur.length && size + s > maxBytes) {
      chunks.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(o);
    size += s;
  }
  chunks.push(cur);
  if (emptyFinal && chunks.length > 1) chunks.push([]);
  return chunks.map((c, i) => {
    const body = actionResult(pollReplyExt({ ...base, objects: c }));
    if (i === chunks.length - 1) return encodeRo(RO.RORS, invokeId, CMD.CONFIRMED_ACTION, body);
    const state = i === 0 ? LINKED.FIRST : i === chunks.length - 2 ? LINKED.LAST : LINKED.NOT_FIRST_NOT_LAST;
    return encodeRo(RO.RORLS, invokeId, CMD.CONFIRMED_ACTION, body, { state, count: i + 1 });
  });
}

/** MDS create event report (ROIV CONFIRMED_EVENT_REPORT, NOM_NOTI_MDS_CREAT). */
export function mdsCreateEvent(o: {
  invokeId: number;
  manufacturer: string;
  model: string;
  absTime: number;
  relTime: number;
  firmware?: string;
  bedLabel?: string;
}): Buffer {
  const avas: Ava[] = [
    [ATTR.ID_MODEL, Buffer.concat([varLabel(o.manufacturer), varLabel(o.model)])],
    [ATTR.TIME_ABS, encodeAbsTime(o.absTime)],
    [ATTR.TIME_REL, u32(o.relTime)],
  ];
  if (o.firmware) avas.push([ATTR.ID_PROD_SPECN, Buffer.concat([u16(1), u16(4 + varLabel(o.firmware).length), u16(4), u16(0), varLabel(o.firmware)])]);
  if (o.bedLabel) avas.push([ATTR.ID_BED_LABEL, string16(o.bedLabel)]);
  const info = Buffer.concat([u16(MOC.VMS_MDS), u16(0), u16(0), attrList(avas)]);
  const body = Buffer.concat([u16(MOC.VMS_MDS), u16(0), u16(0), u32(o.relTime), u16(NOTI.MDS_CREAT), u16(info.length), info]);
  return encodeRo(RO.ROIV, o.invokeId, CMD.CONFIRMED_EVENT_REPORT, body);
}

export interface AlertSpec {
  code: number;
  source: number;
  type: number;
  handle: number;
  text: string;
}

/** DevAlarmList value of NOM_ATTR_AL_MON_P_AL_LIST / _T_AL_LIST. Layout [U]: see README. */
export function alertList(list: AlertSpec[]): Buffer {
  const entries = list.map((a) => {
    const info = Buffer.concat([u16(0), u32(0), u16(0), u16(0), string16(a.text)]);
    return Buffer.concat([u16(a.source), u16(a.code), u16(a.type), u16(0), u16(MOC.VMO_METRIC_NU), u16(0), u16(a.handle), u16(0x0001), u16(info.length), info]);
  });
  const body = Buffer.concat(entries);
  return Buffer.concat([u16(list.length), u16(body.length), body]);
}

export { u16, u32 };
