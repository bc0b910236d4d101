/**
 * ACK / NAK messages (HL7 v2 original and enhanced acknowledgment modes) and the policy that picks
 * the code: original mode AA/AE/AR, enhanced accept acknowledgment CA/CE/CR, or none. 'auto'
 * follows the sender's MSH-15/16 (MSH-15 AL/ER → accept ACK; else MSH-16 AL/ER, or both empty
 * → original-mode ACK). MSA-2 echoes MSH-10; MSA-3 and ERR carry a clear error text.
 */
import { comp, escapeHl7, rawField, DEFAULT_SEPS, type Hl7Message } from './hl7.js';
import { formatHl7Time } from './hl7-time.js';
import type { Hl7Settings } from './settings.js';

export type AckCode = 'AA' | 'AE' | 'AR' | 'CA' | 'CE' | 'CR';
export type Outcome = 'ok' | 'error' | 'reject';

const CODES: Record<'original' | 'enhanced', Record<Outcome, AckCode>> = {
  original: { ok: 'AA', error: 'AE', reject: 'AR' },
  enhanced: { ok: 'CA', error: 'CE', reject: 'CR' },
};

/** The ACK code to send for this message and outcome, or undefined for "no ACK". */
export function ackCode(policy: Hl7Settings['ack'], msg: Hl7Message | undefined, outcome: Outcome): AckCode | undefined {
  if (policy === 'none') return undefined;
  if (policy === 'original' || policy === 'enhanced') return CODES[policy][outcome];
  const msh = msg?.segments[0];
  const accept = msg ? comp(msg, msh, 15).toUpperCase() : '';
  const app = msg ? comp(msg, msh, 16).toUpperCase() : '';
  const wanted = (c: string) => c === 'AL' || (c === 'ER' && outcome !== 'ok');
  if (accept) return wanted(accept) ? CODES.enhanced[outcome] : wanted(app) ? CODES.original[outcome] : undefined;
  if (!app || wanted(app)) return CODES.original[outcome];
  return undefined;
}

export interface AckOptions {
  nowMs: number;
  controlId: string;
  /** Our application / facility (MSH-3/4 of the ACK). */
  app?: string;
  facility?: string;
  text?: string;
  version?: string;
}

/** Builds the ACK as text with CR segment terminators (MLLP-wrap it to send). */
export function buildAck(msg: Hl7Message | undefined, code: AckCode, o: AckOptions): string {
  const seps = msg?.seps ?? DEFAULT_SEPS;
  const f = seps.field;
  const enc = `${seps.component}${seps.repetition}${seps.escape}${seps.subcomponent}`;
  const msh = msg?.segments[0];
  const version = (msg && comp(msg, msh, 12)) || o.version || '2.6';
  const trigger = msg ? comp(msg, msh, 9, 2) : '';
  const echo = msg ? comp(msg, msh, 10) : '';
  const esc = (s: string) => escapeHl7(s, seps);
  const type = `ACK${trigger ? `${seps.component}${esc(trigger)}${seps.component}ACK` : ''}`;
  const header = [
    'MSH',
    enc,
    esc(o.app ?? 'ORLINK'),
    esc(o.facility ?? ''),
    rawField(msh, 3),
    rawField(msh, 4),
    formatHl7Time(o.nowMs),
    '',
    type,
    esc(o.controlId),
    'P',
    esc(version),
  ].join(f);
  const msa = ['MSA', code, esc(echo), ...(o.text ? [esc(o.text.slice(0, 80))] : [])].join(f);
  const segs = [header, msa];
  if (o.text && code !== 'AA' && code !== 'CA') {
    const errCode = code.endsWith('R')
      ? `200${seps.component}Unsupported message${seps.component}HL70357`
      : `207${seps.component}Application internal error${seps.component}HL70357`;
    segs.push(['ERR', '', '', errCode, 'E', '', '', '', esc(o.text.slice(0, 250))].join(f));
  }
  return segs.join('\r') + '\r';
}
