/**
 * HIS messages → typed events, pure. ADT^A01/A04/A08 (visit), A02 (transfer), A03 (discharge),
 * A11/A13 (cancel admit/discharge); SIU^S12/S13/S14/S15 (surgery schedule). The HL7 parser is the
 * gateway's (gateway/src/protocols/hl7-mllp/hl7.ts: separators from MSH, unescaping, bounded).
 * A message that cannot be read or is not one of these is a `HisReject` with the ACK it deserves:
 * AR (unparseable, unsupported type) or AE (understood, but a required part is missing). Reasons
 * never quote PID fields: they name the segment and field only.
 */
import { comp, parseHl7, rawField, unescapeHl7, Hl7ParseError, type Hl7Message, type Segment } from '../../../gateway/src/protocols/hl7-mllp/hl7.js';
import { parseHl7Time } from '../../../gateway/src/protocols/hl7-mllp/hl7-time.js';

export type AdtTrigger = 'A01' | 'A02' | 'A03' | 'A04' | 'A08' | 'A11' | 'A13';
export type SiuTrigger = 'S12' | 'S13' | 'S14' | 'S15';
export const ADT_TRIGGERS: readonly AdtTrigger[] = ['A01', 'A02', 'A03', 'A04', 'A08', 'A11', 'A13'];
export const SIU_TRIGGERS: readonly SiuTrigger[] = ['S12', 'S13', 'S14', 'S15'];

/** HL7 table 0357 codes used in ERR-3 */
export type ErrCode = '100' | '101' | '102' | '200' | '201' | '204' | '206' | '207';

/** Why a message is not applied: the ACK code, the HL7 error code, a text (no patient data), where. */
export class HisReject extends Error {
  constructor(
    readonly ack: 'AE' | 'AR',
    readonly errCode: ErrCode,
    message: string,
    readonly location?: string,
  ) {
    super(message);
    this.name = 'HisReject';
  }
}

/** PL: point of care ^ room ^ bed */
export interface Location {
  poc: string;
  room: string;
  bed: string;
}
/** The patient's identifiers: `key` (the MRN, or the first PID-3 id) finds the patient's case. */
export interface Patient {
  key: string;
  keyName: string;
  ids: Record<string, string>;
}

export interface Header {
  controlId: string;
  sender: string;
  type: string;
  version: string;
}

export type HisEvent =
  | { kind: 'adt'; trigger: AdtTrigger; at: number; patient: Patient; location: Location | null }
  | {
      kind: 'siu';
      trigger: SiuTrigger;
      at: number;
      appointment: string;
      patient: Patient;
      location: Location | null;
      start: number | null;
      end: number | null;
      procedure: string | null;
      surgeon: string | null;
      anesthetist: string | null;
    };

export interface ParsedHis {
  msg: Hl7Message;
  header: Header;
  event: HisEvent;
}

const MAX_ID = 200;

/** MSH fields that every reply needs, from whatever could be parsed. */
export function headerOf(msg: Hl7Message): Header {
  const msh = msg.segments[0];
  return {
    controlId: comp(msg, msh, 10).slice(0, 64),
    sender: [comp(msg, msh, 3), comp(msg, msh, 4)].filter(Boolean).join('^').slice(0, 128),
    type: [comp(msg, msh, 9, 1), comp(msg, msh, 9, 2)].filter(Boolean).join('^').slice(0, 16),
    version: comp(msg, msh, 12).slice(0, 16),
  };
}

/** Parses the text or throws Hl7ParseError (→ AR). */
export function parseText(raw: Uint8Array | string): Hl7Message {
  const msg = parseHl7(raw);
  if (msg.segments[0]?.id !== 'MSH') throw new Hl7ParseError('no-msh', 'no MSH segment');
  return msg;
}

const seg = (msg: Hl7Message, id: string): Segment | undefined => msg.segments.find((s) => s.id === id);
const segs = (msg: Hl7Message, id: string): Segment[] => msg.segments.filter((s) => s.id === id);

function time(msg: Hl7Message, s: Segment | undefined, n: number, zone: string, c = 1): number | null {
  const v = comp(msg, s, n, c);
  if (!v) return null;
  const t = parseHl7Time(v, zone);
  if (t === undefined) throw new HisReject('AE', '102', `${s?.id}-${n}: not an HL7 date/time`, `${s?.id}^1^${n}`);
  return t;
}

/** A PL field (PV1-3, AIL-3), or null when empty. */
function location(msg: Hl7Message, s: Segment | undefined, n: number): Location | null {
  const loc = { poc: comp(msg, s, n, 1), room: comp(msg, s, n, 2), bed: comp(msg, s, n, 3) };
  return loc.poc || loc.room || loc.bed ? loc : null;
}

export const fmtLocation = (l: Location): string => [l.poc, l.room, l.bed].join('^').replace(/\^+$/, '');

/**
 * PID-3 (repeating CX: id ^ check digit ^ scheme ^ authority ^ type) → `{mrn, …}`: type MR is `mrn`,
 * other types by their code in lower case (`pi`, `an`, …), an untyped first id is the `mrn`;
 * PV1-19 (visit number) is `visit`. Missing → AE 101.
 */
function patient(msg: Hl7Message): Patient {
  const pid = seg(msg, 'PID');
  if (!pid) throw new HisReject('AE', '100', 'PID segment missing', 'PID');
  const ids: Record<string, string> = {};
  for (const rep of rawField(pid, 3).split(msg.seps.repetition)) {
    const parts = rep.split(msg.seps.component).map((p) => unescapeHl7(p.split(msg.seps.subcomponent)[0] ?? '', msg.seps));
    const id = (parts[0] ?? '').trim();
    if (!id) continue;
    const type = (parts[4] ?? '')
      .trim()
      .toLowerCase()
      .replace(/[^a-z0-9_-]/g, '')
      .slice(0, 32);
    const key = type === 'mr' || (!type && !ids.mrn) ? 'mrn' : type || `id${Object.keys(ids).length + 1}`;
    if (!(key in ids)) ids[key] = id.slice(0, MAX_ID);
  }
  const first = Object.values(ids)[0];
  if (!first) throw new HisReject('AE', '101', 'PID-3 (patient identifier list) is empty', 'PID^1^3');
  const visit = comp(msg, seg(msg, 'PV1'), 19).trim();
  if (visit) ids.visit = visit.slice(0, MAX_ID);
  const keyName = ids.mrn ? 'mrn' : Object.keys(ids)[0];
  return { key: ids[keyName], keyName, ids };
}

/** When it happened: EVN-6 (event occurred), else EVN-2 (recorded), else MSH-7. */
function eventTime(msg: Hl7Message, zone: string): number {
  const evn = seg(msg, 'EVN');
  const t = time(msg, evn, 6, zone) ?? time(msg, evn, 2, zone) ?? time(msg, msg.segments[0], 7, zone);
  if (t === null) throw new HisReject('AE', '101', 'no event time (EVN-6, EVN-2, MSH-7)', 'EVN^1^6');
  return t;
}

/** "given family (id)" of an XCN, without empty parts */
function person(msg: Hl7Message, s: Segment, n: number): string | null {
  const id = comp(msg, s, n, 1),
    family = comp(msg, s, n, 2),
    given = comp(msg, s, n, 3);
  const name = [given, family].filter(Boolean).join(' ');
  const out = name ? (id ? `${name} (${id})` : name) : id;
  return out ? out.slice(0, MAX_ID) : null;
}

const DURATION_MS: Record<string, number> = { s: 1000, sec: 1000, min: 60_000, m: 60_000, h: 3_600_000, hr: 3_600_000, hour: 3_600_000 };

function schedule(msg: Hl7Message, trigger: SiuTrigger, zone: string): HisEvent {
  const sch = seg(msg, 'SCH');
  if (!sch) throw new HisReject('AE', '100', 'SCH segment missing', 'SCH');
  const appointment = (comp(msg, sch, 2) || comp(msg, sch, 1)).trim().slice(0, MAX_ID);
  if (!appointment) throw new HisReject('AE', '101', 'no appointment id (SCH-2 filler or SCH-1 placer)', 'SCH^1^2');
  const ais = seg(msg, 'AIS');
  const start = time(msg, ais, 4, zone) ?? time(msg, sch, 11, zone, 4);
  let end = time(msg, sch, 11, zone, 5);
  const dur = Number(comp(msg, ais, 7));
  if (end === null && start !== null && Number.isFinite(dur) && dur > 0) {
    end = start + dur * (DURATION_MS[comp(msg, ais, 8).toLowerCase()] ?? 60_000);
  }
  if (start !== null && end !== null && end <= start) throw new HisReject('AE', '102', 'the planned end is not after the planned start', 'SCH^1^11');
  const procedure = (comp(msg, ais, 3, 2) || comp(msg, ais, 3, 1) || comp(msg, sch, 7, 2) || comp(msg, sch, 7, 1)).slice(0, MAX_ID) || null;
  let surgeon: string | null = null,
    anesthetist: string | null = null;
  for (const aip of segs(msg, 'AIP')) {
    const role = `${comp(msg, aip, 4, 1)} ${comp(msg, aip, 4, 2)}`.toLowerCase();
    if (!surgeon && /surg|chir|^sur\b/.test(role)) surgeon = person(msg, aip, 3);
    else if (!anesthetist && /an(a)?esth|^ane\b|^anes\b/.test(role)) anesthetist = person(msg, aip, 3);
  }
  const loc = location(msg, seg(msg, 'AIL'), 3) ?? location(msg, seg(msg, 'PV1'), 3);
  return {
    kind: 'siu',
    trigger,
    at: eventTime(msg, zone),
    appointment,
    patient: patient(msg),
    location: loc,
    start,
    end,
    procedure,
    surgeon,
    anesthetist,
  };
}

/** Reads a parsed message as a HIS event, or throws HisReject. `zone`: for times without an offset. */
export function toEvent(msg: Hl7Message, zone: string): HisEvent {
  const msh = msg.segments[0];
  const type = comp(msg, msh, 9, 1).toUpperCase();
  const trigger = (comp(msg, msh, 9, 2) || comp(msg, seg(msg, 'EVN'), 1)).toUpperCase();
  if (!comp(msg, msh, 10)) throw new HisReject('AR', '101', 'MSH-10 (message control id) is empty', 'MSH^1^10');
  if (type === 'ADT') {
    if (!(ADT_TRIGGERS as readonly string[]).includes(trigger)) throw new HisReject('AR', '201', `unsupported event ADT^${trigger.slice(0, 8)}`, 'MSH^1^9');
    const t = trigger as AdtTrigger;
    const pv1 = seg(msg, 'PV1');
    if (!pv1 && (t === 'A02' || t === 'A03')) throw new HisReject('AE', '100', 'PV1 segment missing', 'PV1');
    let at = eventTime(msg, zone);
    if (t === 'A03') at = time(msg, pv1, 45, zone) ?? at; // discharge date/time
    return { kind: 'adt', trigger: t, at, patient: patient(msg), location: location(msg, pv1, 3) };
  }
  if (type === 'SIU') {
    if (!(SIU_TRIGGERS as readonly string[]).includes(trigger)) throw new HisReject('AR', '201', `unsupported event SIU^${trigger.slice(0, 8)}`, 'MSH^1^9');
    return schedule(msg, trigger as SiuTrigger, zone);
  }
  throw new HisReject('AR', '200', `unsupported message type ${type.slice(0, 8) || '(empty)'}`, 'MSH^1^9');
}
