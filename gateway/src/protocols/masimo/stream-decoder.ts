/**
 * Masimo StreamDecoder: line framer → line parser → decoder → profile mapping. The profile is
 * chosen from the model the first valid line's key set implies (unless an id is given) and kept
 * for the stream. Every problem is counted in stats().errors by kind.
 */
import type { Observation } from '../../../../schemas/src/observation.js';
import type { Profile } from '../../../../schemas/src/profile.js';
import { profilesFor, type ProfileSet } from '../../profiles/load.js';
import { ProfileMapper } from '../../profiles/map.js';
import { matchProfile } from '../../profiles/match.js';
import { DeviceClock } from '../common/device-clock.js';
import { ProfiledDecoder } from '../common/profiled-decoder.js';
import { addErrors, type DecodeStats, type DecoderOptions, type DeviceIdentity, type ProtocolDecoder } from '../protocol.js';
import { DEFAULT_POLICY, MasimoDecoder, modelFromKeys, type ExcPolicy } from './decoder.js';
import { LineFramer } from './line-framer.js';
import { parseLine } from './line.js';

export const PROTOCOL_NAME = 'masimo';

export interface MasimoDecoderOptions extends DecoderOptions {
  profiles?: ProfileSet;
  maxLineBytes?: number;
}

/** This protocol's profiles from `dir` (default firmware-profiles/), through the one cache in profiles/load.ts. */
export function masimoProfiles(dir?: string): ProfileSet {
  return profilesFor(PROTOCOL_NAME, dir);
}

function policyFrom(p: Profile): ExcPolicy {
  const num = (k: string, d: number): number => (typeof p.params?.[k] === 'number' ? (p.params[k] as number) : d);
  const ign = p.params?.ignoreTokens;
  return {
    invalidMask: num('excInvalidMask', DEFAULT_POLICY.invalidMask),
    artifactMask: num('excArtifactMask', DEFAULT_POLICY.artifactMask),
    questionableMask: num('excQuestionableMask', DEFAULT_POLICY.questionableMask),
    ignoreTokens:
      typeof ign === 'string'
        ? new Set(
            ign
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
          )
        : DEFAULT_POLICY.ignoreTokens,
  };
}

export class MasimoStreamDecoder extends ProfiledDecoder implements ProtocolDecoder {
  private readonly framer: LineFramer;
  private readonly profiles: ProfileSet;
  private decoder?: MasimoDecoder;
  private readonly errors: Record<string, number> = {};
  private frames = 0;

  constructor(private readonly opts: MasimoDecoderOptions = {}) {
    super(new DeviceClock(opts.timeBase ?? 'device', opts.clockToleranceMs ?? 5000));
    this.framer = new LineFramer({ maxLineBytes: opts.maxLineBytes });
    this.profiles = opts.profiles ?? masimoProfiles(opts.profilesDir);
    if (opts.profileId && opts.profileId !== 'auto') this.useProfile(matchProfile(this.profiles, { protocol: PROTOCOL_NAME }, opts.profileId));
  }

  push(chunk: Uint8Array, rxTimeMs?: number): Observation[] {
    const out: Observation[] = [];
    for (const text of this.framer.push(chunk)) out.push(...this.decodeLine(text, rxTimeMs));
    return out;
  }

  /** One line without its terminator → observations. */
  decodeLine(text: string, rxTimeMs?: number): Observation[] {
    const parsed = parseLine(text);
    if ('error' in parsed) {
      this.count(parsed.error);
      return [];
    }
    const model = modelFromKeys(parsed.tokens.keys());
    if (!this.ident) this.ident = { vendor: 'Masimo', model: this.profile?.models[0] ?? model };
    if (!this.profile) this.useProfile(matchProfile(this.profiles, { protocol: PROTOCOL_NAME, vendor: 'Masimo', model }));
    const d = this.decoder!.decode(parsed);
    for (const e of d.errors) this.count(e);
    if (d.serial && this.ident.serial !== d.serial) this.ident = { ...this.ident, serial: d.serial };
    this.frames++;
    this.lastFrame = rxTimeMs ?? this.opts.now?.() ?? Date.now();
    this.clock.observe(d.tDevice, rxTimeMs);
    const { t, flags: clockFlags } = this.clock.toT(d.tDevice);
    const out: Observation[] = [];
    for (const r of d.readings) {
      out.push(this.mapper!.numeric({ vendorCode: r.vendorCode, value: r.value, flags: [...r.flags, ...clockFlags], t, tDevice: d.tDevice }));
    }
    for (const a of d.alarms) out.push({ ...a, t });
    return out;
  }

  private useProfile(p: Profile): void {
    this.profile = p;
    this.mapper = new ProfileMapper(p);
    this.decoder = new MasimoDecoder(policyFrom(p));
  }

  private count(kind: string): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
  }

  recordCounts(): Record<string, number> {
    return { lines: this.frames };
  }

  stats(): DecodeStats {
    const s = this.framer.stats();
    const errors = { ...s.errors };
    addErrors(errors, this.errors);
    return { frames: this.frames, bytes: s.bytes, errors };
  }
}
