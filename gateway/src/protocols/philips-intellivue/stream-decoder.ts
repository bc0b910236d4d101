/**
 * IntelliVue StreamDecoder: (MIB framer | one datagram per chunk) → decoder → profile mapping.
 * Framing is auto-detected from the first chunk that tells (a MIB frame start → serial; a session
 * SPDU byte first → LAN datagrams) unless `framing` is given. The profile is chosen from the model in the MDS create
 * event (or a Connect Indication); until then observations are held back (bounded) and mapped
 * with the profile once known. Every problem is counted in stats().errors by kind.
 */
import { intToSample, type Flag, type Observation, type WaveObs } from '../../../../schemas/src/observation.js';
import type { Profile } from '../../../../schemas/src/profile.js';
import { ProfileError } from '../../profiles/errors.js';
import { profilesFor, type ProfileSet } from '../../profiles/load.js';
import { ProfileMapper, UNMAPPED_UNIT } from '../../profiles/map.js';
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
import { DeviceClock } from '../common/device-clock.js';
import { ProfiledDecoder } from '../common/profiled-decoder.js';
import { IntelliVueDecoder } from './decoder.js';
import { MibFramer } from './framer.js';
import { UnknownMessage } from './messages.js';
import { ALERT_TYPE, physioKey, unitUcum } from './nomenclature.js';
import { ShortRead } from './reader.js';
import type { DecodedMessage, SessionEvent } from './vendor-types.js';

export const PROTOCOL_NAME = 'philips-intellivue';
export const MAX_DATAGRAM = 65507;

export type Framing = 'serial' | 'lan';

export interface IntelliVueDecoderOptions extends DecoderOptions {
  profiles?: ProfileSet;
  framing?: Framing;
}

/** This protocol's profiles from `dir` (default firmware-profiles/), through the one cache in profiles/load.ts. */
export function intelliVueProfiles(dir?: string): ProfileSet {
  return profilesFor(PROTOCOL_NAME, dir);
}

const SPDU_FIRST = new Set([0x0d, 0x0e, 0x0c, 0x09, 0x0a, 0x19, 0xe1, 0x00]);

/** 'serial' when a MIB frame starts here, 'lan' when a message starts here, else undecided. */
export function detectFraming(chunk: Uint8Array): Framing | undefined {
  if (chunk[0] === 0xc0) return 'serial';
  const i = chunk.indexOf(0xc0);
  if (i >= 0 && chunk[i + 1] === 0x11 && chunk[i + 2] === 0x01) return 'serial';
  return SPDU_FIRST.has(chunk[0]) && chunk.length >= 2 ? 'lan' : undefined;
}

export class IntelliVueStreamDecoder extends ProfiledDecoder implements ProtocolDecoder, SessionChannel<SessionEvent> {
  private framing?: Framing;
  private readonly framer = new MibFramer();
  readonly decoder = new IntelliVueDecoder();
  private readonly profiles: ProfileSet;
  private datagrams = 0;
  private bytes = 0;
  /** Session events since the session last took them (takeForSession()). */
  private events: SessionEvent[] = [];

  constructor(private readonly opts: IntelliVueDecoderOptions = {}) {
    super(new DeviceClock(opts.timeBase ?? 'device', opts.clockToleranceMs ?? 5000));
    this.framing = opts.framing;
    this.profiles = opts.profiles ?? intelliVueProfiles(opts.profilesDir);
    if (opts.profileId && opts.profileId !== 'auto') this.useProfile(matchProfile(this.profiles, { protocol: PROTOCOL_NAME }, opts.profileId));
  }

  push(chunk: Uint8Array, rxTimeMs?: number): Observation[] {
    if (!chunk.length) return [];
    this.framing ??= detectFraming(chunk);
    let msgs: Buffer[];
    if (this.framing !== 'lan')
      msgs = this.framer.push(chunk); // undecided bytes go to the framer (garbage counted)
    else {
      this.bytes += chunk.length;
      if (chunk.length > MAX_DATAGRAM) {
        this.decoder.count('oversize');
        return [];
      }
      this.datagrams++;
      msgs = [Buffer.from(chunk)];
    }
    const out: Observation[] = [];
    for (const m of msgs) out.push(...this.decodeMessage(m, rxTimeMs));
    return out;
  }

  /** One unframed message → observations (also the LAN path). */
  decodeMessage(msg: Buffer, rxTimeMs?: number): Observation[] {
    const rx = rxTimeMs ?? this.opts.now?.() ?? Date.now();
    this.lastFrame = rx;
    let d: DecodedMessage;
    try {
      d = this.decoder.decode(msg, rx);
    } catch (err) {
      if (err instanceof ShortRead) this.decoder.count('short-message');
      else if (err instanceof UnknownMessage) this.decoder.count(`unknown-${err.reason}`);
      else throw err;
      return [];
    }
    offerToSession(this.events, ...d.events);
    if (d.events.some((e) => e.kind === 'mds-create' || e.kind === 'connect-indication')) this.identify();
    if (!d.numerics.length && !d.waves.length && !d.alarms.length) return [];
    if (!this.mapper) this.identify();
    // the clock offset pairs this message's rx with its device time: held (older) wave blocks do not count
    const tDev = d.numerics.find((n) => n.tDevice !== undefined)?.tDevice ?? d.waves.find((w) => w.t0Device !== undefined && !w.held)?.t0Device;
    if (tDev !== undefined) this.clock.observe(tDev, rxTimeMs);
    return this.map(d, rx);
  }

  private time(tDevice: number | undefined, rx: number): { t: number; flags: Flag[] } {
    return tDevice === undefined ? { t: rx, flags: [] } : this.clock.toT(tDevice);
  }

  private map(d: DecodedMessage, rx: number): Observation[] {
    const mapper = this.mapper!;
    const out: Observation[] = [];
    for (const n of d.numerics) {
      const { t, flags } = this.time(n.tDevice, rx);
      const o = mapper.numeric({ vendorCode: physioKey(n.physioId), value: n.value, label: n.label, flags: [...n.flags, ...flags], t, tDevice: n.tDevice });
      const unit = unitUcum(n.unitCode);
      if (unit) o.unit = unit; // the monitor's unit is the honest one (mmHg vs kPa)
      out.push(o);
    }
    for (const w of d.waves) {
      const { t, flags } = this.time(w.t0Device, w.held?.rxMs ?? rx);
      const key = physioKey(w.physioId);
      const m = mapper.profile.waves?.[key];
      const f: Flag[] = [...w.flags, ...flags];
      if (!m) f.push('unmapped');
      const scale = w.scale ?? 1;
      const offset = w.offset ?? 0;
      const o: WaveObs = {
        kind: 'wave',
        mdc: m?.mdc ?? null,
        code: m ? m.code : null,
        unit: w.scale === undefined ? '1' : (unitUcum(w.unitCode) ?? m?.unit ?? UNMAPPED_UNIT),
        t0: t,
        rateHz: w.rateHz,
        samples: w.ints.map((i) => (i === null ? null : intToSample(i, scale, offset))),
        scale,
        offset,
        vendorCode: key,
      };
      if (w.label !== undefined) o.label = w.label;
      if (f.length) o.flags = [...new Set(f)];
      out.push(o);
    }
    for (const a of d.alarms) {
      const kind = ALERT_TYPE[a.type]!;
      out.push({
        kind: 'alarm',
        mdc: null,
        code: null,
        text: a.text,
        priority: kind.priority,
        source: kind.source,
        phase: a.phase,
        t: this.time(a.tDevice, rx).t,
        vendorCode: `alert.${physioKey(a.code)}`,
      });
    }
    return out;
  }

  private identify(): void {
    const dev = this.decoder.device;
    this.ident = { vendor: 'Philips' };
    if (dev.model) this.ident.model = dev.model;
    if (dev.firmware) this.ident.firmware = dev.firmware;
    if (dev.serial) this.ident.serial = dev.serial;
    if (this.profile) return;
    let p: Profile;
    try {
      p = matchProfile(this.profiles, { protocol: PROTOCOL_NAME, vendor: 'Philips', ...(dev.model ? { model: dev.model } : {}) });
    } catch (err) {
      if (!(err instanceof ProfileError)) throw err;
      this.decoder.count('profile-fallback');
      p = matchProfile(this.profiles, { protocol: PROTOCOL_NAME, vendor: 'Philips' });
    }
    if (!dev.model) this.decoder.count('profile-before-identity');
    this.useProfile(p);
  }

  private useProfile(p: Profile): void {
    this.profile = p;
    this.mapper = new ProfileMapper(p);
  }

  stats(): DecodeStats {
    // LAN: bytes that went to the framer before the framing was known (counted garbage) still count
    const f = this.framer.stats();
    const s = this.framing !== 'lan' ? f : { frames: this.datagrams, bytes: this.bytes + f.bytes, errors: f.errors };
    const errors: Record<string, number> = { ...s.errors };
    addErrors(errors, this.decoder.errors);
    return { frames: s.frames, bytes: s.bytes, errors };
  }

  recordCounts(): Record<string, number> {
    return { ...this.decoder.messages };
  }

  /** The session channel: association, poll and request events since the last take. */
  takeForSession(): SessionEvent[] {
    return this.events.splice(0);
  }

  /** The medium, once known (given or detected). */
  detectedFraming(): Framing | undefined {
    return this.framing;
  }
}
