/**
 * Parsers for the data of MEDIBUS responses (README §Files, §Vendor codes), vendor terms only. Every parser is
 * total: malformed items are counted and skipped, the good items of the same answer are kept.
 */
const hex2 = (n: number): string => n.toString(16).toUpperCase().padStart(2, '0');
const HEX2 = /^[0-9A-Fa-f]{2}$/;

export interface DataItem {
  code: string;
  raw: string;
  value: number | null;
}
export interface AlarmItem {
  code: string;
  priority: number;
  text: string;
}
export interface TextItem {
  code: string;
  text: string;
}
export interface DeviceId {
  id: string;
  name: string;
  revision: string;
}

/** Right-aligned numeric field ("  25", "12.5", " -.5"); blank or non-numeric → null (not available). */
export function parseValue(raw: string): number | null {
  const t = raw.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(t)) return null;
  const v = Number(t);
  return Number.isFinite(v) ? v : null;
}

/** n × (2 hex code + `width` value chars): measured data (width 4), limits (4), settings (5). */
export function parseItems(data: Buffer, width: number): { items: DataItem[]; bad: number } {
  const s = data.toString('latin1');
  const step = 2 + width;
  const items: DataItem[] = [];
  let bad = s.length % step ? 1 : 0;
  for (let i = 0; i + step <= s.length; i += step) {
    const c = s.slice(i, i + 2);
    if (!HEX2.test(c)) {
      bad++;
      continue;
    }
    const raw = s.slice(i + 2, i + step);
    items.push({ code: c.toUpperCase(), raw, value: parseValue(raw) });
  }
  return { items, bad };
}

export function encodeItems(items: { code: number; raw: string }[], width: number): string {
  return items.map((it) => hex2(it.code) + it.raw.slice(0, width).padStart(width)).join('');
}

/** Formats a value right-aligned in `width` chars with at most `decimals` decimals. */
export function formatValue(v: number | null, width: number, decimals: number): string {
  if (v === null) return ' '.repeat(width);
  for (let d = decimals; d >= 0; d--) {
    let t = v.toFixed(d);
    if (t.startsWith('0.') && t.length > width) t = t.slice(1);
    if (t.startsWith('-0.') && t.length > width) t = `-${t.slice(2)}`;
    if (t.length <= width) return t.padStart(width);
  }
  return ' '.repeat(width);
}

/** n × 15 chars: priority digit + code (2 hex) + 12-char text. */
export function parseAlarms(data: Buffer): { items: AlarmItem[]; bad: number } {
  const s = data.toString('latin1');
  const items: AlarmItem[] = [];
  let bad = s.length % 15 ? 1 : 0;
  for (let i = 0; i + 15 <= s.length; i += 15) {
    const p = s.charCodeAt(i) - 0x30;
    const c = s.slice(i + 1, i + 3);
    if (p < 0 || p > 9 || !HEX2.test(c)) {
      bad++;
      continue;
    }
    items.push({ priority: p, code: c.toUpperCase(), text: s.slice(i + 3, i + 15).trim() });
  }
  return { items, bad };
}

export function encodeAlarms(items: { priority: number; code: number; text: string }[]): string {
  return items.map((a) => `${a.priority}${hex2(a.code)}${a.text.slice(0, 12).padEnd(12)}`).join('');
}

/** n × (2 hex code + length char (0x30 + n) + n chars + ETX). */
export function parseTexts(data: Buffer): { items: TextItem[]; bad: number } {
  const s = data.toString('latin1');
  const items: TextItem[] = [];
  let i = 0;
  let bad = 0;
  while (i < s.length) {
    const c = s.slice(i, i + 2);
    const n = s.charCodeAt(i + 2) - 0x30;
    const end = i + 3 + n;
    if (!HEX2.test(c) || !(n >= 0) || end >= s.length || s.charCodeAt(end) !== 3) {
      bad++;
      const etx = s.indexOf('\x03', i);
      if (etx < 0) break;
      i = etx + 1;
      continue;
    }
    items.push({ code: c.toUpperCase(), text: s.slice(i + 3, end).trim() });
    i = end + 1;
  }
  return { items, bad };
}

export function encodeTexts(items: { code: number; text: string }[]): string {
  return items.map((t) => `${hex2(t.code)}${String.fromCharCode(0x30 + t.text.length)}${t.text}\x03`).join('');
}

const MONTHS: Record<string, number> = {
  JAN: 1,
  FEB: 2,
  MAR: 3,
  MRZ: 3,
  APR: 4,
  MAY: 5,
  MAI: 5,
  JUN: 6,
  JUL: 7,
  AUG: 8,
  SEP: 9,
  OCT: 10,
  OKT: 10,
  NOV: 11,
  DEC: 12,
  DEZ: 12,
};

/**
 * "HH:MM:SS" + optional space + "DD-MMM-YY" (English or German month) → epoch ms, reading the
 * device's local wall clock as UTC (MEDIBUS carries no zone). undefined when malformed.
 */
export function parseDateTime(data: Buffer): number | undefined {
  const m = /^\s*(\d{2}):(\d{2}):(\d{2})\s*(\d{1,2})-([A-Za-z]{3})-(\d{2}|\d{4})\s*$/.exec(data.toString('latin1'));
  if (!m) return undefined;
  const month = MONTHS[m[5].toUpperCase()];
  const [h, mi, sec, d] = [m[1], m[2], m[3], m[4]].map(Number);
  if (!month || h > 23 || mi > 59 || sec > 59 || d < 1 || d > 31) return undefined;
  const y = m[6].length === 2 ? 2000 + Number(m[6]) : Number(m[6]);
  return Date.UTC(y, month - 1, d, h, mi, sec);
}

const EN_MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

/** The Atlan's format: no space between time and date. */
export function encodeDateTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}${p(d.getUTCDate())}-${EN_MONTHS[d.getUTCMonth()]}-${p(d.getUTCFullYear() % 100)}`;
}

/** 4-char id + 'name' + revision, e.g. 5555'A3XX'02.11:06.00. */
export function parseDeviceId(data: Buffer): DeviceId | undefined {
  const m = /^(.{4})'([^']*)'(.*)$/s.exec(data.toString('latin1'));
  if (!m) return undefined;
  return { id: m[1].trim(), name: m[2].trim(), revision: m[3].trim() };
}

export function encodeDeviceId(d: DeviceId): string {
  return `${d.id.padStart(4).slice(0, 4)}'${d.name}'${d.revision}`;
}
