/**
 * ORU^R01 → canonical observations through a profile. Pure. OBX-3 is mapped by CODE (never by the
 * label text): MDC numeric codes, MDIL partition-code forms (`2::16770`, `0002-4182`) and vendor
 * codes (`99MNDRY` …) become a key `<SYSTEM>:<code>` looked up in the profile's numerics.
 * OBX-4 containment (MDS.VMD.CHAN) is kept in vendorCode (`MDC:150456@1.3.2`) so that two
 * channels of one parameter stay apart. Time: OBX-14, else OBR-7 of the group, else MSH-7, else
 * the receive time; stamps without an offset use the profile's time zone.
 * Free text from the wire is bounded before it becomes an observation: string values, alarm
 * texts and labels at MAX_TEXT_CHARS, unknown unit text at MAX_UNIT_CHARS (cut, counted
 * `text-truncated`); a code longer than MAX_CODE_CHARS is never cut (two codes would merge): the
 * OBX is dropped and counted `code-too-long`. Values are never logged.
 */
import type { AlarmObs, Flag, Observation, SettingObs } from '../../../../schemas/src/observation.js';
import type { ProfileMapper } from '../../profiles/map.js';
import { comp, comps, type Hl7Message, type Segment } from './hl7.js';
import { parseHl7Time } from './hl7-time.js';
import type { Hl7Settings } from './settings.js';

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const PART_DEC = /^(\d{1,5})::(\d{1,5})$/;
const PART_HEX = /^([0-9A-Fa-f]{4})-([0-9A-Fa-f]{4})$/;

export interface OruResult {
  observations: Observation[];
  errors: string[];
}

/** Longest free text published (OBX string value, alarm text, label). */
export const MAX_TEXT_CHARS = 256;
/** Longest unit text published for a unit the profile does not know (`{text}`). */
export const MAX_UNIT_CHARS = 64;
/** Longest vendorCode (code key + OBX-4 channel). */
export const MAX_CODE_CHARS = 128;

/** `s` cut to `max` UTF-16 units (never inside a surrogate pair), counted 'text-truncated' in `errors`. */
export function boundText(s: string, max: number, errors: string[]): string {
  if (s.length <= max) return s;
  errors.push('text-truncated');
  const c = s.charCodeAt(max - 1);
  return s.slice(0, c >= 0xd800 && c <= 0xdbff ? max - 1 : max);
}

/** OBX-3 → profile key, or undefined when the OBX has no usable code. */
export function codeKey(id: string, system: string, s: Hl7Settings): string | undefined {
  const code = id.trim();
  if (!code) return undefined;
  const dec = PART_DEC.exec(code);
  if (dec) return `MDC:${Number(dec[1]) * 65536 + Number(dec[2])}`;
  const hex = PART_HEX.exec(code);
  if (hex) return `MDC:${parseInt(hex[1], 16) * 65536 + parseInt(hex[2], 16)}`;
  const sys = system.trim() || s.defaultSystem;
  const alias = s.systems[sys] ?? (sys || 'LOCAL');
  return `${alias}:${code}`;
}

/** OBX-6 → UCUM; undefined when empty; `{text}` (counted, text cut at MAX_UNIT_CHARS) when unknown. */
export function unitOf(parts: string[], s: Hl7Settings): { unit?: string; unknown?: boolean; truncated?: boolean } {
  const [id = '', text = '', system = ''] = parts.map((p) => p.trim());
  if (!id && !text) return {};
  if (system.toUpperCase() === 'UCUM' && id) return { unit: id };
  const hex = PART_HEX.exec(id);
  const key = hex ? String(parseInt(hex[1], 16) * 65536 + parseInt(hex[2], 16)) : id;
  const u = s.units[key] ?? s.units[id] ?? s.units[text];
  if (u) return { unit: u };
  const shown = (text || id).replace(/[{}]/g, '');
  const cut: string[] = [];
  const unit = `{${boundText(shown, MAX_UNIT_CHARS, cut)}}`;
  return cut.length ? { unit, unknown: true, truncated: true } : { unit, unknown: true };
}

function isSentinel(raw: string, v: number, s: Hl7Settings): boolean {
  return s.sentinels.has(v) || s.sentinelPrefixes.some((p) => raw.startsWith(p));
}

/** Channel part of OBX-4 (MDS.VMD.CHAN), '' when absent or a bare set id. */
function channel(containment: string): string {
  const parts = containment.split('.');
  return parts.length >= 3 ? parts.slice(0, 3).join('.') : '';
}

export function decodeOru(msg: Hl7Message, s: Hl7Settings, mapper: ProfileMapper, rxTimeMs: number): OruResult {
  const out: Observation[] = [];
  const errors: string[] = [];
  const msh = msg.segments[0];
  const mshT = parseHl7Time(comp(msg, msh, 7), s.timeZone);
  let obrT: number | undefined;
  for (const seg of msg.segments) {
    if (seg.id === 'OBR') {
      const raw = comp(msg, seg, 7);
      obrT = raw ? parseHl7Time(raw, s.timeZone) : undefined;
      if (raw && obrT === undefined) errors.push('bad-time');
      continue;
    }
    if (seg.id !== 'OBX') continue;
    const o = decodeObx(msg, seg, s, mapper, obrT ?? mshT ?? rxTimeMs, errors);
    if (o) out.push(o);
  }
  return { observations: out, errors };
}

function decodeObx(msg: Hl7Message, seg: Segment, s: Hl7Settings, mapper: ProfileMapper, tDefault: number, errors: string[]): Observation | undefined {
  const type = comp(msg, seg, 2).toUpperCase();
  const status = comp(msg, seg, 11).toUpperCase();
  const rawValue = comp(msg, seg, 5).trim();
  if (!type && !rawValue) return undefined; // containment header (MDS/VMD/CHAN) OBX
  if (status === 'D') {
    errors.push('deleted');
    return undefined;
  }
  if (type === 'NA' || type === 'ED') {
    errors.push('wave-unsupported');
    return undefined;
  }
  const [id = '', text = '', system = ''] = comps(msg, seg, 3);
  if (system.toUpperCase() === 'MDIL-ALERT') {
    if (id.length > MAX_CODE_CHARS) {
      errors.push('code-too-long');
      return undefined;
    }
    return alert(id, boundText(text, MAX_TEXT_CHARS, errors), boundText(rawValue, MAX_TEXT_CHARS, errors), tFor(msg, seg, s, tDefault, errors));
  }
  const key = codeKey(id, system, s);
  if (!key) {
    errors.push('no-code');
    return undefined;
  }
  const chan = channel(comp(msg, seg, 4));
  const vendorCode = chan ? `${key}@${chan}` : key;
  if (vendorCode.length > MAX_CODE_CHARS) {
    errors.push('code-too-long');
    return undefined;
  }
  const t = tFor(msg, seg, s, tDefault, errors);
  if (type !== 'NM' && type !== 'SN' && type !== '') {
    const m = mapper.profile.numerics[key];
    const value = rawValue === '' || status === 'X' ? null : boundText(rawValue, MAX_TEXT_CHARS, errors);
    const set: SettingObs = { kind: 'setting', name: m?.mdc ?? key, value, t, vendorCode };
    return set;
  }
  const flags: Flag[] = [];
  let value: number | null = null;
  // SN (structured numeric) is `<comparator>^<num>`: take the number.
  const numText = type === 'SN' ? comp(msg, seg, 5, 2).trim() : rawValue;
  if (status === 'X' || numText === '') flags.push('invalid');
  else if (!NUMBER.test(numText) || !Number.isFinite(Number(numText))) {
    // 1e400 overflows to Infinity: not a value
    errors.push('bad-value');
    flags.push('invalid');
  } else {
    const v = Number(numText);
    if (isSentinel(numText, v, s)) flags.push('invalid');
    else value = v;
  }
  const obs = mapper.numeric({ vendorCode: key, value, flags, t, tDevice: t, ...(text ? { label: boundText(text, MAX_TEXT_CHARS, errors) } : {}) });
  obs.vendorCode = vendorCode;
  const u = unitOf(comps(msg, seg, 6), s);
  if (u.unknown) errors.push('unknown-unit');
  if (u.truncated) errors.push('text-truncated');
  if (obs.code === null && obs.mdc === null) {
    if (u.unit) obs.unit = u.unit;
  } else if (u.unit && u.unit !== obs.unit) {
    // Units stay honest: the device's unit wins over the profile's (no silent conversion).
    errors.push('unit-differs');
    obs.unit = u.unit;
  }
  return obs;
}

function tFor(msg: Hl7Message, seg: Segment, s: Hl7Settings, tDefault: number, errors: string[]): number {
  const t14 = comp(msg, seg, 14);
  if (!t14) return tDefault;
  const v = parseHl7Time(t14, s.timeZone);
  if (v === undefined) errors.push('bad-time');
  return v ?? tDefault;
}

/**
 * Philips Efficia alerts (README §Alarms; one partial real example only [S]): OBR-4 ALARM, OBX type TX,
 * OBX-3 `<id>^<Red|Yellow|Cyan> Alarm^MDIL-ALERT`, OBX-5 the alarm text. Each message states the
 * alarms active now: published with phase 'update'.
 */
function alert(id: string, label: string, text: string, t: number): AlarmObs {
  const priority = /red/i.test(label) ? 'high' : /yellow/i.test(label) ? 'medium' : 'low';
  const technical = /cyan|inop/i.test(label) || /lead|probe|sensor|disconn|check|replace|battery|cable|fail|off\b/i.test(text);
  return {
    kind: 'alarm',
    mdc: null,
    code: null,
    text: text || label,
    priority,
    source: technical ? 'technical' : 'physiological',
    phase: 'update',
    t,
    vendorCode: `MDIL-ALERT:${id}`,
  };
}
