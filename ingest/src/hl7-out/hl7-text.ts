/**
 * Small HL7 v2 text helpers for the outbound messages: escaping of every text value (`| ^ ~ \ &`,
 * line breaks), times with an explicit offset, segments joined by CR. Parsing (tests, the profile
 * checker, ACKs) reuses the gateway's generic parser (gateway/src/protocols/hl7-mllp/hl7.ts).
 */
import { DEFAULT_SEPS, escapeHl7 } from '../../../gateway/src/protocols/hl7-mllp/hl7.js';
import { formatHl7Time } from '../../../gateway/src/protocols/hl7-mllp/hl7-time.js';

/** an escaped text value (never a separator in its output) */
export const esc = (s: string | number | null | undefined): string => (s === null || s === undefined ? '' : escapeHl7(String(s), DEFAULT_SEPS));

/** components already escaped → one field */
export const comps = (...c: string[]): string => c.join(DEFAULT_SEPS.component).replace(/\^+$/, '');

/** UTC ms → HL7 DTM with milliseconds and +0000 */
export const hl7Time = (ms: number): string => formatHl7Time(ms, 'UTC', true);

/** one segment: id and fields 1..n (already escaped); trailing empty fields dropped */
export function seg(id: string, fields: string[]): string {
  const f = [...fields];
  while (f.length && f[f.length - 1] === '') f.pop();
  return [id, ...f].join(DEFAULT_SEPS.field);
}

/** the MSH segment (MSH-1 and MSH-2 written by this function; fields from MSH-3 on) */
export function msh(fields: {
  sendingApp: string;
  sendingFacility: string;
  receivingApp: string;
  receivingFacility: string;
  time: number;
  type: string;
  controlId: string;
  profile: string;
}): string {
  const f: string[] = [];
  f[3] = fields.sendingApp;
  f[4] = fields.sendingFacility;
  f[5] = fields.receivingApp;
  f[6] = fields.receivingFacility;
  f[7] = hl7Time(fields.time);
  f[9] = fields.type;
  f[10] = esc(fields.controlId);
  f[11] = 'P';
  f[12] = '2.6';
  f[15] = 'NE';
  f[16] = 'AL';
  f[18] = 'UNICODE UTF-8';
  f[21] = fields.profile;
  const out = ['MSH', '^~\\&'];
  for (let i = 3; i <= 21; i++) out.push(f[i] ?? '');
  return out.join('|');
}
