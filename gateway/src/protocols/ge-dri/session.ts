/**
 * Active GE DRI session: the monitor sends nothing until asked, and forgets requests, so the
 * driver sends on start() the PHDB request (DISPL, interval, class mask 0x0E) and the continuous
 * wave request, re-sends both every `refreshS` (and sooner while no frame has arrived yet), and on
 * stop() sends the wave STOP and the PHDB stop. Before the monitor has answered, requests go out
 * at every configured DRI level (as VSCapture does); once its level is known, at that level only.
 * A wall clock that stepped back (bad NTP, an operator) restarts the refresh interval instead of
 * stalling it for the size of the step (the runner's watchdog measures silence on a monotonic clock).
 */
import type { Observation } from '../../../../schemas/src/observation.js';
import type { Profile } from '../../../../schemas/src/profile.js';
import type { ProfileSet } from '../../profiles/load.js';
import { matchProfile } from '../../profiles/match.js';
import type { SessionDriver, SessionIO, SessionOptions, StreamDecoder } from '../protocol.js';
import { GeDriError } from './errors.js';
import { frameRecord } from './frame.js';
import { WAVE_ID, WAVES } from './layout.js';
import { encodePhdbRequest, encodeWaveRequest, MAX_WAVES_PER_REQUEST, WF_REQ } from './requests.js';
import { geDriProfiles, GeDriStreamDecoder, PROTOCOL_NAME, type GeDriDecoderOptions } from './stream-decoder.js';

export const MAX_WAVE_SAMPLES_PER_S = 600;
const DEFAULT_LEVELS = [10, 9, 8, 7];
const NO_ANSWER_RETRY_MS = 5000;

export interface GeDriSessionSettings {
  recordType: 1 | 2 | 3;
  intervalS: number;
  classMask: number;
  refreshS: number;
  levels: number[];
  waveIds: number[];
}

function num(v: unknown, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new GeDriError(`option ${name} must be an integer in ${min}..${max}`);
  return v;
}

/** Resolves session options against the profile and checks the monitor's limits (≤ 8 waves, ≤ 600 samples/s). */
export function resolveSettings(options: Record<string, unknown>, profile: Profile | undefined): GeDriSessionSettings {
  const req = profile?.requests ?? {};
  const rawWaves = options.waves ?? req.waves ?? [];
  if (!Array.isArray(rawWaves)) throw new GeDriError('option waves must be an array of wave names or ids');
  const waveIds = rawWaves.map((w) => {
    const id = typeof w === 'number' ? w : WAVE_ID[String(w).toUpperCase()];
    if (id === undefined || !WAVES[id]) throw new GeDriError(`unknown GE DRI wave '${String(w)}' (known: ${Object.keys(WAVE_ID).join(', ')})`);
    return id;
  });
  if (new Set(waveIds).size !== waveIds.length) throw new GeDriError('option waves lists a wave twice');
  if (waveIds.length > MAX_WAVES_PER_REQUEST) throw new GeDriError(`at most ${MAX_WAVES_PER_REQUEST} waves per monitor, got ${waveIds.length}`);
  const total = waveIds.reduce((s, id) => s + WAVES[id].rateHz, 0);
  if (total > MAX_WAVE_SAMPLES_PER_S) {
    throw new GeDriError(`waves ${waveIds.map((i) => WAVES[i].name).join('+')} need ${total} samples/s, the monitor serves at most ${MAX_WAVE_SAMPLES_PER_S}`);
  }
  const recordType = num(options.recordType, 'recordType', 1, 3) ?? req.recordType ?? 1;
  const levels = options.driLevels ?? req.protocolLevels ?? DEFAULT_LEVELS;
  if (!Array.isArray(levels) || !levels.length || levels.some((l) => typeof l !== 'number' || l < 2 || l > 15))
    throw new GeDriError('option driLevels must list DRI levels 2..15');
  return {
    recordType: recordType as 1 | 2 | 3,
    intervalS: num(options.intervalS, 'intervalS', 1, 3600) ?? req.intervalS ?? 5,
    classMask: num(options.classMask, 'classMask', 0, 0xffff) ?? req.classMask ?? 0x0e,
    refreshS: num(options.refreshS, 'refreshS', 1, 3600) ?? req.refreshS ?? 60,
    levels: levels as number[],
    waveIds,
  };
}

/**
 * Before the monitor has answered, the profile is unknown: take the request defaults of the best
 * GE profile, sent at every DRI level any GE profile names (highest first).
 */
function autoDefaults(set: ProfileSet): Profile | undefined {
  const all = [...set.profiles.values()].filter((p) => p.protocol === PROTOCOL_NAME);
  if (!all.length) return undefined;
  const best = matchProfile(set, { protocol: PROTOCOL_NAME, vendor: 'GE' });
  const levels = [...new Set(all.flatMap((p) => p.requests?.protocolLevels ?? []))].sort((a, b) => b - a);
  return { ...best, requests: { ...best.requests, protocolLevels: levels.length ? levels : DEFAULT_LEVELS } };
}

export class GeDriSession implements SessionDriver {
  private readonly dec: GeDriStreamDecoder;
  private settings: GeDriSessionSettings;
  private io?: SessionIO;
  private lastSent?: number;
  private readonly now: () => number;

  constructor(opts: SessionOptions & Pick<GeDriDecoderOptions, 'profiles'> = {}) {
    this.now = opts.now ?? Date.now;
    this.dec = new GeDriStreamDecoder({ ...opts, timeBase: opts.timeBase ?? 'gateway' });
    const set = opts.profiles ?? geDriProfiles(opts.profilesDir);
    const explicit = opts.profileId && opts.profileId !== 'auto' ? matchProfile(set, { protocol: PROTOCOL_NAME }, opts.profileId) : undefined;
    this.settings = resolveSettings(opts.options ?? {}, explicit ?? autoDefaults(set));
  }

  start(io: SessionIO): void {
    this.io = io;
    // Stop a wave stream the monitor may still be running for an earlier connection (gateway
    // restart, watchdog reopen) so that it restarts on a whole second of its clock: r_time has 1 s
    // resolution, and a stream joined mid-way can only be placed to within a second. Whether a
    // real S/5 realigns on a restart is unverified (README, [U]); the fault suite checks ours.
    if (this.settings.waveIds.length) {
      for (const level of this.levels()) this.write(encodeWaveRequest({ reqType: WF_REQ.contStop, waveIds: [], driLevel: level }));
    }
    this.sendRequests(this.now());
  }

  onBytes(chunk: Uint8Array, rxTimeMs: number): Observation[] {
    return this.dec.push(chunk, rxTimeMs);
  }

  tick(nowMs: number): void {
    if (!this.io || this.lastSent === undefined) return;
    if (nowMs < this.lastSent) this.lastSent = nowMs; // the wall clock went back: do not wait for it to catch up
    const due = this.dec.lastFrameAt() === undefined ? NO_ANSWER_RETRY_MS : this.settings.refreshS * 1000;
    if (nowMs - this.lastSent >= due) this.sendRequests(nowMs);
  }

  stop(): void {
    if (!this.io) return;
    for (const level of this.levels()) {
      if (this.settings.waveIds.length) this.write(encodeWaveRequest({ reqType: WF_REQ.contStop, waveIds: [], driLevel: level }));
      this.write(encodePhdbRequest({ recordType: this.settings.recordType, intervalS: 0, classMask: 0, driLevel: level }));
    }
    this.io = undefined;
  }

  decoder(): StreamDecoder {
    return this.dec;
  }

  /** The decoder's link freshness (protocol.ts). */
  lastFrameAt(): number | undefined {
    return this.dec.lastFrameAt();
  }

  /** The monitor's own level once known, else every configured level. */
  private levels(): number[] {
    const level = this.dec.driLevel();
    return level !== undefined ? [level] : this.settings.levels;
  }

  private sendRequests(nowMs: number): void {
    const s = this.settings;
    for (const level of this.levels()) {
      this.write(encodePhdbRequest({ recordType: s.recordType, intervalS: s.intervalS, classMask: s.classMask, driLevel: level }));
      if (s.waveIds.length) this.write(encodeWaveRequest({ reqType: WF_REQ.contStart, waveIds: s.waveIds, driLevel: level }));
    }
    this.lastSent = nowMs;
  }

  private write(record: Buffer): void {
    this.io?.write(frameRecord(record));
  }
}
