/**
 * HL7/MLLP StreamDecoder: MLLP framer → HL7 parser → (identify profile) → bed filter (PV1-3) →
 * ORU^R01 mapping. Every problem is counted in stats().errors by kind and never ends the stream.
 * Each decoded message also yields the ACK/NAK the sender expects (profile policy); the session
 * writes them, `orlink decode` ignores them.
 */
import type { Observation } from '../../../../schemas/src/observation.js';
import type { Profile } from '../../../../schemas/src/profile.js';
import { profilesFor, type ProfileSet } from '../../profiles/load.js';
import { ProfileMapper } from '../../profiles/map.js';
import { matchProfile } from '../../profiles/match.js';
import {
  addErrors,
  offerToSession,
  type DecodeStats,
  type DecoderOptions,
  type DeviceIdentity,
  type ProtocolDecoder,
  type SessionChannel,
} from '../protocol.js';
import { ackCode, buildAck, type Outcome } from './ack.js';
import { comp, comps, parseHl7, Hl7ParseError, type Hl7Message } from './hl7.js';
import { MllpFramer, mllpWrap } from './mllp.js';
import { decodeOru } from './oru.js';
import { parseHl7Time } from './hl7-time.js';
import { hl7Settings, identifyProfile, type Hl7Settings } from './settings.js';

export const PROTOCOL_NAME = 'hl7-mllp';

export interface Hl7DecoderOptions extends DecoderOptions {
  profiles?: ProfileSet;
  maxMessageBytes?: number;
  /** PV1-3 values (components joined by '^', trailing empties dropped) this device accepts; empty = all. */
  acceptBeds?: string[];
  /** Overrides of the profile: time zone of stamps without offset, ACK policy. */
  timeZone?: string;
  ack?: Hl7Settings['ack'];
  /** MSH-3/MSH-4 of our ACKs. */
  app?: string;
  facility?: string;
}

/** This protocol's profiles from `dir` (default firmware-profiles/), through the one cache in profiles/load.ts. */
export function hl7Profiles(dir?: string): ProfileSet {
  return profilesFor(PROTOCOL_NAME, dir);
}

export class Hl7StreamDecoder implements ProtocolDecoder, SessionChannel<Buffer> {
  private readonly framer: MllpFramer;
  private readonly profiles: ProfileSet;
  private profile?: Profile;
  private mapper?: ProfileMapper;
  private settings?: Hl7Settings;
  private ident?: DeviceIdentity;
  private readonly errors: Record<string, number> = {};
  private readonly records: Record<string, number> = {};
  private readonly replies: Buffer[] = [];
  private ackSeq = 0;
  private lastFrame?: number;
  private offset?: number;

  constructor(private readonly opts: Hl7DecoderOptions = {}) {
    this.framer = new MllpFramer({ maxBytes: opts.maxMessageBytes });
    this.profiles = opts.profiles ?? hl7Profiles(opts.profilesDir);
    if (opts.profileId && opts.profileId !== 'auto') this.useProfile(matchProfile(this.profiles, { protocol: PROTOCOL_NAME }, opts.profileId));
  }

  push(chunk: Uint8Array, rxTimeMs?: number): Observation[] {
    const out: Observation[] = [];
    for (const payload of this.framer.push(chunk)) {
      const now = rxTimeMs ?? this.opts.now?.() ?? Date.now();
      out.push(...this.decodeMessage(payload, now));
    }
    return out;
  }

  /** One MLLP payload → observations (+ a queued reply). */
  decodeMessage(payload: Uint8Array, now: number): Observation[] {
    let msg: Hl7Message;
    try {
      msg = parseHl7(payload);
    } catch (err) {
      const kind = err instanceof Hl7ParseError ? err.kind : 'parse';
      this.count(kind);
      this.reply(undefined, 'reject', now, `message rejected: ${(err as Error).message}`);
      return [];
    }
    this.lastFrame = now;
    if (msg.skipped) this.count('junk-before-msh');
    const msh = msg.segments[0];
    const type = `${comp(msg, msh, 9, 1)}^${comp(msg, msh, 9, 2)}`;
    // message types are wire text: a sender cannot grow this map (at most 32 kinds of ≤ 16 chars, then 'other')
    const typeKey = type.length <= 16 && (type in this.records || Object.keys(this.records).length < 32) ? type : 'other';
    this.records[typeKey] = (this.records[typeKey] ?? 0) + 1;
    const version = comp(msg, msh, 12);
    if (!/^2\.\d/.test(version)) {
      this.count('bad-version');
      this.reply(msg, 'reject', now, `unsupported HL7 version '${version}'`);
      return [];
    }
    if (!comp(msg, msh, 10)) {
      this.count('no-control-id');
      this.reply(msg, 'error', now, 'MSH-10 message control id is empty');
      return [];
    }
    if (type !== 'ORU^R01') {
      this.reply(msg, 'ok', now); // ADT/QRY/…: acknowledged, not used (nor used to identify)
      return [];
    }
    if (!this.profile) this.identify(msg);
    if (!this.acceptsBed(msg)) {
      this.count('other-bed');
      this.reply(msg, 'ok', now);
      return [];
    }
    const r = decodeOru(msg, this.settings!, this.mapper!, now);
    for (const e of r.errors) this.count(e);
    this.correctClock(msg, r.observations, now);
    const obx = msg.segments.filter((s) => s.id === 'OBX').length;
    if (obx > 0 && r.observations.length === 0 && r.errors.length > 0) {
      this.reply(msg, 'error', now, `no OBX could be decoded (${[...new Set(r.errors)].join(', ')})`);
    } else this.reply(msg, 'ok', now);
    return r.observations;
  }

  /**
   * timeBase 'gateway': MSH-7 (when the sender states it) minus the receive time is the device
   * clock offset; beyond clockToleranceMs every time of the message is shifted by it and flagged
   * 'clock-offset' (tDevice keeps what the device said). timeBase 'device' (decode) keeps stamps.
   */
  private correctClock(msg: Hl7Message, obs: Observation[], now: number): void {
    if (this.opts.timeBase !== 'gateway') return;
    const mshT = parseHl7Time(comp(msg, msg.segments[0], 7), this.settings!.timeZone);
    if (mshT === undefined) return;
    const off = mshT - now;
    this.offset = off;
    if (Math.abs(off) <= (this.opts.clockToleranceMs ?? 5000)) return;
    this.count('clock-offset');
    for (const o of obs) {
      if (o.kind === 'wave') continue;
      o.t -= off;
      if (o.kind === 'numeric') o.flags = [...(o.flags ?? []), 'clock-offset'];
    }
  }

  private acceptsBed(msg: Hl7Message): boolean {
    const beds = this.opts.acceptBeds;
    if (!beds?.length) return true;
    const pv1 = msg.segments.find((s) => s.id === 'PV1');
    const loc = comps(msg, pv1, 3);
    while (loc.length && !loc[loc.length - 1]) loc.pop();
    return beds.includes(loc.join('^'));
  }

  private identify(msg: Hl7Message): void {
    const msh = msg.segments[0];
    const equipment = msg.segments
      .filter((s) => s.id === 'OBX')
      .map((s) => comps(msg, s, 18).join('^'))
      .filter(Boolean);
    const header = { sendingApp: comps(msg, msh, 3).join('^'), facility: comps(msg, msh, 4).join('^'), equipment: [...new Set(equipment)].slice(0, 4) };
    const p = identifyProfile(this.profiles, header) ?? matchProfile(this.profiles, { protocol: PROTOCOL_NAME });
    this.useProfile(p);
    const eui = [comp(msg, msh, 3, 2), ...equipment.map((e) => e.split('^')[0])].find((e) => /^[0-9A-Fa-f]{16}$/.test(e));
    this.ident = { vendor: p.vendor, protocolLevel: comp(msg, msh, 12).slice(0, 16) };
    const model = p.models.find(
      (m) => header.sendingApp.toUpperCase().includes(m.toUpperCase()) || equipment.some((e) => e.toUpperCase().includes(m.toUpperCase())),
    );
    if (model) this.ident.model = model;
    if (eui) this.ident.serial = eui.toUpperCase();
  }

  private useProfile(p: Profile): void {
    this.profile = p;
    this.mapper = new ProfileMapper(p);
    this.settings = hl7Settings(this.profiles, p, { timeZone: this.opts.timeZone, ack: this.opts.ack });
  }

  private reply(msg: Hl7Message | undefined, outcome: Outcome, now: number, text?: string): void {
    const policy = this.settings?.ack ?? this.opts.ack ?? 'auto';
    const code = ackCode(policy, msg, outcome);
    if (!code) return;
    const controlId = `ACK${now.toString(36)}${(this.ackSeq++).toString(36)}`;
    offerToSession(
      this.replies,
      mllpWrap(buildAck(msg, code, { nowMs: now, controlId, app: this.opts.app, facility: this.opts.facility, text, version: this.settings?.version })),
    );
  }

  private count(kind: string): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
  }

  /** The session channel: ACK/NAK messages (MLLP-framed) produced since the last call. */
  takeForSession(): Buffer[] {
    return this.replies.splice(0);
  }

  stats(): DecodeStats {
    const s = this.framer.stats();
    const errors = { ...s.errors };
    addErrors(errors, this.errors);
    return { frames: s.frames, bytes: s.bytes, errors };
  }

  /** Our own ACKs (host → device) tell the decoder nothing. */
  pushTx(_chunk: Uint8Array): Observation[] {
    return [];
  }
  /** A message is decoded at its end block: nothing is held. */
  flush(): Observation[] {
    return [];
  }
  recordCounts(): Record<string, number> {
    return { ...this.records };
  }
  unmapped(): Record<string, number> {
    return this.mapper?.unmapped() ?? {};
  }
  identity(): DeviceIdentity | undefined {
    return this.ident;
  }
  profileId(): string | undefined {
    return this.profile?.id;
  }
  activeSettings(): Hl7Settings | undefined {
    return this.settings;
  }
  clockOffsetMs(): number | undefined {
    return this.offset;
  }
  lastFrameAt(): number | undefined {
    return this.lastFrame;
  }
}
