/**
 * GE DRI StreamDecoder: framer → decoder → profile mapping → canonical observations.
 * The profile is chosen from the DRI level of the first record (unless an id is given); the
 * decoder then keeps it for the stream. Every problem is counted in stats().errors by kind.
 */
import type { Flag, Observation } from '../../../../schemas/src/observation.js';
import type { Profile } from '../../../../schemas/src/profile.js';
import { ProfileError } from '../../profiles/errors.js';
import { profilesFor, type ProfileSet } from '../../profiles/load.js';
import { ProfileMapper } from '../../profiles/map.js';
import { matchProfile } from '../../profiles/match.js';
import { addErrors, type DecodeStats, type DecoderOptions, type DeviceIdentity, type ProtocolDecoder } from '../protocol.js';
import { DeviceClock } from '../common/device-clock.js';
import { ProfiledDecoder } from '../common/profiled-decoder.js';
import { DriDecoder } from './decoder.js';
import { DriFramer } from './framer.js';
import { DRI_LEVEL_YEAR, HEADER_SIZE, INVALID_LIMIT, SPECIAL_MARKERS, WAVE_ID } from './layout.js';
import type { DecodedRecord } from './vendor-types.js';

export const PROTOCOL_NAME = 'ge-dri';

export interface GeDriDecoderOptions extends DecoderOptions {
  /** Profiles to choose from (default: firmware-profiles/ of this repository). */
  profiles?: ProfileSet;
  maxRecordBytes?: number;
}

/** This protocol's profiles from `dir` (default firmware-profiles/), through the one cache in profiles/load.ts. */
export function geDriProfiles(dir?: string): ProfileSet {
  return profilesFor(PROTOCOL_NAME, dir);
}

const TECHNICAL = /lead|probe|sensor|disconn|check|replace|battery|cable|fail|error|no .* module|off\b/i;

export class GeDriStreamDecoder extends ProfiledDecoder implements ProtocolDecoder {
  private readonly framer: DriFramer;
  private readonly profiles: ProfileSet;
  private decoder?: DriDecoder;
  private readonly decodeErrors: Record<string, number> = {};
  private readonly records: Record<string, number> = {};
  private level?: number;

  constructor(private readonly opts: GeDriDecoderOptions = {}) {
    super(new DeviceClock(opts.timeBase ?? 'device', opts.clockToleranceMs ?? 5000));
    this.framer = new DriFramer({ maxRecordBytes: opts.maxRecordBytes });
    this.profiles = opts.profiles ?? geDriProfiles(opts.profilesDir);
    if (opts.profileId && opts.profileId !== 'auto') this.useProfile(matchProfile(this.profiles, { protocol: PROTOCOL_NAME }, opts.profileId));
  }

  push(chunk: Uint8Array, rxTimeMs?: number): Observation[] {
    const out: Observation[] = [];
    for (const rec of this.framer.push(chunk)) {
      this.lastFrame = rxTimeMs ?? this.opts.now?.() ?? Date.now();
      out.push(...this.decodeRecord(rec, rxTimeMs));
    }
    return out;
  }

  /** One verified, unframed record → observations (also used on unframed captures). */
  decodeRecord(rec: Buffer, rxTimeMs?: number): Observation[] {
    if (this.level === undefined) {
      // Identify only from a record whose header is sane (r_len == length).
      if (rec.length < HEADER_SIZE || rec.readInt16LE(0) !== rec.length) {
        this.countError(rec.length < HEADER_SIZE ? 'short-record' : 'length-mismatch');
        return [];
      }
      this.identify(rec.readUInt8(3), rec.readUInt16LE(4));
    }
    const d = this.decoder!.decode(rec);
    if ('error' in d) {
      this.countError(d.error);
      return [];
    }
    for (const e of d.errors) this.countError(e);
    this.records[d.type] = (this.records[d.type] ?? 0) + 1;
    this.clock.observe(d.header.time * 1000, rxTimeMs);
    return this.map(d);
  }

  private map(d: DecodedRecord): Observation[] {
    const mapper = this.mapper!;
    const out: Observation[] = [];
    for (const n of d.numerics) {
      const { t, flags } = this.clock.toT(n.tDevice);
      const f: Flag[] = [...flags];
      if (n.marker) f.push(n.marker);
      out.push(mapper.numeric({ vendorCode: n.vendorCode, value: n.value, label: n.label, flags: f, t, tDevice: n.tDevice, ambPressMmHg: d.ambPressMmHg }));
    }
    for (const w of d.waves) {
      const { t, flags } = this.clock.toT(w.t0Device);
      const f: Flag[] = [...flags];
      if (w.reanchored) f.push('discontinuity');
      const ints = w.raw.map((r) => {
        if (r >= INVALID_LIMIT) return r;
        const marker = SPECIAL_MARKERS[r] ?? 'invalid';
        if (!f.includes(marker)) f.push(marker);
        return null;
      });
      out.push(mapper.wave({ vendorCode: w.vendorCode, ints, rateHz: w.rateHz, t0: t, label: w.label, flags: f }));
    }
    for (const a of d.alarms) {
      const { t } = this.clock.toT(a.tDevice);
      out.push({
        kind: 'alarm',
        mdc: null,
        code: null,
        text: a.text,
        priority: a.priority,
        source: TECHNICAL.test(a.text) ? 'technical' : 'physiological',
        phase: a.phase,
        t,
        vendorCode: `alarm.color${a.color}`,
      });
    }
    return out;
  }

  private identify(level: number, plugId: number): void {
    this.level = level;
    const year = DRI_LEVEL_YEAR[level];
    this.ident = { vendor: 'GE', protocolLevel: year ? String(year) : `level-${level}` };
    if (plugId) this.ident.serial = `plug-${plugId}`; // monitor id from the record header
    if (this.profile) return;
    let p: Profile;
    try {
      p = matchProfile(this.profiles, { protocol: PROTOCOL_NAME, vendor: 'GE', level });
    } catch (err) {
      // A level no profile claims (a newer monitor): decode with the best generic profile, counted.
      if (!(err instanceof ProfileError)) throw err;
      this.countError('profile-fallback');
      p = matchProfile(this.profiles, { protocol: PROTOCOL_NAME, vendor: 'GE' });
    }
    this.useProfile(p);
  }

  private useProfile(p: Profile): void {
    this.profile = p;
    this.mapper = new ProfileMapper(p);
    const waveRates: Record<number, number> = {};
    for (const [code, m] of Object.entries(p.waves ?? {})) {
      const id = WAVE_ID[code.replace(/^wave\./, '')];
      if (id !== undefined && m.rateHz) waveRates[id] = m.rateHz;
    }
    const reanchor = p.params?.waveReanchorMs;
    this.decoder = new DriDecoder({ waveRates, waveReanchorMs: typeof reanchor === 'number' ? reanchor : undefined });
  }

  private countError(kind: string): void {
    this.decodeErrors[kind] = (this.decodeErrors[kind] ?? 0) + 1;
  }

  stats(): DecodeStats {
    const s = this.framer.stats();
    const errors = { ...s.errors };
    addErrors(errors, this.decodeErrors);
    return { frames: s.frames, bytes: s.bytes, errors };
  }

  recordCounts(): Record<string, number> {
    return { ...this.records };
  }

  /** DRI level of the first record, once seen. */
  driLevel(): number | undefined {
    return this.level;
  }
}
