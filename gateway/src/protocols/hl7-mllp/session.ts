/**
 * HL7/MLLP session driver. Server role (GE B40/B105, PCD-01 senders connect to the gateway's
 * 'tcp-server' transport): every received message is answered with the ACK its profile asks for.
 * Client role (Mindray PDS: the gateway connects out over 'tcp'): additionally sends the PDS
 * heartbeat `MSH|^~\&|||||||ORU^R01|106|P|2.3.1|` every heartbeatS seconds (starting at start()).
 */
import type { Observation } from '../../../../schemas/src/observation.js';
import type { SessionDriver, SessionIO, SessionOptions } from '../protocol.js';
import { Hl7Error } from './errors.js';
import { checkTimeZone } from './hl7-time.js';
import { mllpWrap } from './mllp.js';
import { Hl7StreamDecoder, type Hl7DecoderOptions } from './stream-decoder.js';

const ACKS = ['original', 'enhanced', 'none', 'auto'] as const;

/** Device `options` → decoder options; throws Hl7Error (fatal) on options it cannot serve. */
export function resolveOptions(o: SessionOptions): Hl7DecoderOptions & { heartbeatS?: number } {
  const opt = o.options ?? {};
  const out: Hl7DecoderOptions & { heartbeatS?: number } = { ...o };
  delete (out as { options?: unknown }).options;
  if (opt.acceptBeds !== undefined) {
    if (!Array.isArray(opt.acceptBeds) || !opt.acceptBeds.every((b) => typeof b === 'string'))
      throw new Hl7Error('options.acceptBeds must be a list of PV1-3 strings');
    out.acceptBeds = opt.acceptBeds as string[];
  }
  if (opt.timeZone !== undefined) {
    try {
      checkTimeZone(String(opt.timeZone));
    } catch (err) {
      throw new Hl7Error(`options.timeZone '${String(opt.timeZone)}' is not UTC, ±HHMM or an IANA zone`, { cause: err });
    }
    out.timeZone = String(opt.timeZone);
  }
  if (opt.ack !== undefined) {
    if (!ACKS.includes(opt.ack as (typeof ACKS)[number])) throw new Hl7Error(`options.ack must be one of ${ACKS.join(', ')}`);
    out.ack = opt.ack as Hl7DecoderOptions['ack'];
  }
  if (opt.heartbeatS !== undefined) {
    if (typeof opt.heartbeatS !== 'number' || opt.heartbeatS < 0 || opt.heartbeatS > 3600) throw new Hl7Error('options.heartbeatS must be 0..3600');
    out.heartbeatS = opt.heartbeatS;
  }
  if (typeof opt.app === 'string') out.app = opt.app;
  if (typeof opt.facility === 'string') out.facility = opt.facility;
  return out;
}

export class Hl7Session implements SessionDriver {
  private readonly dec: Hl7StreamDecoder;
  private readonly heartbeatMs: number;
  private readonly heartbeatId: string;
  private io?: SessionIO;
  private lastBeat = -Infinity;

  constructor(opts: SessionOptions = {}) {
    const r = resolveOptions(opts);
    this.dec = new Hl7StreamDecoder(r);
    const s = this.dec.activeSettings();
    const hb = r.heartbeatS ?? (s?.role === 'client' ? s.heartbeatS : 0);
    this.heartbeatMs = hb * 1000;
    this.heartbeatId = s?.heartbeatControlId ?? '106';
  }

  start(io: SessionIO): void {
    this.io = io;
    this.lastBeat = -Infinity;
  }

  onBytes(chunk: Uint8Array, rxTimeMs: number): Observation[] {
    const obs = this.dec.push(chunk, rxTimeMs);
    for (const r of this.dec.takeForSession()) this.io?.write(r);
    return obs;
  }

  tick(nowMs: number): void {
    if (!this.io || this.heartbeatMs <= 0 || nowMs - this.lastBeat < this.heartbeatMs) return;
    this.lastBeat = nowMs;
    this.io.write(mllpWrap(`MSH|^~\\&|||||||ORU^R01|${this.heartbeatId}|P|2.3.1|\r`));
  }

  stop(): void {
    this.io = undefined;
  }

  decoder(): Hl7StreamDecoder {
    return this.dec;
  }

  lastFrameAt(): number | undefined {
    return this.dec.lastFrameAt();
  }
}
