/**
 * Nonin StreamDecoder: framer (data format from the profile) → packet decoder → profile mapping.
 * Nonin sends no clock, so time comes from the frame counter: packet/frame n starts at
 * anchor + n / rate (75 Hz for #2/#7, 1 Hz for #8). The anchor is the receive time of the first
 * packet minus its duration (sessions), or 0 when no receive times are given (`orlink decode`:
 * t is then ms since the start of the capture). When the frame clock and the receive time drift
 * apart by more than params.reanchorMs (default 1000; serial buffering, lost frames) the clock is
 * re-anchored and the readings flagged 'discontinuity'.
 */
import type { Flag, Observation } from '../../../../schemas/src/observation.js';
import type { Profile } from '../../../../schemas/src/profile.js';
import { loadProfiles, type ProfileSet } from '../../profiles/load.js';
import { ProfileMapper } from '../../profiles/map.js';
import { matchProfile } from '../../profiles/match.js';
import type { DecodeStats, DecoderOptions, DeviceIdentity, StreamDecoder } from '../protocol.js';
import { DEFAULT_STATUS_POLICY, NoninDecoder, type NoninPacket } from './decoder.js';
import { DATA_FORMATS, FRAME_RATE_HZ, FRAMES_PER_PACKET, readFormat8, readFrame, type DataFormat } from './frame.js';
import { NoninFramer } from './framer.js';

export const PROTOCOL_NAME = 'nonin';

export interface NoninDecoderOptions extends DecoderOptions {
  profiles?: ProfileSet;
  /** Overrides the profile's params.dataFormat. */
  dataFormat?: DataFormat;
}

let defaultProfiles: ProfileSet | undefined;
export function noninProfiles(): ProfileSet {
  defaultProfiles ??= loadProfiles(undefined, { protocol: PROTOCOL_NAME });
  return defaultProfiles;
}

export function profileFormat(p: Profile): DataFormat {
  const f = p.params?.dataFormat;
  return DATA_FORMATS.includes(f as DataFormat) ? (f as DataFormat) : 2;
}

export class NoninStreamDecoder implements StreamDecoder {
  readonly format: DataFormat;
  readonly profile: Profile;
  private readonly framer: NoninFramer;
  private readonly mapper: ProfileMapper;
  private readonly dec: NoninDecoder;
  private readonly rate: number;
  private readonly reanchorMs: number;
  private anchor?: number;
  private ident: DeviceIdentity;
  private lastFrame?: number;
  private packets = 0;
  private readonly extraErrors: Record<string, number> = {};

  constructor(private readonly opts: NoninDecoderOptions = {}) {
    const set = opts.profiles ?? noninProfiles();
    this.profile = matchProfile(set, { protocol: PROTOCOL_NAME, vendor: 'Nonin' }, opts.profileId);
    this.format = opts.dataFormat ?? profileFormat(this.profile);
    this.framer = new NoninFramer(this.format);
    this.mapper = new ProfileMapper(this.profile);
    const num = (k: string, d: number): number => (typeof this.profile.params?.[k] === 'number' ? (this.profile.params[k] as number) : d);
    this.dec = new NoninDecoder({
      invalidMask: num('statusInvalidMask', DEFAULT_STATUS_POLICY.invalidMask),
      artifactMask: num('statusArtifactMask', DEFAULT_STATUS_POLICY.artifactMask),
      questionableMask: num('statusQuestionableMask', DEFAULT_STATUS_POLICY.questionableMask),
      hrMode: this.profile.params?.hrBytes === '16bit' || (this.format === 7 && this.profile.params?.hrBytes === undefined) ? '16bit' : '9bit',
      hrMissing: num('hrMissing', DEFAULT_STATUS_POLICY.hrMissing),
      spo2Missing: num('spo2Missing', DEFAULT_STATUS_POLICY.spo2Missing),
    });
    this.rate = this.format === 8 ? 1 : FRAME_RATE_HZ;
    this.reanchorMs = num('reanchorMs', 1000);
    this.ident = { vendor: 'Nonin', model: this.profile.models[0], protocolLevel: `format-${this.format}` };
  }

  push(chunk: Uint8Array, rxTimeMs?: number): Observation[] {
    const out: Observation[] = [];
    for (const fr of this.framer.push(chunk)) {
      this.lastFrame = rxTimeMs ?? this.opts.now?.() ?? Date.now();
      const p = this.format === 8 ? this.dec.frame8(readFormat8(fr, 0)) : this.dec.frame(readFrame(this.format, fr, 0));
      if (p) out.push(...this.map(p, rxTimeMs));
    }
    return out;
  }

  private map(p: NoninPacket, rxTimeMs: number | undefined): Observation[] {
    this.packets++;
    const frames = this.format === 8 ? 1 : FRAMES_PER_PACKET;
    const flags: Flag[] = p.gap ? ['discontinuity'] : [];
    const startOf = (a: number): number => a + (p.frameIndex * 1000) / this.rate;
    if (this.anchor === undefined) this.anchor = (rxTimeMs ?? 0) - ((p.frameIndex + (rxTimeMs === undefined ? 0 : frames)) * 1000) / this.rate;
    else if (rxTimeMs !== undefined && Math.abs(startOf(this.anchor) + (frames * 1000) / this.rate - rxTimeMs) > this.reanchorMs) {
      this.anchor = rxTimeMs - ((p.frameIndex + frames) * 1000) / this.rate;
      if (!flags.includes('discontinuity')) flags.push('discontinuity');
    }
    const t = Math.round(startOf(this.anchor));
    if (p.firmware !== undefined && this.ident.firmware !== String(p.firmware)) this.ident = { ...this.ident, firmware: String(p.firmware) };
    const out: Observation[] = p.readings.map((r) => this.mapper.numeric({ vendorCode: r.vendorCode, value: r.value, flags: [...r.flags, ...flags], t }));
    if (p.pleth) out.push(this.mapper.wave({ vendorCode: 'PLETH', ints: p.pleth, rateHz: this.rate, t0: t, flags: [...flags] }));
    for (const a of p.alarms) out.push({ ...a, t });
    return out;
  }

  /** Problems seen by the session (e.g. 'nak' to a command), reported with the decoder's. */
  countError(kind: string): void {
    this.extraErrors[kind] = (this.extraErrors[kind] ?? 0) + 1;
  }

  stats(): DecodeStats {
    const s = this.framer.stats();
    const errors = { ...s.errors };
    for (const [k, v] of [...Object.entries(this.dec.errors), ...Object.entries(this.extraErrors)]) errors[k] = (errors[k] ?? 0) + v;
    return { frames: s.frames, bytes: s.bytes, errors };
  }

  recordCounts(): Record<string, number> {
    return { packets: this.packets };
  }

  unmapped(): Record<string, number> {
    return this.mapper.unmapped();
  }

  identity(): DeviceIdentity | undefined {
    return this.ident;
  }

  profileId(): string | undefined {
    return this.profile.id;
  }

  clockOffsetMs(): number | undefined {
    return undefined;
  }

  lastFrameAt(): number | undefined {
    return this.lastFrame;
  }
}
