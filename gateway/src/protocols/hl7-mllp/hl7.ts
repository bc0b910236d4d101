/**
 * HL7 v2 (2.3.1 – 2.6) message parser, pure. Separators come from MSH-1/MSH-2 (field, component,
 * repetition, escape, subcomponent); segments end in CR, LF or CRLF; junk before `MSH` (U+2028,
 * BOM, stray bytes) is skipped. Values are kept raw and unescaped on access (\F\ \S\ \T\ \R\ \E\
 * \Xhh\ \.br\). Field numbering is HL7's: MSH-3 is `field(msh, 3)`, OBX-5 is `field(obx, 5)`.
 */
export interface Separators {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
}

export interface Segment {
  id: string;
  /** fields[n] = raw text of field n (fields[0] = segment id; for MSH fields[1] = field separator). */
  fields: string[];
}

export interface Hl7Message {
  seps: Separators;
  segments: Segment[];
  skipped: number;
}

export class Hl7ParseError extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
    this.name = 'Hl7ParseError';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
let gb: TextDecoder | undefined;

/** UTF-8, falling back to GB18030 (legacy Mindray PDS) and then Latin-1. */
export function decodeText(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    try {
      gb ??= new TextDecoder('gb18030', { fatal: true });
      return gb.decode(bytes);
    } catch {
      return Buffer.from(bytes).toString('latin1');
    }
  }
}

export function parseHl7(input: string | Uint8Array): Hl7Message {
  const text = typeof input === 'string' ? input : decodeText(input);
  const at = text.indexOf('MSH');
  if (at < 0) throw new Hl7ParseError('no-msh', 'no MSH segment');
  const skipped = at;
  const body = text.slice(at);
  if (body.length < 8) throw new Hl7ParseError('bad-msh', 'MSH too short for its separators');
  const fieldSep = body[3];
  const enc = body.slice(4, 9);
  const encEnd = enc.indexOf(fieldSep);
  const chars = encEnd < 0 ? enc : enc.slice(0, encEnd);
  if (chars.length < 3 || /[A-Za-z0-9\r\n]/.test(fieldSep + chars)) throw new Hl7ParseError('bad-msh', 'MSH-1/MSH-2 do not define separators');
  const seps: Separators = { field: fieldSep, component: chars[0], repetition: chars[1], escape: chars[2], subcomponent: chars[3] ?? '&' };
  const segments: Segment[] = [];
  for (const raw of body.split(/\r\n|\r|\n/)) {
    const line = raw.replace(/^[\u2028\u2029\ufeff\s]+/, '');
    if (!line) continue;
    const parts = line.split(fieldSep);
    const id = parts[0];
    if (!/^[A-Z][A-Z0-9]{2}$/.test(id)) throw new Hl7ParseError('bad-segment', `malformed segment id '${id.slice(0, 8)}'`);
    const fields = id === 'MSH' ? ['MSH', fieldSep, ...parts.slice(1)] : parts;
    segments.push({ id, fields });
  }
  return { seps, segments, skipped };
}

export function unescapeHl7(s: string, seps: Separators): string {
  const e = seps.escape;
  if (!e || !s.includes(e)) return s;
  let out = '';
  let i = 0;
  while (i < s.length) {
    if (s[i] !== e) {
      out += s[i++];
      continue;
    }
    const end = s.indexOf(e, i + 1);
    if (end < 0) {
      out += s.slice(i);
      break;
    }
    const seq = s.slice(i + 1, end);
    if (seq === 'F') out += seps.field;
    else if (seq === 'S') out += seps.component;
    else if (seq === 'T') out += seps.subcomponent;
    else if (seq === 'R') out += seps.repetition;
    else if (seq === 'E') out += e;
    else if (seq === '.br') out += '\n';
    else if (/^X([0-9A-Fa-f]{2})+$/.test(seq)) out += Buffer.from(seq.slice(1), 'hex').toString('latin1');
    // other sequences (\H\ \N\ \Cxxyy\ \Mxxyyzz\) carry formatting/charset only: dropped
    i = end + 1;
  }
  return out;
}

export function escapeHl7(s: string, seps: Separators): string {
  const e = seps.escape;
  let out = '';
  for (const c of s) {
    if (c === e) out += `${e}E${e}`;
    else if (c === seps.field) out += `${e}F${e}`;
    else if (c === seps.component) out += `${e}S${e}`;
    else if (c === seps.subcomponent) out += `${e}T${e}`;
    else if (c === seps.repetition) out += `${e}R${e}`;
    else if (c === '\r' || c === '\n') out += `${e}.br${e}`;
    else out += c;
  }
  return out;
}

/** Raw text of field n (1-based, HL7 numbering), '' when absent. */
export function rawField(seg: Segment | undefined, n: number): string {
  return seg?.fields[n] ?? '';
}

/** Unescaped component (1-based) of the first repetition of field n; sub = subcomponent (1-based). */
export function comp(msg: Hl7Message, seg: Segment | undefined, n: number, c = 1, sub = 1): string {
  if (!seg) return '';
  if (seg.id === 'MSH' && (n === 1 || n === 2)) return seg.fields[n] ?? '';
  const rep = rawField(seg, n).split(msg.seps.repetition)[0] ?? '';
  const cs = rep.split(msg.seps.component)[c - 1] ?? '';
  const ss = cs.split(msg.seps.subcomponent)[sub - 1] ?? '';
  return unescapeHl7(ss, msg.seps);
}

/** All components of the first repetition of field n, unescaped. */
export function comps(msg: Hl7Message, seg: Segment | undefined, n: number): string[] {
  const rep = rawField(seg, n).split(msg.seps.repetition)[0] ?? '';
  return rep.split(msg.seps.component).map((c) => unescapeHl7(c, msg.seps));
}

export function segment(msg: Hl7Message, id: string): Segment | undefined {
  return msg.segments.find((s) => s.id === id);
}

export const DEFAULT_SEPS: Separators = { field: '|', component: '^', repetition: '~', escape: '\\', subcomponent: '&' };
