/**
 * One Nonin data format end to end: framer → packet decoder → profile mapping, for one profile.
 * Nonin sends no clock, so time comes from the frame counter: packet/frame n starts at
 * anchor + n / rate (75 Hz for #2/#7, 1 Hz for #8). The anchor is the receive time of the first
 * packet minus its duration (sessions), or 0 when no receive times are given (`orlink decode`:
 * t is then ms since the start of the capture). When the frame clock and the receive time drift
 * apart by more than params.reanchorMs (default 1000; serial buffering, lost frames) the clock is
 * re-anchored and the readings flagged 'discontinuity'.
 */
import type { Flag, Observation } from '../../../../schemas/src/observation.js';
import type { Profile } from '../../../../schemas/src/profile.js';
import { ProfileMapper } from '../../profiles/map.js';
import type { DeviceIdentity } from '../protocol.js';
import { DEFAULT_STATUS_POLICY, NoninDecoder, type NoninPacket } from './decoder.js';
import { FRAME_RATE_HZ, FRAMES_PER_PACKET, readFormat8, readFrame, type DataFormat } from './frame.js';
import { NoninFramer } from './framer.js';

export interface FormatDecoderOptions {
  now?: () => number;
  /** The profile's model goes into identity() (false when the format was detected: it names no model). */
  identifyModel?: boolean;
  /** Flag the first packet 'discontinuity' (a decoder that takes over after a format change). */
  gapFirst?: boolean;
}

export class NoninFormatDecoder {
  private readonly framer: NoninFramer;
  private readonly mapper: ProfileMapper;
  private readonly dec: NoninDecoder;
  private readonly rate: number;
  private readonly reanchorMs: number;
  private anchor?: number;
  private ident: DeviceIdentity;
  private lastFrame?: number;
  private gapFirst: boolean;
  packets = 0;

  constructor(
    readonly profile: Profile,
    readonly format: DataFormat,
    private readonly opts: FormatDecoderOptions = {},
  ) {
    this.framer = new NoninFramer(format);
    this.mapper = new ProfileMapper(profile);
    const num = (k: string, d: number): number => (typeof profile.params?.[k] === 'number' ? (profile.params[k] as number) : d);
    this.dec = new NoninDecoder({
      invalidMask: num('statusInvalidMask', DEFAULT_STATUS_POLICY.invalidMask),
      artifactMask: num('statusArtifactMask', DEFAULT_STATUS_POLICY.artifactMask),
      questionableMask: num('statusQuestionableMask', DEFAULT_STATUS_POLICY.questionableMask),
      hrMode: profile.params?.hrBytes === '16bit' || (format === 7 && profile.params?.hrBytes === undefined) ? '16bit' : '9bit',
      hrMissing: num('hrMissing', DEFAULT_STATUS_POLICY.hrMissing),
      spo2Missing: num('spo2Missing', DEFAULT_STATUS_POLICY.spo2Missing),
    });
    this.rate = format === 8 ? 1 : FRAME_RATE_HZ;
    this.reanchorMs = num('reanchorMs', 1000);
    this.gapFirst = opts.gapFirst === true;
    this.ident = { vendor: 'Nonin', ...(opts.identifyModel === false ? {} : { model: profile.models[0] }), protocolLevel: `format-${format}` };
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
    const flags: Flag[] = p.gap || this.gapFirst ? ['discontinuity'] : [];
    this.gapFirst = false;
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

  /** Framer and packet decoder counters (frames, bytes fed, errors by kind). */
  stats(): { frames: number; bytes: number; errors: Record<string, number> } {
    const s = this.framer.stats();
    const errors = { ...s.errors };
    for (const [k, v] of Object.entries(this.dec.errors)) errors[k] = (errors[k] ?? 0) + v;
    return { frames: s.frames, bytes: s.bytes, errors };
  }

  unmapped(): Record<string, number> {
    return this.mapper.unmapped();
  }

  identity(): DeviceIdentity {
    return this.ident;
  }

  lastFrameAt(): number | undefined {
    return this.lastFrame;
  }
}
