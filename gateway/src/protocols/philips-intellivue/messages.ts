/**
 * Session + presentation layer of one Data Export message (README §Layers): session SPDUs
 * (CN/AC/RF/FN/DN/AB) and data SPpdus carrying ROapdus (ROIV/RORS/ROER/RORLS). Throws ShortRead on
 * truncated input (the decoder counts it).
 */
import { Reader, ShortRead } from './reader.js';
import { RO, SPDU } from './nomenclature.js';

export type SessionKind = 'CN' | 'AC' | 'RF' | 'FN' | 'DN' | 'AB';

export interface SessionMsg {
  kind: 'session';
  spdu: SessionKind;
}

export interface DataMsg {
  kind: 'data';
  ro: 'ROIV' | 'RORS' | 'ROER' | 'RORLS';
  invokeId: number;
  /** command_type (ROIV/RORS/RORLS) */
  command: number;
  /** RORLS linked id */
  linked?: { state: number; count: number };
  /** ROER error_value */
  errorValue?: number;
  /** the argument/result body */
  body: Reader;
}

/** A Connect Indication (UDP 24005): Nomenclature 00 00 01 00 + ROIV event report. */
export interface ConnectIndicationMsg {
  kind: 'connect-indication';
  body: Reader;
}

export type Message = SessionMsg | DataMsg | ConnectIndicationMsg;

const SESSION: Record<number, SessionKind> = { [SPDU.CN]: 'CN', [SPDU.AC]: 'AC', [SPDU.RF]: 'RF', [SPDU.FN]: 'FN', [SPDU.DN]: 'DN', [SPDU.AB]: 'AB' };

export class UnknownMessage extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'UnknownMessage';
  }
}

export function parseMessage(buf: Buffer): Message {
  if (buf.length < 2) throw new ShortRead('message');
  const first = buf[0];
  const session = SESSION[first];
  if (session) return { kind: 'session', spdu: session };
  if (first === 0x00 && buf.length >= 4 && buf.readUInt32BE(0) === 0x00000100) {
    return { kind: 'connect-indication', body: new Reader(buf, 4) };
  }
  if (first !== SPDU.DATA) throw new UnknownMessage('spdu');
  const r = new Reader(buf);
  r.u32('sppdu'); // E1 00 00 02
  const roType = r.u16('ro_type');
  const len = r.u16('ro length');
  const ro = r.sub(Math.min(len, r.remaining()), 'ro body');
  if (len > ro.end - ro.pos) throw new ShortRead('ro length');
  switch (roType) {
    case RO.ROIV:
    case RO.RORS: {
      const invokeId = ro.u16();
      const command = ro.u16();
      const body = ro.sub(ro.u16('arg length'));
      return { kind: 'data', ro: roType === RO.ROIV ? 'ROIV' : 'RORS', invokeId, command, body };
    }
    case RO.RORLS: {
      const linked = { state: ro.u8(), count: ro.u8() };
      const invokeId = ro.u16();
      const command = ro.u16();
      const body = ro.sub(ro.u16('arg length'));
      return { kind: 'data', ro: 'RORLS', invokeId, command, linked, body };
    }
    case RO.ROER: {
      const invokeId = ro.u16();
      const errorValue = ro.u16();
      const body = ro.sub(Math.min(ro.u16(), ro.remaining()));
      return { kind: 'data', ro: 'ROER', invokeId, command: -1, errorValue, body };
    }
    default:
      throw new UnknownMessage('ro_type');
  }
}
