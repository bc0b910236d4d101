/**
 * ACKs to the HIS (original acknowledgment mode): AA applied; AE understood but not applied;
 * AR unreadable or unsupported. MSA-2 echoes MSH-10, MSA-3 and ERR-8 carry the reason, ERR-2 where
 * and ERR-3 the HL7 table 0357 code. Text is escaped with the sender's separators.
 */
import { comp, escapeHl7, rawField, DEFAULT_SEPS, type Hl7Message } from '../../../gateway/src/protocols/hl7-mllp/hl7.js';
import { formatHl7Time } from '../../../gateway/src/protocols/hl7-mllp/hl7-time.js';
import type { ErrCode } from './his-message.js';

export type HisAckCode = 'AA' | 'AE' | 'AR';

const ERR_TEXT: Record<ErrCode, string> = {
  100: 'Segment sequence error',
  101: 'Required field missing',
  102: 'Data type error',
  200: 'Unsupported message type',
  201: 'Unsupported event code',
  204: 'Unknown key identifier',
  206: 'Application record locked',
  207: 'Application internal error',
};

export interface HisAckOptions {
  nowMs: number;
  /** MSH-10 of the ACK */
  controlId: string;
  text?: string;
  errCode?: ErrCode;
  /** ERR-2 error location, e.g. `PV1^1^3` */
  location?: string;
  app?: string;
}

export function buildHisAck(msg: Hl7Message | undefined, code: HisAckCode, o: HisAckOptions): string {
  const seps = msg?.seps ?? DEFAULT_SEPS;
  const f = seps.field,
    c = seps.component;
  const esc = (s: string) => escapeHl7(s, seps);
  const msh = msg?.segments[0];
  const trigger = msg ? comp(msg, msh, 9, 2) : '';
  const version = (msg && comp(msg, msh, 12)) || '2.5';
  const header = [
    'MSH',
    `${c}${seps.repetition}${seps.escape}${seps.subcomponent}`,
    esc(o.app ?? 'ORLINK'),
    '',
    rawField(msh, 3),
    rawField(msh, 4),
    formatHl7Time(o.nowMs),
    '',
    `ACK${trigger ? `${c}${esc(trigger)}${c}ACK` : ''}`,
    esc(o.controlId),
    'P',
    esc(version),
  ].join(f);
  const text = o.text ? o.text.replace(/[\r\n]+/g, ' ') : '';
  const segs = [header, ['MSA', code, esc(msg ? comp(msg, msh, 10) : ''), ...(text ? [esc(text.slice(0, 80))] : [])].join(f)];
  if (code !== 'AA') {
    const err = o.errCode ?? (code === 'AR' ? '200' : '207');
    const where = o.location ? o.location.split('^').map(esc).join(c) : '';
    segs.push(['ERR', '', where, `${err}${c}${ERR_TEXT[err]}${c}HL70357`, 'E', '', '', '', esc(text.slice(0, 250))].join(f));
  }
  return segs.join('\r') + '\r';
}
