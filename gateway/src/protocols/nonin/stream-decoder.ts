/**
 * Nonin StreamDecoder. The device sends no identity, so the data format comes from:
 *   a profile id  → that profile (its params.dataFormat, or the dataFormat option);
 *   `auto` (or no id) with the dataFormat option → the highest-priority profile of that format;
 *   `auto` alone  → the stream: auto-format.ts finds the format (detect.ts) and then decodes with
 *                   the highest-priority profile of it. Until then identity() and profileId()
 *                   are undefined and nothing is published.
 * Decoding and time (frame clock anchored on receive): format-decoder.ts.
 */
import type { Observation } from '../../../../schemas/src/observation.js';
import type { Profile } from '../../../../schemas/src/profile.js';
import { GW_ERR_PROFILE, ProfileError } from '../../profiles/errors.js';
import { profilesFor, type ProfileSet } from '../../profiles/load.js';
import { matchProfile } from '../../profiles/match.js';
import { addErrors, type DecodeStats, type DecoderOptions, type DeviceIdentity, type ProtocolDecoder } from '../protocol.js';
import { AutoFormat } from './auto-format.js';
import { NoninFormatDecoder } from './format-decoder.js';
import { DATA_FORMATS, type DataFormat } from './frame.js';

export const PROTOCOL_NAME = 'nonin';

export interface NoninDecoderOptions extends DecoderOptions {
  profiles?: ProfileSet;
  /** Overrides the profile's params.dataFormat; with `auto`, picks the profile and skips detection. */
  dataFormat?: DataFormat;
}

/** This protocol's profiles from `dir` (default firmware-profiles/), through the one cache in profiles/load.ts. */
export function noninProfiles(dir?: string): ProfileSet {
  return profilesFor(PROTOCOL_NAME, dir);
}

export function profileFormat(p: Profile): DataFormat {
  const f = p.params?.dataFormat;
  return DATA_FORMATS.includes(f as DataFormat) ? (f as DataFormat) : 2;
}

/** The highest-priority Nonin profile whose data format is `f`, if any. */
export function profileForFormat(set: ProfileSet, f: DataFormat): Profile | undefined {
  const subset = new Map([...set.profiles].filter(([, p]) => p.protocol === PROTOCOL_NAME && profileFormat(p) === f));
  if (!subset.size) return undefined;
  try {
    return matchProfile({ dir: set.dir, profiles: subset }, { protocol: PROTOCOL_NAME, vendor: 'Nonin' });
  } catch (err) {
    if (err instanceof ProfileError) return undefined;
    throw err;
  }
}

export class NoninStreamDecoder implements ProtocolDecoder {
  private readonly fixed?: NoninFormatDecoder;
  private readonly auto?: AutoFormat;
  private readonly extraErrors: Record<string, number> = {};

  constructor(opts: NoninDecoderOptions = {}) {
    const set = opts.profiles ?? noninProfiles(opts.profilesDir);
    if (opts.profileId && opts.profileId !== 'auto') {
      const profile = matchProfile(set, { protocol: PROTOCOL_NAME, vendor: 'Nonin' }, opts.profileId);
      this.fixed = new NoninFormatDecoder(profile, opts.dataFormat ?? profileFormat(profile), { now: opts.now });
      return;
    }
    const profiles: Partial<Record<DataFormat, Profile>> = {};
    for (const f of opts.dataFormat !== undefined ? [opts.dataFormat] : DATA_FORMATS) {
      const p = profileForFormat(set, f);
      if (p) profiles[f] = p;
    }
    if (!Object.keys(profiles).length) {
      throw new ProfileError(
        GW_ERR_PROFILE.NOT_FOUND,
        `no firmware profile for protocol '${PROTOCOL_NAME}'${opts.dataFormat !== undefined ? ` with dataFormat ${opts.dataFormat}` : ''}`,
      );
    }
    if (opts.dataFormat !== undefined)
      this.fixed = new NoninFormatDecoder(profiles[opts.dataFormat]!, opts.dataFormat, { now: opts.now, identifyModel: false });
    else this.auto = new AutoFormat({ profiles, now: opts.now });
  }

  /** The data format in use; undefined while `auto` has not found it. */
  get format(): DataFormat | undefined {
    return this.fixed?.format ?? this.auto!.format;
  }

  /** The profile in use; undefined while `auto` has not found the format. */
  get profile(): Profile | undefined {
    return this.fixed?.profile ?? this.auto!.profile;
  }

  /** True when the format is found in the stream (profile `auto`, no dataFormat option). */
  get detecting(): boolean {
    return this.auto !== undefined;
  }

  push(chunk: Uint8Array, rxTimeMs?: number): Observation[] {
    return (this.fixed ?? this.auto!).push(chunk, rxTimeMs);
  }

  /** The link is going: with `auto`, bytes held undecided are counted 'format-undetermined'. */
  flush(): Observation[] {
    this.auto?.flush();
    return [];
  }

  /** The host's format selection is not needed to decode (the format is configured or detected). */
  pushTx(_chunk: Uint8Array): Observation[] {
    return [];
  }

  /** Problems seen by the session (e.g. 'nak' to a command), reported with the decoder's. */
  countError(kind: string): void {
    this.extraErrors[kind] = (this.extraErrors[kind] ?? 0) + 1;
  }

  stats(): DecodeStats {
    const s = (this.fixed ?? this.auto!).stats();
    const errors = { ...s.errors };
    addErrors(errors, this.extraErrors);
    return { frames: s.frames, bytes: s.bytes, errors };
  }

  recordCounts(): Record<string, number> {
    return { packets: this.fixed?.packets ?? this.auto!.packets() };
  }

  unmapped(): Record<string, number> {
    return (this.fixed ?? this.auto!).unmapped();
  }

  identity(): DeviceIdentity | undefined {
    return (this.fixed ?? this.auto!).identity();
  }

  profileId(): string | undefined {
    return this.profile?.id;
  }

  clockOffsetMs(): number | undefined {
    return undefined;
  }

  lastFrameAt(): number | undefined {
    return (this.fixed ?? this.auto!).lastFrameAt();
  }
}
