/**
 * Active MEDIBUS session, symmetric (README §Session): both sides send commands and answer the
 * other's. The driver answers every device command at once (ICC/NOP acknowledged, ESC R with an
 * empty id, any other request with an empty answer), even in the middle of a device response.
 * Own requests go out one at a time: ICC → device id (→ profile) → [ESC S → ESC T → enable
 * sequence] → poll loop (CP1, alarms, and every N cycles settings / text / date-time / CP2).
 * NOP keeps the link alive when idle. A NAK answer, a device ICC or ESC U, 3 unanswered requests
 * or no valid frame for linkTimeoutMs re-initialise the link (ICC again).
 */
import type { Observation } from '../../../../schemas/src/observation.js';
import { matchProfile } from '../../profiles/match.js';
import type { SessionDriver, SessionIO, SessionOptions, StreamDecoder } from '../protocol.js';
import { CMD, NAK, encodeCommand, encodeResponse, type Frame } from './frame.js';
import { encodeRtEnable, encodeRtSelection, parseRtConfig, type RtSelection } from './realtime.js';
import { resolveSessionSettings, type MedibusSessionSettings } from './settings.js';
import { medibusProfiles, MedibusStreamDecoder, profileFor, PROTOCOL_NAME, type MedibusDecoderOptions } from './stream-decoder.js';

export { resolveSessionSettings, type MedibusSessionSettings } from './settings.js';

type Phase = 'init' | 'identify' | 'rt-config' | 'rt-configure' | 'polling';
const MAX_TIMEOUTS = 3;
const REINIT_GAP_MS = 1000;

export class MedibusSession implements SessionDriver {
  private readonly dec: MedibusStreamDecoder;
  private settings: MedibusSessionSettings;
  private readonly options: Record<string, unknown>;
  private readonly explicit: boolean;
  private io?: SessionIO;
  private phase: Phase = 'init';
  private outstanding?: { cmd: number; at: number };
  private queue: number[] = [];
  private lastSent = 0;
  private lastInit = 0;
  private lastIcc?: number;
  private nextPoll = 0;
  private pollNo = 0;
  private timeouts = 0;
  private readonly now: () => number;
  readonly counters: Record<string, number> = {};

  constructor(opts: SessionOptions & Pick<MedibusDecoderOptions, 'profiles'> = {}) {
    this.now = opts.now ?? Date.now;
    this.dec = new MedibusStreamDecoder({ ...opts, timeBase: opts.timeBase ?? 'gateway' });
    this.options = opts.options ?? {};
    const set = opts.profiles ?? medibusProfiles(opts.profilesDir);
    this.explicit = !!opts.profileId && opts.profileId !== 'auto';
    const p = this.explicit ? matchProfile(set, { protocol: PROTOCOL_NAME }, opts.profileId) : profileFor(set);
    this.settings = resolveSessionSettings(this.options, p);
  }

  start(io: SessionIO): void {
    this.io = io;
    const now = this.now();
    if (this.settings.initialNop) this.write(encodeCommand(CMD.NOP), now);
    this.reinit(now, 'start');
  }

  onBytes(chunk: Uint8Array, rxTimeMs: number): Observation[] {
    const obs = this.dec.push(chunk, rxTimeMs);
    for (const f of this.dec.takeForSession()) {
      if (f.kind === 'command') this.answer(f, rxTimeMs);
      else this.onResponse(f, rxTimeMs, obs);
    }
    this.pump(rxTimeMs);
    return obs;
  }

  tick(nowMs: number): void {
    if (!this.io) return;
    if (nowMs - (this.dec.lastFrameAt() ?? this.lastInit) > this.settings.linkTimeoutMs && nowMs - this.lastInit > this.settings.linkTimeoutMs) {
      this.reinit(nowMs, 'link-timeout');
      return;
    }
    if (this.outstanding && nowMs - this.outstanding.at > this.settings.responseTimeoutMs) {
      this.count('response-timeout');
      this.outstanding = undefined;
      if (++this.timeouts >= MAX_TIMEOUTS) {
        this.reinit(nowMs, 'timeouts');
        return;
      }
      if (this.phase !== 'polling') {
        this.reinit(nowMs, 'handshake-timeout');
        return;
      }
    }
    this.pump(nowMs);
  }

  stop(): void {
    if (!this.io) return;
    if (this.settings.waves.length && this.phase === 'polling')
      this.io.write(encodeCommand(CMD.RT_CONFIGURE, encodeRtSelection(this.settings.waves.map((code) => ({ code, multiplier: 0 })))));
    this.io = undefined;
  }

  /** The link is going away: the realtime cycle in progress and the open wave blocks. */
  flush(): Observation[] {
    return this.dec.flush();
  }

  decoder(): StreamDecoder {
    return this.dec;
  }
  lastFrameAt(): number | undefined {
    return this.dec.lastFrameAt();
  }
  state(): Phase {
    return this.phase;
  }

  private answer(f: Extract<Frame, { kind: 'command' }>, now: number): void {
    this.count(`device-cmd-0x${f.cmd.toString(16)}`);
    this.write(encodeResponse(f.cmd), now, false);
    if (f.cmd === CMD.ICC && this.phase === 'init' && this.outstanding?.cmd === CMD.ICC) return; // our own ICC is on its way
    if (f.cmd === CMD.ICC || f.cmd === CMD.STOP) this.reinit(now, f.cmd === CMD.ICC ? 'device-icc' : 'device-stop');
    else if (f.cmd === CMD.RT_CONFIG_CHANGED && this.settings.waves.length && this.phase === 'polling') this.queue.unshift(CMD.RT_CONFIG);
  }

  private onResponse(f: Extract<Frame, { kind: 'response' }>, now: number, obs: Observation[]): void {
    if (f.echo === NAK) {
      this.count('nak');
      this.reinit(now, 'nak');
      return;
    }
    if (!this.outstanding || this.outstanding.cmd !== f.echo) {
      this.count('unsolicited-answer');
      return;
    }
    this.outstanding = undefined;
    this.timeouts = 0;
    switch (f.echo) {
      case CMD.ICC:
        this.phase = 'identify';
        this.send(CMD.DEVICE_ID, '', now);
        break;
      case CMD.DEVICE_ID:
        if (!this.explicit) this.settings = resolveSessionSettings(this.options, this.dec.activeProfile());
        this.startRealtimeOrPoll(now);
        break;
      case CMD.RT_CONFIG:
        this.configureRealtime(f.data, now, obs);
        break;
      case CMD.RT_CONFIGURE:
        if (this.settings.rtEnableSequence) this.write(encodeRtEnable(this.selected), now);
        this.phase = 'polling';
        break;
      default:
        break;
    }
  }

  private selected = 0;

  private startRealtimeOrPoll(now: number): void {
    if (this.settings.waves.length) {
      this.phase = 'rt-config';
      this.send(CMD.RT_CONFIG, '', now);
    } else this.phase = 'polling';
  }

  private configureRealtime(data: Buffer, now: number, obs: Observation[]): void {
    const { channels } = parseRtConfig(data);
    const available = new Set(channels.map((c) => c.code));
    const missing = this.settings.waves.filter((c) => !available.has(c));
    if (missing.length) this.count('rt-code-not-offered', missing.length);
    const sel: RtSelection[] = channels.map((c) => ({ code: c.code, multiplier: this.settings.waves.includes(c.code) ? 1 : 0 }));
    this.selected = sel.filter((s) => s.multiplier > 0).length;
    if (!this.selected) {
      this.phase = 'polling';
      return;
    }
    const args = encodeRtSelection(sel);
    this.dec.noteHostCommand(CMD.RT_CONFIGURE, Buffer.from(args, 'latin1'), obs);
    this.phase = 'rt-configure';
    this.send(CMD.RT_CONFIGURE, args, now);
  }

  private pump(now: number): void {
    if (!this.io || this.outstanding) return;
    if (this.phase === 'init') {
      if (this.lastIcc === undefined || now - this.lastIcc >= REINIT_GAP_MS) this.sendIcc(now);
      return;
    }
    if (this.phase === 'polling') {
      if (now >= this.nextPoll && !this.queue.length) {
        this.nextPoll = Math.max(this.nextPoll + this.settings.pollMs, now);
        const s = this.settings;
        const n = this.pollNo++;
        this.queue.push(CMD.DATA_CP1);
        if (s.alarms) this.queue.push(CMD.ALARMS_CP1);
        if (s.cp2) this.queue.push(CMD.DATA_CP2);
        if (s.settingsEvery && n % s.settingsEvery === 0) this.queue.push(CMD.SETTINGS);
        if (s.textEvery && n % s.textEvery === 0) this.queue.push(CMD.TEXT);
        if (s.datetimeEvery && n % s.datetimeEvery === 0) this.queue.push(CMD.DATETIME);
      }
      const next = this.queue.shift();
      if (next !== undefined) {
        this.send(next, '', now);
        return;
      }
    }
    if (now - this.lastSent >= this.settings.nopMs) this.send(CMD.NOP, '', now);
  }

  private reinit(now: number, why: string): void {
    this.count(`reinit-${why}`);
    this.phase = 'init';
    this.queue = [];
    this.outstanding = undefined;
    this.timeouts = 0;
    this.lastInit = now;
    this.nextPoll = now;
    this.pollNo = 0;
    // At most one ICC per REINIT_GAP_MS: a device that keeps refusing (NAK) must not cause a storm.
    if (this.lastIcc === undefined || now - this.lastIcc >= REINIT_GAP_MS) this.sendIcc(now);
  }

  private sendIcc(now: number): void {
    this.lastIcc = now;
    this.send(CMD.ICC, '', now);
  }

  private send(cmd: number, args: string, now: number): void {
    this.outstanding = { cmd, at: now };
    this.write(encodeCommand(cmd, args), now);
  }

  private write(bytes: Buffer, now: number, counts = true): void {
    if (!this.io) return;
    this.io.write(bytes);
    if (counts) this.lastSent = now;
  }

  private count(kind: string, n = 1): void {
    this.counters[kind] = (this.counters[kind] ?? 0) + n;
  }
}
