/**
 * Host → monitor messages (README §Session). The AARQ keeps the known-good byte layout of the
 * LAN association request (MPSimulator/VSCaptureMP `aarq_msg_wave_ext_poll2`); only the poll
 * profile fields (min poll period, MTUs, PollProfileExt options) are patched, so lengths never
 * change. All other messages are built from their structures.
 */
import { IntelliVueError, GW_ERR_INTELLIVUE } from './errors.js';
import { ACT, ATTR, CMD, MOC, NOTI, PART, RO } from './nomenclature.js';

const AARQ_TEMPLATE = Buffer.from(
  '0dff01280508130100160102800014020002c1ff01163180a0808001010000a280a003000001a4803080020101060452010001308006025101000000003080020102060c2a8648ce14020100000001013080060c2a8648ce140201000000020100000000000061803080020101a0806080a180060c2a8648ce14020100000003010000be802880060c2a8648ce14020100000001010201028182008080000000400000000000000080000000200000000000000000020064000100288000000000000fa0000005b0000005b0ffffffff600000000001000cf00100088e000000000000000102003400060030000100210000000100010006000000c9000100090000003c00010005000000100001002a00000001000100360000000100000000000000000000000000000000',
  'hex',
);
/** Offset of NOM_POLL_PROFILE_SUPPORT (00 01 00 28) inside the template. */
const POLL_PROFILE_AT = AARQ_TEMPLATE.indexOf(Buffer.from('0001002880000000', 'hex'));

export interface AarqOptions {
  /** min_poll_period in 125 µs ticks (LAN 4000 = 500 ms). */
  minPollPeriodTicks?: number;
  maxMtuRx?: number;
  maxMtuTx?: number;
  /** PollProfileExt.options (POLL_EXT_*), e.g. 0x8C000000. */
  pollExtOptions?: number;
}

export function encodeAarq(o: AarqOptions = {}): Buffer {
  const b = Buffer.from(AARQ_TEMPLATE);
  const p = POLL_PROFILE_AT + 4; // PollProfileSupport
  if (o.minPollPeriodTicks !== undefined) b.writeUInt32BE(o.minPollPeriodTicks >>> 0, p + 4);
  if (o.maxMtuRx !== undefined) b.writeUInt32BE(o.maxMtuRx >>> 0, p + 8);
  if (o.maxMtuTx !== undefined) b.writeUInt32BE(o.maxMtuTx >>> 0, p + 12);
  if (o.pollExtOptions !== undefined) b.writeUInt32BE(o.pollExtOptions >>> 0, p + 32);
  return b;
}

/** Reads back the poll profile fields of an AARQ (the simulator uses it). */
export function parseAarq(b: Buffer): Required<AarqOptions> | undefined {
  const at = b.indexOf(Buffer.from('000100288', 'hex').subarray(0, 4));
  if (b[0] !== 0x0d || at < 0 || at + 40 > b.length) return undefined;
  const p = at + 4;
  return {
    minPollPeriodTicks: b.readUInt32BE(p + 4),
    maxMtuRx: b.readUInt32BE(p + 8),
    maxMtuTx: b.readUInt32BE(p + 12),
    pollExtOptions: b.readUInt32BE(p + 32),
  };
}

/** Release request (session FN + ACSE RLRQ, reason normal). */
export const RELEASE_REQUEST = Buffer.from('0918c11661803080020101a080628080010000000000000000', 'hex');
/** Release response (session DN + ACSE RLRE). */
export const RELEASE_RESPONSE = Buffer.from('0a18c11661803080020101a080638080010000000000000000', 'hex');
/** Abort SPDU. The exact user data of a monitor abort is not verified [U]; receivers key on 0x19 only. */
export const ABORT = Buffer.from('1900', 'hex');
/** Refuse SPDU (RF); user data not verified [U]; receivers key on 0x0C only. */
export const REFUSE = Buffer.from('0c00', 'hex');

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
const MDS_OBJ = Buffer.from([0x00, MOC.VMS_MDS, 0, 0, 0, 0]);

function checkLen(n: number): void {
  if (n > 0xffff) throw new IntelliVueError(GW_ERR_INTELLIVUE.ENCODE, `message body of ${n} bytes exceeds a u16 length`);
}

/** SPpdu + ROapdus(ro) + {invoke, command, length} + body. RORLS takes its linked id. */
export function encodeRo(ro: number, invokeId: number, command: number, body: Buffer, linked?: { state: number; count: number }): Buffer {
  const head = linked ? Buffer.from([linked.state, linked.count]) : Buffer.alloc(0);
  const inner = Buffer.concat([head, u16(invokeId), u16(command), u16(body.length), body]);
  checkLen(inner.length);
  return Buffer.concat([Buffer.from([0xe1, 0x00, 0x00, 0x02]), u16(ro), u16(inner.length), inner]);
}

export function encodeRoer(invokeId: number, errorValue: number): Buffer {
  return Buffer.concat([Buffer.from([0xe1, 0x00, 0x00, 0x02]), u16(RO.ROER), u16(6), u16(invokeId), u16(errorValue), u16(0)]);
}

export function encodeMdsCreateResult(invokeId: number, currentTime = 0): Buffer {
  const body = Buffer.concat([MDS_OBJ, u32(currentTime), u16(NOTI.MDS_CREAT), u16(0)]);
  return encodeRo(RO.RORS, invokeId, CMD.CONFIRMED_EVENT_REPORT, body);
}

export interface PollRequest {
  invokeId: number;
  pollNumber: number;
  /** NOM_MOC_* object class polled (numerics 0x0006, waves 0x0009, alerts 0x0036). */
  objType: number;
  attrGroup?: number;
  /** Extended poll duration in 125 µs ticks (NOM_ATTR_TIME_PD_POLL); undefined = single poll. */
  durationTicks?: number;
  /** Extended poll without a duration attribute (the MP20 capture's data poll). */
  extended?: boolean;
}

export function encodePoll(p: PollRequest): Buffer {
  const ext = p.durationTicks !== undefined || p.extended === true;
  const attrs =
    p.durationTicks !== undefined ? Buffer.concat([u16(1), u16(8), u16(ATTR.TIME_PD_POLL), u16(4), u32(p.durationTicks)]) : Buffer.concat([u16(0), u16(0)]);
  const req = Buffer.concat([u16(p.pollNumber), u16(PART.OBJ), u16(p.objType), u16(p.attrGroup ?? 0), ...(ext ? [attrs] : [])]);
  const body = Buffer.concat([MDS_OBJ, u32(0), u16(ext ? ACT.POLL_MDIB_DATA_EXT : ACT.POLL_MDIB_DATA), u16(req.length), req]);
  return encodeRo(RO.ROIV, p.invokeId, CMD.CONFIRMED_ACTION, body);
}

/** TextId of a wave label: partition 2 + physio id (ECG II 0x0102 → 0x00020102). */
export function waveTextId(physioId: number): number {
  return (PART.SCADA << 16) | physioId;
}

/** CONFIRMED_SET of the RTSA priority list (which waves the monitor sends). */
export function encodeSetRtsaPrio(invokeId: number, textIds: number[]): Buffer {
  const list = Buffer.concat([u16(textIds.length), u16(textIds.length * 4), ...textIds.map(u32)]);
  const ava = Buffer.concat([u16(0), u16(ATTR.POLL_RTSA_PRIO_LIST), u16(list.length), list]); // modify_operator REPLACE
  const body = Buffer.concat([MDS_OBJ, u32(0), u16(1), u16(ava.length), ava]);
  return encodeRo(RO.ROIV, invokeId, CMD.CONFIRMED_SET, body);
}

/** Parsed host request (the simulator's view). */
export type HostRequest =
  | { kind: 'aarq'; options?: Required<AarqOptions> }
  | { kind: 'release' }
  | { kind: 'abort' }
  | { kind: 'mds-create-result'; invokeId: number }
  | { kind: 'poll'; invokeId: number; pollNumber: number; objType: number; durationTicks?: number; extended: boolean }
  | { kind: 'set-rtsa'; invokeId: number; textIds: number[] }
  | { kind: 'other'; invokeId?: number; command?: number };

export function parseHostRequest(b: Buffer): HostRequest {
  if (b[0] === 0x0d) return { kind: 'aarq', options: parseAarq(b) };
  if (b[0] === 0x09) return { kind: 'release' };
  if (b[0] === 0x19) return { kind: 'abort' };
  if (b.length < 14 || b[0] !== 0xe1) return { kind: 'other' };
  const ro = b.readUInt16BE(4);
  const invokeId = b.readUInt16BE(8);
  const command = b.readUInt16BE(10);
  if (ro === RO.RORS && command === CMD.CONFIRMED_EVENT_REPORT) return { kind: 'mds-create-result', invokeId };
  if (ro === RO.ROIV && command === CMD.CONFIRMED_ACTION && b.length >= 34) {
    const action = b.readUInt16BE(24);
    const pollNumber = b.readUInt16BE(28);
    const objType = b.readUInt16BE(32);
    const extended = action === ACT.POLL_MDIB_DATA_EXT;
    let durationTicks: number | undefined;
    if (extended && b.length >= 48 && b.readUInt16BE(36) >= 1 && b.readUInt16BE(40) === ATTR.TIME_PD_POLL) durationTicks = b.readUInt32BE(44);
    return { kind: 'poll', invokeId, pollNumber, objType, extended, ...(durationTicks !== undefined ? { durationTicks } : {}) };
  }
  if (ro === RO.ROIV && command === CMD.CONFIRMED_SET && b.length >= 38 && b.readUInt16BE(30) === ATTR.POLL_RTSA_PRIO_LIST) {
    const n = b.readUInt16BE(34);
    const textIds: number[] = [];
    for (let i = 0; i < n && 38 + i * 4 + 4 <= b.length; i++) textIds.push(b.readUInt32BE(38 + i * 4));
    return { kind: 'set-rtsa', invokeId, textIds };
  }
  return { kind: 'other', invokeId, command };
}
