/**
 * The simulated Dräger MEDIBUS anaesthesia workstation (Atlan-like), a peer on the line:
 * it sends its own ICC on start (and expects it acknowledged: until then, and until the host has
 * sent its ICC, every request is answered with NAK, like the real Atlan), sends ESC R once after
 * the host's ICC, answers ICC, NOP, R, $, ', ), *, (, S, T, U and + and NAKs anything else, drops the link after
 * 3 s without a valid host frame (realtime stops, ICC again), streams the realtime channels the
 * host enabled with ESC T at their 20 ms interval with C6 breath markers, and puts one of its own
 * commands in the middle of every N-th answer. Every value it puts on the wire is also emitted
 * as canonical truth ('produced'), quantised exactly as on the wire.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { intToSample } from '../../../schemas/src/observation.js';
import {
  CMD,
  MedibusFramer,
  NAK,
  encodeAlarms,
  encodeCommand,
  encodeDateTime,
  encodeDeviceId,
  encodeItems,
  encodeResponse,
  encodeRtConfig,
  encodeRtValue,
  encodeTexts,
  formatValue,
  parseRtSelection,
  parseValue,
  type Frame,
  type RtChannelConfig,
} from '../../../gateway/src/protocols/draeger-medibus/index.js';
import { realClock, type SimClock } from '../ge-dri/clock.js';
import type { Produced, ProducedWave } from '../ge-dri/truth.js';
import { PhysiologyModel, type PhysiologyOptions } from '../physiology/index.js';
import { BreathCycle } from './breath.js';
import { ALARM, ATLAN_RT_CONFIG, CP1_ITEMS, RT_CANONICAL, SETTINGS, TEXT } from './device-table.js';

export interface MedibusSimulatorOptions {
  seed?: number;
  physiology?: PhysiologyModel | PhysiologyOptions;
  clock?: SimClock;
  logger?: Logger;
  onProduced?: (r: Produced) => void;
  deviceName?: string; // default 'A3XX' (Atlan)
  revision?: string; // default '02.11:06.00'
  /** Every N-th answer of ≥ 4 data bytes carries a device command in its middle (0 = never; default 4). */
  interleaveEvery?: number;
  iccOnStart?: boolean; // default true
  linkTimeoutMs?: number; // default 3000
  rtConfig?: RtChannelConfig[];
  rtTickMs?: number; // default 100
  waveBlockSamples?: number; // truth block size (default 25)
}

export interface MedibusSimStats {
  requests: Record<string, number>;
  naks: number;
  linkTimeouts: number;
  rtCycles: number;
  bytesSent: number;
  interleaved: number;
  rxErrors: Record<string, number>;
}

const hexName = (c: number): string => `0x${c.toString(16).padStart(2, '0')}`;

export class MedibusSimulator extends EventEmitter {
  readonly model: PhysiologyModel;
  private readonly clock: SimClock;
  private readonly o: Required<
    Pick<MedibusSimulatorOptions, 'deviceName' | 'revision' | 'interleaveEvery' | 'iccOnStart' | 'linkTimeoutMs' | 'rtTickMs' | 'waveBlockSamples'>
  >;
  private readonly rtConfig: RtChannelConfig[];
  private readonly breath: BreathCycle;
  private link: Duplex | null = null;
  private framer = new MedibusFramer();
  private hostInit = false;
  private iccPending = false;
  private lastIcc = 0;
  private sentR = false;
  private lastHost = 0;
  private answers = 0;
  private timer: unknown;
  private closed = false;
  private rt: { channels: RtChannelConfig[]; origin: number; sent: number; blocks: Map<number, ProducedWave> } | null = null;
  private readonly s: MedibusSimStats = { requests: {}, naks: 0, linkTimeouts: 0, rtCycles: 0, bytesSent: 0, interleaved: 0, rxErrors: {} };
  private readonly onData = (b: Buffer): void => this.receive(b);

  constructor(private readonly opts: MedibusSimulatorOptions = {}) {
    super();
    this.clock = opts.clock ?? realClock;
    this.model = opts.physiology instanceof PhysiologyModel ? opts.physiology : new PhysiologyModel({ seed: opts.seed ?? 1, ...(opts.physiology ?? {}) });
    this.breath = new BreathCycle(this.model);
    this.rtConfig = opts.rtConfig ?? ATLAN_RT_CONFIG;
    this.o = {
      deviceName: opts.deviceName ?? 'A3XX',
      revision: opts.revision ?? '02.11:06.00',
      interleaveEvery: opts.interleaveEvery ?? 4,
      iccOnStart: opts.iccOnStart ?? true,
      linkTimeoutMs: opts.linkTimeoutMs ?? 3000,
      rtTickMs: opts.rtTickMs ?? 100,
      waveBlockSamples: opts.waveBlockSamples ?? 25,
    };
    if (opts.onProduced) this.on('produced', opts.onProduced);
  }

  start(): void {
    if (this.timer !== undefined || this.closed) return;
    const loop = (): void => {
      this.timer = this.clock.setTimeout(loop, this.o.rtTickMs);
      this.tick();
    };
    this.timer = this.clock.setTimeout(loop, this.o.rtTickMs);
  }

  attach(link: Duplex): void {
    this.detach();
    this.link = link;
    this.framer = new MedibusFramer();
    this.hostInit = false;
    this.rt = null;
    this.sentR = false;
    this.lastHost = this.clock.now();
    link.on('data', this.onData);
    link.once('close', () => {
      if (this.link === link) this.detach();
    });
    link.on('error', () => undefined);
    if (this.o.iccOnStart) this.sendIcc();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.detach();
  }

  stats(): MedibusSimStats {
    return { ...this.s, requests: { ...this.s.requests }, rxErrors: this.framer.stats().errors };
  }

  private detach(): void {
    this.link?.off('data', this.onData);
    this.link = null;
    this.rt = null;
  }

  private write(bytes: Buffer): void {
    if (!this.link || this.link.destroyed) return;
    this.link.write(bytes);
    this.s.bytesSent += bytes.length;
  }

  private sendIcc(): void {
    this.iccPending = true;
    this.lastIcc = this.clock.now();
    this.write(encodeCommand(CMD.ICC));
  }

  private receive(chunk: Buffer): void {
    for (const ev of this.framer.push(chunk)) {
      if (ev.kind !== 'frame') continue;
      this.lastHost = this.clock.now();
      if (ev.frame.kind === 'response') {
        if (ev.frame.echo === CMD.ICC) this.iccPending = false;
        continue;
      }
      this.command(ev.frame);
    }
  }

  private command(f: Extract<Frame, { kind: 'command' }>): void {
    const name = hexName(f.cmd);
    this.s.requests[name] = (this.s.requests[name] ?? 0) + 1;
    if (f.cmd === CMD.ICC) {
      this.hostInit = true;
      this.rt = null;
      this.write(encodeResponse(CMD.ICC));
      if (!this.sentR) {
        this.sentR = true;
        this.write(encodeCommand(CMD.DEVICE_ID));
      }
      return;
    }
    if (f.cmd === CMD.NOP) {
      this.write(encodeResponse(CMD.NOP));
      return;
    }
    if (!this.hostInit || this.iccPending) {
      this.nak();
      return;
    }
    const now = this.clock.now();
    switch (f.cmd) {
      case CMD.DEVICE_ID:
        this.answer(f.cmd, encodeDeviceId({ id: '5555', name: this.o.deviceName, revision: this.o.revision }));
        break;
      case CMD.DATA_CP1:
        this.answer(f.cmd, this.cp1(now));
        break;
      case CMD.ALARMS_CP1:
        this.answer(f.cmd, this.alarmActive(now) ? encodeAlarms([ALARM]) : '');
        break;
      case CMD.SETTINGS:
        this.answer(f.cmd, this.settings(now));
        break;
      case CMD.TEXT:
        this.answer(f.cmd, encodeTexts([TEXT]));
        break;
      case CMD.DATETIME:
        this.answer(f.cmd, encodeDateTime(now));
        break;
      case CMD.DATA_CP2:
      case CMD.LOW_LIMITS_CP1:
      case CMD.HIGH_LIMITS_CP1:
        this.answer(f.cmd, '');
        break;
      case CMD.RT_CONFIG:
        this.answer(f.cmd, encodeRtConfig(this.rtConfig));
        break;
      case CMD.RT_CONFIGURE:
        this.configure(f.args, now);
        break;
      case CMD.STOP:
        this.rt = null;
        this.hostInit = false;
        this.write(encodeResponse(CMD.STOP));
        break;
      default:
        this.nak();
    }
  }

  private nak(): void {
    this.s.naks++;
    this.write(encodeResponse(NAK));
  }

  /** Answers, with a device command in the middle of every N-th longer answer (real Atlan quirk). */
  private answer(cmd: number, data: string): void {
    const frame = encodeResponse(cmd, data);
    const n = this.o.interleaveEvery;
    if (n > 0 && data.length >= 4 && ++this.answers % n === 0) {
      const cut = 2 + Math.floor(data.length / 2);
      const inner = encodeCommand(this.s.interleaved++ % 2 ? CMD.NOP : CMD.DEVICE_ID);
      this.write(Buffer.concat([frame.subarray(0, cut), inner, frame.subarray(cut)]));
      return;
    }
    this.write(frame);
  }

  private cp1(now: number): string {
    const v = this.model.at(now).values;
    const items: { code: number; raw: string }[] = [];
    for (const it of CP1_ITEMS) {
      const x = v[it.key];
      const raw = formatValue(x === null ? null : it.convert ? it.convert(x) : x, 4, it.decimals);
      items.push({ code: it.code, raw });
      const value = parseValue(raw);
      if (it.mdc && value !== null)
        this.emit('produced', {
          kind: 'numeric',
          mdc: it.mdc,
          value,
          unit: it.unit,
          t: now,
          vendorCode: `cp1.${it.code.toString(16).toUpperCase().padStart(2, '0')}`,
        });
    }
    return encodeItems(items, 4);
  }

  private settings(now: number): string {
    const v = this.model.at(now).values;
    return SETTINGS.map(
      (s) => `${s.code.toString(16).toUpperCase().padStart(2, '0')}${s.text !== undefined ? s.text.padStart(5) : formatValue(s.key ? v[s.key] : null, 5, 0)}`,
    ).join('');
  }

  /** Scripted alarm: active during seconds 20–39 of every minute. */
  private alarmActive(now: number): boolean {
    const s = Math.floor(now / 1000) % 60;
    return s >= 20 && s < 40;
  }

  private configure(args: Buffer, now: number): void {
    const sel = parseRtSelection(args);
    const channels = sel?.filter((x) => x.multiplier > 0).map((x) => this.rtConfig.find((c) => c.code === x.code));
    if (!sel || !channels || channels.some((c) => !c) || channels.length > 12) {
      this.nak();
      return;
    }
    this.write(encodeResponse(CMD.RT_CONFIGURE));
    this.rt = channels.length ? { channels: channels as RtChannelConfig[], origin: now, sent: 0, blocks: new Map() } : null;
  }

  private tick(): void {
    const now = this.clock.now();
    if (this.link && this.hostInit && now - this.lastHost > this.o.linkTimeoutMs) {
      this.s.linkTimeouts++;
      this.hostInit = false;
      this.rt = null;
      this.sendIcc();
    }
    // An unacknowledged ICC (e.g. sent before the host opened the port) is repeated every second.
    if (this.link && this.iccPending && now - this.lastIcc >= 1000) this.sendIcc();
    if (this.rt) this.stream(now);
  }

  private stream(now: number): void {
    const rt = this.rt!;
    const interval = rt.channels[0].intervalUs / 1000;
    const due = Math.floor((now - rt.origin) / interval) + 1; // every cycle whose time is <= now
    if (due - rt.sent > 100) rt.sent = due - 100; // bounded catch-up
    const out: number[] = [];
    for (; rt.sent < due; rt.sent++) {
      const t = rt.origin + rt.sent * interval;
      const { values, start } = this.breath.step(t);
      if (start) out.push(0xd0, 0xc6, start === 'inspiration' ? 0xc0 : 0xc1, 0xc0, 0xc0);
      const n = rt.channels.length;
      out.push(0xd0 | ((1 << Math.min(n, 4)) - 1));
      if (n > 4) out.push(0xc4, 0xc0 | ((1 << Math.min(n - 4, 4)) - 1));
      if (n > 8) out.push(0xc5, 0xc0 | ((1 << (n - 8)) - 1));
      for (const c of rt.channels) {
        const bin = Math.max(0, Math.min(c.maxBin, Math.round((((values[c.code] ?? c.min) - c.min) / (c.max - c.min)) * c.maxBin)));
        out.push(...encodeRtValue(bin));
        this.truth(rt, c, bin, t);
      }
      this.s.rtCycles++;
    }
    if (out.length) this.write(Buffer.from(out));
  }

  private truth(rt: NonNullable<MedibusSimulator['rt']>, c: RtChannelConfig, bin: number, t: number): void {
    const canon = RT_CANONICAL[c.code];
    if (!canon) return;
    let b = rt.blocks.get(c.code);
    if (!b) {
      b = { kind: 'wave', vendorWaveId: c.code, mdc: canon.mdc, unit: canon.unit, t0: t, rateHz: 1e6 / c.intervalUs, samples: [] };
      rt.blocks.set(c.code, b);
    }
    b.samples.push(intToSample(bin, (c.max - c.min) / c.maxBin, c.min));
    if (b.samples.length >= this.o.waveBlockSamples) {
      this.emit('produced', b);
      rt.blocks.delete(c.code);
    }
  }
}
