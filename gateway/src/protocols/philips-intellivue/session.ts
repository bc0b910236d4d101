/**
 * Active IntelliVue Data Export session: AARQ → (AC) → MDS create event → MDS create result →
 * RTSA priority list (when waves are wanted) → extended polls of numerics, waves and alerts,
 * re-issued every `refreshS` (before the monitor's TIME_PD_POLL runs out); keep-alive by
 * re-sending the MDS create result every `keepAliveS`; re-association after an abort, a release,
 * a new MDS create (monitor restart) or `silenceS` without data. A refusal (RF: data export not
 * enabled on the monitor) is reported in identity().protocolLevel ('association-refused') and
 * retried with a growing delay (refuseRetryS … 300 s), never in a fast loop.
 */
import type { Observation } from '../../../../schemas/src/observation.js';
import type { Profile } from '../../../../schemas/src/profile.js';
import type { DeviceIdentity, SessionDriver, SessionIO, SessionOptions, StreamDecoder } from '../protocol.js';
import { GW_ERR_INTELLIVUE, IntelliVueError } from './errors.js';
import { frameMessage } from './fcs.js';
import { MOC, ROER_NAMES } from './nomenclature.js';
import { encodeAarq, encodeMdsCreateResult, encodePoll, encodeSetRtsaPrio, RELEASE_REQUEST, waveTextId } from './requests.js';
import { IntelliVueStreamDecoder, intelliVueProfiles, type Framing, type IntelliVueDecoderOptions, PROTOCOL_NAME } from './stream-decoder.js';
import { matchProfile } from '../../profiles/match.js';

export type SessionState = 'idle' | 'associating' | 'wait-mds' | 'running' | 'refused' | 'stopped';

export interface IntelliVueSettings {
  /** 'auto': AARQ alternately framed for serial and sent as a datagram until the monitor answers. */
  framing: Framing | 'auto';
  waves: number[];
  alerts: boolean;
  keepAliveS: number;
  refreshS: number;
  pollDurationS: number;
  silenceS: number;
  assocTimeoutS: number;
  refuseRetryS: number;
  pollExtOptions: number;
  minPollPeriodTicks: number;
  mtu: number;
}

const TICKS_PER_S = 8000;
const MAX_REFUSE_RETRY_S = 300;

function num(v: unknown, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    throw new IntelliVueError(GW_ERR_INTELLIVUE.CONFIG, `option ${name} must be a number in ${min}..${max}`);
  return v;
}

function waveId(w: unknown): number {
  const n = typeof w === 'number' ? w : typeof w === 'string' && /^0x[0-9a-f]{1,4}$/i.test(w) ? parseInt(w, 16) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0xffff)
    throw new IntelliVueError(GW_ERR_INTELLIVUE.CONFIG, `wave '${String(w)}' must be a physio id (number or "0x0102")`);
  return n;
}

/** Options (device config) over the profile's requests/params over defaults; throws on bad options. */
export function resolveSettings(options: Record<string, unknown>, profile: Profile | undefined): IntelliVueSettings {
  const p = profile?.params ?? {};
  const req = profile?.requests ?? {};
  const framing = options.framing ?? 'auto';
  if (framing !== 'serial' && framing !== 'lan' && framing !== 'auto')
    throw new IntelliVueError(GW_ERR_INTELLIVUE.CONFIG, "option framing must be 'serial', 'lan' or 'auto'");
  const rawWaves = options.waves ?? req.waves ?? [];
  if (!Array.isArray(rawWaves)) throw new IntelliVueError(GW_ERR_INTELLIVUE.CONFIG, 'option waves must be an array');
  const waves = rawWaves.map(waveId);
  const maxWaves = req.maxWaves ?? 8;
  if (waves.length > maxWaves)
    throw new IntelliVueError(GW_ERR_INTELLIVUE.CONFIG, `at most ${maxWaves} waves for ${profile?.id ?? 'this monitor'}, got ${waves.length}`);
  const pn = (k: string, d: number): number => (typeof p[k] === 'number' ? (p[k] as number) : d);
  const s: IntelliVueSettings = {
    framing,
    waves,
    alerts: options.alerts === undefined ? true : options.alerts === true,
    keepAliveS: num(options.keepAliveS, 'keepAliveS', 1, 6) ?? pn('keepAliveS', 6),
    refreshS: num(options.refreshS, 'refreshS', 1, 3600) ?? req.refreshS ?? 20,
    pollDurationS: num(options.pollDurationS, 'pollDurationS', 2, 3600) ?? pn('pollDurationS', 30),
    silenceS: num(options.silenceS, 'silenceS', 2, 600) ?? pn('silenceS', 15),
    assocTimeoutS: num(options.assocTimeoutS, 'assocTimeoutS', 1, 120) ?? 5,
    refuseRetryS: num(options.refuseRetryS, 'refuseRetryS', 1, MAX_REFUSE_RETRY_S) ?? 30,
    pollExtOptions: pn('pollExtOptions', 0x8c000000),
    minPollPeriodTicks: pn('minPollPeriodTicks', 4000),
    mtu: framing === 'serial' ? pn('serialMtu', 2500) : pn('lanMtu', 1456),
  };
  if (s.refreshS >= s.pollDurationS)
    throw new IntelliVueError(GW_ERR_INTELLIVUE.CONFIG, `refreshS (${s.refreshS}) must be below pollDurationS (${s.pollDurationS})`);
  return s;
}

export class IntelliVueSession implements SessionDriver {
  private readonly dec: IntelliVueStreamDecoder;
  readonly settings: IntelliVueSettings;
  private io?: SessionIO;
  private st: SessionState = 'idle';
  private invoke = 0;
  private pollNumber = 0;
  private sentAt = 0;
  private lastPoll = 0;
  private lastKeepAlive = 0;
  private lastData?: number;
  private mdsInvoke = 1;
  private refuseDelayS: number;
  private retryAt = 0;
  private refusedTick?: number;
  private attempts = 0;
  private readonly counters: Record<string, number> = {};
  private readonly now: () => number;

  constructor(opts: SessionOptions & IntelliVueDecoderOptions = {}) {
    const options = opts.options ?? {};
    const profiles = opts.profiles ?? intelliVueProfiles(opts.profilesDir);
    const profile = matchProfile(profiles, { protocol: PROTOCOL_NAME, vendor: 'Philips' }, opts.profileId);
    this.settings = resolveSettings(options, profile);
    const fixed = this.settings.framing === 'auto' ? {} : { framing: this.settings.framing };
    this.dec = new IntelliVueStreamDecoder({ ...opts, profiles, ...fixed });
    this.refuseDelayS = this.settings.refuseRetryS;
    this.now = opts.now ?? Date.now;
  }

  state(): SessionState {
    return this.st;
  }

  start(io: SessionIO): void {
    this.io = io;
    this.associate(this.now());
  }

  onBytes(chunk: Uint8Array, rxTimeMs: number): Observation[] {
    const obs = this.dec.push(chunk, rxTimeMs);
    for (const e of this.dec.takeForSession()) {
      switch (e.kind) {
        case 'associated':
          if (this.st === 'associating') this.st = 'wait-mds';
          this.refuseDelayS = this.settings.refuseRetryS;
          break;
        case 'refused':
          this.count('association-refused');
          this.st = 'refused';
          this.retryAt = rxTimeMs + this.refuseDelayS * 1000;
          this.refuseDelayS = Math.min(MAX_REFUSE_RETRY_S, this.refuseDelayS * 2);
          break;
        case 'mds-create':
          // first create, or a monitor restart while running: confirm and (re)start polling
          this.mdsInvoke = e.invokeId;
          this.send(encodeMdsCreateResult(e.invokeId));
          this.st = 'running';
          this.lastData = rxTimeMs;
          this.lastKeepAlive = rxTimeMs;
          this.startPolls(rxTimeMs);
          break;
        case 'aborted':
        case 'released':
          this.count(e.kind === 'aborted' ? 'monitor-abort' : 'monitor-release');
          if (this.st !== 'stopped') this.associate(rxTimeMs);
          break;
        case 'roer':
          this.count(`roer-${(ROER_NAMES[e.errorValue] ?? String(e.errorValue)).toLowerCase()}`);
          break;
        case 'poll-result':
          this.lastData = rxTimeMs;
          break;
        default:
          break;
      }
    }
    if (obs.length) this.lastData = rxTimeMs;
    return obs;
  }

  tick(nowMs: number): void {
    switch (this.st) {
      case 'associating':
      case 'wait-mds':
        if (nowMs - this.sentAt >= this.settings.assocTimeoutS * 1000) {
          this.count('association-timeout');
          this.associate(nowMs);
        }
        break;
      case 'refused':
        // Deliberately waiting: reopening the link cannot help a monitor that refuses, so keep
        // the runner's watchdog quiet until the retry (the refusal shows in identity/errors).
        this.refusedTick = nowMs;
        if (nowMs >= this.retryAt) this.associate(nowMs);
        break;
      case 'running':
        if (this.lastData !== undefined && nowMs - this.lastData >= this.settings.silenceS * 1000) {
          this.count('silence-reassociate');
          this.associate(nowMs);
          break;
        }
        if (nowMs - this.lastPoll >= this.settings.refreshS * 1000) this.startPolls(nowMs);
        if (nowMs - this.lastKeepAlive >= this.settings.keepAliveS * 1000) {
          this.lastKeepAlive = nowMs;
          this.send(encodeMdsCreateResult(this.mdsInvoke));
        }
        break;
      default:
        break;
    }
  }

  stop(): void {
    if (this.st === 'running' || this.st === 'wait-mds') this.send(RELEASE_REQUEST);
    this.st = 'stopped';
  }

  decoder(): StreamDecoder {
    const dec = this.dec;
    const self = this;
    // identity carries the association state so the gateway status shows a refusing monitor
    return new Proxy(dec, {
      get(target, prop, receiver) {
        if (prop === 'identity') return (): DeviceIdentity | undefined => self.identity();
        if (prop === 'stats')
          return () => {
            const s = target.stats();
            for (const [k, v] of Object.entries(self.counters)) s.errors[k] = (s.errors[k] ?? 0) + v;
            return s;
          };
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  identity(): DeviceIdentity | undefined {
    const id = this.dec.identity();
    if (this.st === 'refused') return { ...(id ?? { vendor: 'Philips' }), protocolLevel: 'association-refused' };
    return id;
  }

  /** Last valid frame; while refused, the last tick (see tick()). */
  lastFrameAt(): number | undefined {
    const f = this.dec.lastFrameAt();
    if (this.st !== 'refused' || this.refusedTick === undefined) return f;
    return Math.max(f ?? 0, this.refusedTick);
  }

  private associate(nowMs: number): void {
    this.attempts++;
    this.st = 'associating';
    this.sentAt = nowMs;
    this.lastData = undefined;
    this.dec.decoder.resetAssociation();
    const s = this.settings;
    this.send(encodeAarq({ minPollPeriodTicks: s.minPollPeriodTicks, maxMtuRx: s.mtu, maxMtuTx: s.mtu, pollExtOptions: s.pollExtOptions }));
  }

  private startPolls(nowMs: number): void {
    this.lastPoll = nowMs;
    const ticks = Math.round(this.settings.pollDurationS * TICKS_PER_S);
    if (this.settings.waves.length) this.send(encodeSetRtsaPrio(this.nextInvoke(), this.settings.waves.map(waveTextId)));
    this.send(encodePoll({ invokeId: this.nextInvoke(), pollNumber: this.nextPoll(), objType: MOC.VMO_METRIC_NU, durationTicks: ticks }));
    if (this.settings.waves.length)
      this.send(encodePoll({ invokeId: this.nextInvoke(), pollNumber: this.nextPoll(), objType: MOC.VMO_METRIC_SA_RT, durationTicks: ticks }));
    if (this.settings.alerts)
      this.send(encodePoll({ invokeId: this.nextInvoke(), pollNumber: this.nextPoll(), objType: MOC.VMO_AL_MON, durationTicks: ticks }));
  }

  private nextInvoke(): number {
    this.invoke = (this.invoke % 0xfffe) + 1;
    return this.invoke;
  }

  private nextPoll(): number {
    this.pollNumber = (this.pollNumber % 0xfffe) + 1;
    return this.pollNumber;
  }

  /** The medium: configured, else detected from the monitor's bytes, else alternating per AARQ (serial first). */
  framing(): Framing {
    if (this.settings.framing !== 'auto') return this.settings.framing;
    return this.dec.detectedFraming() ?? (this.attempts % 2 === 1 ? 'serial' : 'lan');
  }

  private send(msg: Buffer): void {
    if (!this.io) return;
    this.io.write(this.framing() === 'serial' ? frameMessage(msg) : msg);
  }

  private count(kind: string): void {
    this.counters[kind] = (this.counters[kind] ?? 0) + 1;
  }
}
