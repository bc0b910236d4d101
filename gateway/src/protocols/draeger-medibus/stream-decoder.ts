/**
 * MEDIBUS StreamDecoder: framer (RX and, for captures, TX) → answers / realtime → profile mapping.
 * Device → host bytes go to push(); host → device bytes to pushTx() (only the host's ESC T tells
 * which realtime code is stream 1, 2, …). The session takes the verified frames
 * from takeForSession() (the session channel, protocol.ts).
 * Time: the receive time when given; in `orlink decode` (no receive times, device time base) a
 * virtual clock that starts at 0 (or at the device's date/time answer) and advances by one
 * realtime cycle per cycle received — MEDIBUS frames carry no timestamps.
 */
import type { Observation, WaveObs } from '../../../../schemas/src/observation.js';
import type { Profile } from '../../../../schemas/src/profile.js';
import { profilesFor, type ProfileSet } from '../../profiles/load.js';
import { ProfileMapper } from '../../profiles/map.js';
import { matchProfile } from '../../profiles/match.js';
import {
  addErrors,
  countError,
  offerToSession,
  type DecodeStats,
  type DecoderOptions,
  type DeviceIdentity,
  type ProtocolDecoder,
  type SessionChannel,
} from '../protocol.js';
import { ANSWER_NAMES, AnswerMapper } from './answers.js';
import { CMD, type Frame } from './frame.js';
import { MedibusFramer } from './framer.js';
import { parseDateTime, parseDeviceId } from './messages.js';
import { parseRtConfig, parseRtSelection, RtParser, type RtEvent, type RtSelection } from './realtime.js';
import { WaveAssembler } from './wave-assembler.js';

export const PROTOCOL_NAME = 'draeger-medibus';
export const VENDOR = 'Draeger';
const REANCHOR_MS = 1000;

export interface MedibusDecoderOptions extends DecoderOptions {
  profiles?: ProfileSet;
  maxFrameBytes?: number;
}

/** This protocol's profiles from `dir` (default firmware-profiles/), through the one cache in profiles/load.ts. */
export function medibusProfiles(dir?: string): ProfileSet {
  return profilesFor(PROTOCOL_NAME, dir);
}

/** The profile for an identified model, or the generic one (no `models` in its match) before. */
export function profileFor(set: ProfileSet, model?: string): Profile {
  return matchProfile(set, { protocol: PROTOCOL_NAME, vendor: VENDOR, model: model || '(unidentified)' });
}

export class MedibusStreamDecoder implements ProtocolDecoder, SessionChannel<Frame> {
  private readonly rx: MedibusFramer;
  private readonly tx: MedibusFramer;
  private readonly rt = new RtParser();
  private readonly set: ProfileSet;
  private readonly fixed: boolean;
  private profile: Profile;
  private readonly answers: AnswerMapper;
  private readonly waves: WaveAssembler;
  private ident?: DeviceIdentity;
  private readonly errors: Record<string, number> = {};
  private readonly records: Record<string, number> = {};
  private virtualMs = 0;
  private cycleNo = 0;
  private anchor?: { t: number; cycle: number };
  private offset?: number;
  private lastFrame?: number;
  private cyclesLeft = 0;
  /** receive time of the last chunk (the time of a cycle cut short by flush()) */
  private lastRx?: number;

  constructor(private readonly opts: MedibusDecoderOptions = {}) {
    this.rx = new MedibusFramer({ maxFrameBytes: opts.maxFrameBytes });
    this.tx = new MedibusFramer({ maxFrameBytes: opts.maxFrameBytes });
    this.set = opts.profiles ?? medibusProfiles(opts.profilesDir);
    this.fixed = !!opts.profileId && opts.profileId !== 'auto';
    this.profile = this.fixed ? matchProfile(this.set, { protocol: PROTOCOL_NAME }, opts.profileId) : profileFor(this.set);
    const mapper = new ProfileMapper(this.profile);
    this.answers = new AnswerMapper(mapper, (k, n) => this.count(k, n));
    const block = this.profile.params?.waveBlockSamples;
    this.waves = new WaveAssembler(this.profile, typeof block === 'number' ? block : 25);
  }

  /** Verified frames not yet taken by the session. */
  private readonly forSession: Frame[] = [];

  push(chunk: Uint8Array, rxTimeMs?: number): Observation[] {
    const { obs, frames } = this.handle(chunk, rxTimeMs);
    offerToSession(this.forSession, ...frames);
    return obs;
  }

  /** The session channel: the verified frames (commands to answer, answers that pace the polling). */
  takeForSession(): Frame[] {
    return this.forSession.splice(0);
  }

  /** Host → device bytes of a capture: learns the realtime stream assignment from ESC T. */
  pushTx(chunk: Uint8Array): Observation[] {
    const out: Observation[] = [];
    for (const ev of this.tx.push(chunk)) {
      if (ev.kind === 'frame' && ev.frame.kind === 'command') this.noteHostCommand(ev.frame.cmd, ev.frame.args, out);
    }
    return out;
  }

  /** What the host sent (the session calls this for its own commands). */
  noteHostCommand(cmd: number, args: Buffer, out: Observation[] = []): void {
    if (cmd !== CMD.RT_CONFIGURE) return;
    const sel = parseRtSelection(args);
    if (!sel) {
      this.count('bad-rt-selection');
      return;
    }
    this.setSelection(sel, out);
  }

  setSelection(sel: RtSelection[], out: Observation[] = []): void {
    const w: WaveObs[] = [];
    this.waves.setSelection(sel, w);
    out.push(...w);
  }

  private handle(chunk: Uint8Array, rxTimeMs?: number): { obs: Observation[]; frames: Frame[] } {
    const obs: Observation[] = [];
    const frames: Frame[] = [];
    // Cycles still to come in this chunk: the chunk's receive time is that of its LAST cycle.
    this.cyclesLeft = 0;
    this.lastRx = rxTimeMs;
    for (const b of chunk) if ((b & 0xf0) === 0xd0 && b !== 0xd0) this.cyclesLeft++;
    for (const ev of this.rx.push(chunk)) {
      if (ev.kind === 'rt') {
        const rts: RtEvent[] = [];
        this.rt.push(ev.bytes, rts);
        for (const r of rts) this.realtime(r, rxTimeMs, obs);
        continue;
      }
      this.lastFrame = rxTimeMs ?? this.opts.now?.() ?? Date.now();
      const w: WaveObs[] = [];
      this.waves.flush(w);
      obs.push(...w);
      frames.push(ev.frame);
      this.frame(ev.frame, rxTimeMs, obs);
    }
    return { obs, frames };
  }

  /**
   * End of the stream (the link is going away): the realtime cycle in progress and every open wave
   * block, as observations, so samples that arrived are not lost with the link. A cycle cut short
   * is counted (`rt-short-cycle`) and keeps the values it has, at the last receive time.
   */
  flush(): Observation[] {
    const obs: Observation[] = [];
    const rts: RtEvent[] = [];
    this.rt.flush(rts);
    this.cyclesLeft = 0;
    for (const r of rts) this.realtime(r, this.lastRx, obs);
    const w: WaveObs[] = [];
    this.waves.flush(w);
    obs.push(...w);
    return obs;
  }

  private time(rxTimeMs?: number): number {
    if (rxTimeMs !== undefined) return rxTimeMs;
    if (this.opts.timeBase === 'gateway') return (this.opts.now ?? Date.now)();
    return this.virtualMs;
  }

  private realtime(r: RtEvent, rxTimeMs: number | undefined, out: Observation[]): void {
    if (r.kind === 'corrupt') return;
    if (r.kind === 'breath') {
      out.push({ kind: 'setting', name: 'breathPhase', value: r.phase, t: this.cycleTime(rxTimeMs, false).t, vendorCode: 'rt.breath' });
      return;
    }
    this.cyclesLeft = Math.max(0, this.cyclesLeft - 1);
    const { t, reanchored } = this.cycleTime(rxTimeMs, true);
    const w: WaveObs[] = [];
    this.waves.cycle(r.values, this.cycleNo, t, w, reanchored ? ['discontinuity'] : []);
    out.push(...w);
    this.cycleNo++;
    if (rxTimeMs === undefined && this.opts.timeBase !== 'gateway') this.virtualMs += this.waves.cycleMs();
  }

  /** Time of the current cycle on the sample clock, re-anchored when it drifts > 1 s from receive time. */
  private cycleTime(rxTimeMs: number | undefined, advance: boolean): { t: number; reanchored: boolean } {
    if (rxTimeMs === undefined && this.opts.timeBase !== 'gateway') return { t: this.virtualMs, reanchored: false };
    const now = this.time(rxTimeMs) - this.cyclesLeft * this.waves.cycleMs();
    const predicted = this.anchor ? this.anchor.t + (this.cycleNo - this.anchor.cycle) * this.waves.cycleMs() : undefined;
    if (predicted === undefined || Math.abs(now - predicted) > REANCHOR_MS) {
      const first = this.anchor === undefined;
      if (advance) this.anchor = { t: now, cycle: this.cycleNo };
      return { t: now, reanchored: !first && advance };
    }
    return { t: Math.round(predicted), reanchored: false };
  }

  private frame(f: Frame, rxTimeMs: number | undefined, out: Observation[]): void {
    const code = f.kind === 'command' ? f.cmd : f.echo;
    const name = `${f.kind === 'command' ? 'cmd' : 'ans'}:${ANSWER_NAMES[code] ?? `0x${code.toString(16)}`}`;
    this.records[name] = (this.records[name] ?? 0) + 1;
    if (f.kind === 'command') return;
    const t = this.time(rxTimeMs);
    if (f.echo === CMD.DEVICE_ID) {
      const id = f.data.length ? parseDeviceId(f.data) : undefined;
      if (f.data.length && !id) this.count('bad-device-id');
      if (id) this.identify(id.id, id.name, id.revision);
      return;
    }
    if (f.echo === CMD.RT_CONFIG) {
      const { channels, bad } = parseRtConfig(f.data);
      if (bad) this.count('bad-rt-config', bad);
      this.waves.setConfig(channels);
      return;
    }
    if (f.echo === CMD.DATETIME) {
      const dev = parseDateTime(f.data);
      if (dev === undefined) {
        if (f.data.length) this.count('bad-datetime');
        return;
      }
      if (rxTimeMs === undefined && this.opts.timeBase !== 'gateway') this.virtualMs = dev;
      this.offset = dev - this.time(rxTimeMs);
      out.push({ kind: 'setting', name: 'deviceTime', value: new Date(dev).toISOString(), t: this.time(rxTimeMs), vendorCode: 'datetime' });
      return;
    }
    const obs = this.answers.map(f.echo, f.data, t);
    if (obs) out.push(...obs);
  }

  private identify(id: string, name: string, revision: string): void {
    this.ident = { vendor: VENDOR, model: name, firmware: revision, serial: id };
    if (this.fixed) return;
    const p = profileFor(this.set, name);
    if (p.id === this.profile.id) return;
    this.profile = p;
    this.answers.mapper = new ProfileMapper(p);
    this.waves.setProfile(p);
  }

  private count(kind: string, n = 1): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + n;
  }

  stats(): DecodeStats {
    const s = this.rx.stats();
    const errors: Record<string, number> = { ...s.errors };
    addErrors(errors, this.errors);
    addErrors(errors, this.rt.errors);
    addErrors(errors, this.tx.stats().errors, 'tx-');
    if (this.waves.unassigned) countError(errors, 'rt-unassigned', this.waves.unassigned);
    return { frames: s.frames, bytes: s.bytes, errors };
  }

  recordCounts(): Record<string, number> {
    return { ...this.records };
  }
  unmapped(): Record<string, number> {
    return { ...this.answers.mapper.unmapped(), ...this.answers.unmapped(), ...this.waves.unmapped() };
  }
  identity(): DeviceIdentity | undefined {
    return this.ident;
  }
  profileId(): string | undefined {
    return this.profile.id;
  }
  activeProfile(): Profile {
    return this.profile;
  }
  clockOffsetMs(): number | undefined {
    return this.offset;
  }
  lastFrameAt(): number | undefined {
    return this.lastFrame;
  }
}
