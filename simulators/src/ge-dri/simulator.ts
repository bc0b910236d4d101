/**
 * The simulated GE S/5 monitor on its "computer interface" (DRI): silent until the host sends a
 * valid PHDB or waveform request, then DISPL records every tx_interval s (0 = stop, −1 = once)
 * and waveform records every 250/500/1000 ms, each framed by the gateway's own codec. Every valid
 * value that goes on the wire is also emitted as canonical truth ('produced' events).
 * Time: schedules run on the host clock; timestamps are the device clock = host + clockOffsetMs
 * (+ any injected jump). Records are due at whole device seconds; the wave stream's first sample
 * is at a whole device second and each record's r_time is that of its first sample.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import {
  ArtifactInjector,
  NumericTrend,
  PhysiologyModel,
  Rng,
  configuredDataDir,
  recording,
  requireDataDir,
  type ArtifactSpan,
  type ArtifactSpec,
  type PhysiologyOptions,
  type RecordingName,
} from '../physiology/index.js';
import { DriFramer, encodePhdbRecord, encodeWaveRecord, frameRecord, parseRequest, type HostRequest, type PhdbClass } from './codec.js';
import { realClock, type SimClock } from './clock.js';
import { corruptFrame, type FaultOptions } from './faults.js';
import { buildPhdb } from './phdb-builder.js';
import { physical, type Produced, type ProducedWave } from './truth.js';
import { planWaves, type WavePlan } from './wave-plan.js';

export interface GeDriSimulatorOptions {
  seed?: number;
  /** A model, or options for one (default: the synthetic baseline physiology). */
  physiology?: PhysiologyModel | PhysiologyOptions;
  /** With recordings: drive the default model with the real s00001 numerics (default true). */
  realNumerics?: boolean;
  /** Minute of the s00001 numerics the simulation starts at (default 620, all of HR/SpO2/PR valid). */
  trendStartMinute?: number;
  /**
   * PhysioNet recordings directory: real ECG/ART/PLETH/RESP loops and s00001 numerics instead of
   * the synthetic model (default: $ORLINK_PHYSIONET_DIR, else none). Missing → SIM_ERR_DATA_DIR at start.
   */
  dataDir?: string;
  clockOffsetMs?: number;
  driLevel?: number; // default 10 (DRI 2009, as the real captures)
  plugId?: number;
  faults?: FaultOptions;
  /** Time and timers (default: the real clock); ManualClock for simulated time. */
  clock?: SimClock;
  /** Shorthand: another "now" with real timers (ignored when `clock` is given). */
  now?: () => number;
  logger?: Logger;
  onProduced?: (r: Produced) => void;
  /** Frames are dropped (counted) while the link holds more than this many unsent bytes. */
  maxBufferedBytes?: number;
  /**
   * Opt-in measurement artifacts (physiology/artifacts.ts) in the PHDB numerics, at device times;
   * seeded (default: the simulator's seed). Off by default. When on, each intact PHDB record also
   * emits 'clean' with the record's values without the artifacts (same quantisation), and
   * artifactSpans() gives the injected spans: the ground truth of a chart test.
   */
  artifacts?: { specs: readonly ArtifactSpec[]; seed?: number };
}

export interface SimStats {
  requests: Record<string, number>;
  rxErrors: Record<string, number>; // framer errors on host→monitor bytes (checksum = ignored requests)
  framesSent: number;
  bytesSent: number;
  dropped: Record<string, number>; // records generated but not sent: silence, no-link, overflow, checksum
  garbageBytes: number;
  rejectedWaves: number;
}

const CATCH_UP_LIMIT = 40;
const PRELOAD: RecordingName[] = ['ecgMcl1', 'abp', 'resp', 'ecgII', 'ecgV', 'pleth'];

function ignore(): void {
  /* see detach() */
}

function sameIds(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export class GeDriSimulator extends EventEmitter {
  /** The physiology in use (replaced in start() by one driven by the s00001 numerics when recordings are configured). */
  model: PhysiologyModel;
  private dataDir: string | undefined;
  private readonly clock: SimClock;
  private readonly opts: GeDriSimulatorOptions;
  private readonly rng: Rng;
  private readonly log: Logger | undefined;
  private readonly artifacts: ArtifactInjector | null;
  private link: Duplex | null = null;
  private framer = new DriFramer();
  private started = false;
  private closed = false;
  private jumpMs = 0;
  private phdb: { req: Extract<HostRequest, { kind: 'phdb' }>; nextHost: number; timer?: unknown } | null = null;
  private wave: { plan: WavePlan; requested: number[]; originHost: number; k: number; timer?: unknown } | null = null;
  private phdbNbr = 0;
  private waveNbr = 0;
  private waveEndHost: number | undefined; // host time just after the last wave record's last sample
  private frameCount = 0;
  private silentUntil = -Infinity;
  private corruptPending = 0;
  private garbagePending = 0;
  private faultTimers: unknown[] = [];
  private readonly s: SimStats = { requests: {}, rxErrors: {}, framesSent: 0, bytesSent: 0, dropped: {}, garbageBytes: 0, rejectedWaves: 0 };
  private readonly onData = (chunk: Buffer): void => this.receive(chunk);
  private readonly onLinkEnd = (): void => this.detach();

  constructor(opts: GeDriSimulatorOptions = {}) {
    super();
    this.opts = opts;
    this.clock = opts.clock ?? (opts.now ? { ...realClock, now: opts.now } : realClock);
    const seed = opts.seed ?? 1;
    this.rng = Rng.keyed(seed, 'faults');
    this.log = opts.logger;
    this.model = opts.physiology instanceof PhysiologyModel ? opts.physiology : new PhysiologyModel({ seed, ...(opts.physiology ?? {}) });
    if (opts.onProduced) this.on('produced', opts.onProduced);
    this.artifacts = opts.artifacts ? new ArtifactInjector(opts.artifacts.specs, opts.artifacts.seed ?? seed) : null;
  }

  /** The injected artifacts' spans (device ms), empty without the `artifacts` option. */
  artifactSpans(): ArtifactSpan[] {
    return this.artifacts?.spans() ?? [];
  }

  /** Device clock, ms. */
  deviceNow(): number {
    return this.clock.now() + this.offset();
  }

  /** Begin operating: faults armed; requests from an attached link are served. */
  start(): void {
    if (this.started || this.closed) return;
    const o = this.opts;
    const dataDir = configuredDataDir(o.dataDir);
    if (dataDir !== undefined) requireDataDir(dataDir); // fatal: fails the start, nothing armed
    this.started = true;
    const wantTrend = !(o.physiology instanceof PhysiologyModel) && o.physiology?.trend === undefined && o.realNumerics !== false;
    if (dataDir !== undefined) {
      this.dataDir = dataDir;
      if (wantTrend)
        this.model = new PhysiologyModel({
          seed: o.seed ?? 1,
          ...(o.physiology as PhysiologyOptions | undefined),
          trend: NumericTrend.load(dataDir, { startMinute: o.trendStartMinute ?? 620 }),
        });
      for (const r of PRELOAD) recording(r, dataDir); // read the waveform files now, not on the first wave request
    }
    const f = this.opts.faults ?? {};
    if (f.disconnectEveryMs) this.every(f.disconnectEveryMs, () => this.disconnect());
    if (f.silence) {
      const { everyMs, durationMs } = f.silence;
      this.every(everyMs, () => this.silence(durationMs));
    }
    if (f.clockJump) {
      const { afterMs, jumpMs } = f.clockJump;
      this.faultTimers.push(this.clock.setTimeout(() => this.jumpClock(jumpMs), afterMs));
    }
  }

  /** Serve one link (the previous one is detached). The simulator stays silent until a request. */
  attach(link: Duplex): void {
    this.detach();
    this.link = link;
    this.framer = new DriFramer();
    link.on('data', this.onData);
    link.on('close', this.onLinkEnd);
    link.on('error', this.onLinkEnd);
    this.log?.info('link attached');
    this.emit('attached');
  }

  /** Forget the link (streams stop; a new link must request again). */
  detach(): void {
    const link = this.link;
    this.stopPhdb();
    this.stopWaves();
    this.waveEndHost = undefined;
    if (!link) return;
    this.link = null;
    this.mergeRxErrors();
    link.off('data', this.onData);
    link.off('close', this.onLinkEnd);
    link.off('error', this.onLinkEnd);
    link.on('error', ignore); // a late error of a link we let go must not crash the process
    this.log?.info({ stats: this.stats() }, 'link detached');
    this.emit('detached');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.faultTimers) this.clock.clearTimeout(t);
    this.faultTimers = [];
    this.detach();
  }

  stats(): SimStats {
    const rx = { ...this.s.rxErrors };
    for (const [k, v] of Object.entries(this.framer.stats().errors)) rx[k] = (rx[k] ?? 0) + v;
    return { ...this.s, requests: { ...this.s.requests }, dropped: { ...this.s.dropped }, rxErrors: rx };
  }

  // ---- faults, callable directly ----
  injectGarbage(frames = 1): void {
    this.garbagePending += frames;
  }
  corruptNext(frames = 1): void {
    this.corruptPending += frames;
  }
  silence(ms: number): void {
    this.silentUntil = this.clock.now() + ms;
    this.emit('fault', { kind: 'silence', ms });
  }
  jumpClock(ms: number): void {
    this.jumpMs += ms;
    this.emit('fault', { kind: 'clock-jump', ms });
  }
  disconnect(): void {
    const link = this.link;
    if (!link) return;
    this.detach();
    this.emit('fault', { kind: 'disconnect' });
    // a serial port must be closed (destroy() would keep its fd and lock); other links are destroyed
    const port = link as Duplex & { isOpen?: boolean; close?: (cb?: (e?: Error | null) => void) => void };
    if (port.isOpen === true && typeof port.close === 'function') port.close(() => port.destroy());
    else link.destroy();
  }

  // ---- requests ----
  private receive(chunk: Buffer): void {
    if (!this.started || this.closed) {
      this.count(this.s.dropped, 'rx-before-start', chunk.length);
      return;
    }
    for (const rec of this.framer.push(chunk)) {
      let req: HostRequest;
      try {
        req = parseRequest(rec);
      } catch {
        this.count(this.s.requests, 'unparsable');
        continue;
      }
      this.count(this.s.requests, req.kind);
      this.log?.info({ request: req }, 'host request');
      this.emit('request', req);
      if (req.kind === 'phdb') this.onPhdbRequest(req);
      else if (req.kind === 'wave') this.onWaveRequest(req);
    }
  }

  private onPhdbRequest(req: Extract<HostRequest, { kind: 'phdb' }>): void {
    if (req.intervalS === 0) {
      this.stopPhdb();
      return;
    }
    const cur = this.phdb?.req;
    if (cur && req.intervalS > 0 && cur.intervalS === req.intervalS && cur.classMask === req.classMask && cur.recordType === req.recordType) return;
    this.stopPhdb();
    this.phdb = { req, nextHost: this.nextWholeDeviceSecondHost() };
    this.armPhdb();
  }

  private onWaveRequest(req: Extract<HostRequest, { kind: 'wave' }>): void {
    const prev = this.wave;
    // the same set again (a host refreshing its request): the stream just goes on
    if (prev && req.reqType !== 1 && sameIds(prev.requested, req.waveIds)) return;
    this.stopWaves();
    if (req.reqType === 1 || req.waveIds.length === 0) return;
    const plan = planWaves(req.waveIds, { model: this.model, seed: this.opts.seed ?? 1, ...(this.dataDir ? { dataDir: this.dataDir } : {}) });
    this.s.rejectedWaves += plan.rejected.length;
    if (plan.waves.length === 0) return;
    const originHost = this.nextWholeDeviceSecondHost();
    // a new stream that does not continue the previous one skips a record number, as a lost
    // record would, so a receiver re-anchors its sample clock instead of placing blocks back to back
    if (this.waveEndHost !== undefined && this.waveEndHost !== originHost) this.waveNbr++;
    this.wave = { plan, requested: [...req.waveIds], originHost, k: 0 };
    this.armWave();
  }

  // ---- scheduling ----
  private offset(): number {
    return (this.opts.clockOffsetMs ?? 0) + this.jumpMs;
  }
  private modelTime(hostMs: number): number {
    return hostMs + (this.opts.clockOffsetMs ?? 0);
  }

  private nextWholeDeviceSecondHost(): number {
    const dev = this.clock.now() + this.offset();
    return Math.ceil(dev / 1000) * 1000 - this.offset();
  }

  private armPhdb(): void {
    const p = this.phdb;
    if (!p) return;
    p.timer = this.clock.setTimeout(() => this.firePhdb(), p.nextHost - this.clock.now());
  }

  private firePhdb(): void {
    const p = this.phdb;
    if (!p) return;
    const now = this.clock.now();
    for (let i = 0; i < CATCH_UP_LIMIT && p.nextHost <= now && this.phdb === p; i++) {
      this.sendPhdb(p.req, p.nextHost);
      if (p.req.intervalS < 0) {
        this.phdb = null;
        return;
      }
      p.nextHost += p.req.intervalS * 1000;
    }
    if (p.nextHost <= now) p.nextHost = this.nextWholeDeviceSecondHost(); // fell far behind: realign
    if (this.phdb === p) this.armPhdb();
  }

  private stopPhdb(): void {
    if (this.phdb?.timer !== undefined) this.clock.clearTimeout(this.phdb.timer);
    this.phdb = null;
  }

  private armWave(): void {
    const w = this.wave;
    if (!w) return;
    const due = w.originHost + (w.k + 1) * w.plan.intervalMs;
    w.timer = this.clock.setTimeout(() => this.fireWave(), due - this.clock.now());
  }

  private fireWave(): void {
    const w = this.wave;
    if (!w) return;
    const now = this.clock.now();
    for (let i = 0; i < CATCH_UP_LIMIT && w.originHost + (w.k + 1) * w.plan.intervalMs <= now && this.wave === w; i++) {
      this.sendWave(w.plan, w.originHost + w.k * w.plan.intervalMs);
      w.k++;
      this.waveEndHost = w.originHost + w.k * w.plan.intervalMs;
    }
    if (this.wave === w) this.armWave();
  }

  private stopWaves(): void {
    if (this.wave?.timer !== undefined) this.clock.clearTimeout(this.wave.timer);
    this.wave = null;
  }

  /** A periodic fault; its slot in faultTimers is reused, so the list stays bounded. */
  private every(ms: number, fn: () => void): void {
    const slot = this.faultTimers.length;
    const tick = (): void => {
      if (this.closed) return;
      fn();
      this.faultTimers[slot] = this.clock.setTimeout(tick, ms);
    };
    this.faultTimers[slot] = this.clock.setTimeout(tick, ms);
  }

  // ---- records ----
  private sendPhdb(req: Extract<HostRequest, { kind: 'phdb' }>, hostMs: number): void {
    const time = Math.floor((hostMs + this.offset()) / 1000);
    const classes: PhdbClass[] = ['basic'];
    if (req.classMask & 0x2) classes.push('ext1');
    if (req.classMask & 0x4) classes.push('ext2');
    if (req.classMask & 0x8) classes.push('ext3');
    const snap = this.model.at(this.modelTime(hostMs));
    const built = buildPhdb(this.artifacts ? this.artifacts.apply(snap) : snap, this.model, classes, time * 1000);
    const clean = this.artifacts ? buildPhdb(snap, this.model, classes, time * 1000).truth : undefined;
    const record = encodePhdbRecord({
      time,
      recordType: req.recordType,
      driLevel: this.opts.driLevel ?? 10,
      recNbr: this.phdbNbr++ & 0xff,
      plugId: this.opts.plugId ?? 0,
      classes: built.classes,
    });
    this.transmit(record, built.truth, clean);
  }

  private sendWave(plan: WavePlan, firstHost: number): void {
    const devFirst = firstHost + this.offset();
    const truth: ProducedWave[] = [];
    const channels = plan.waves.map((pw) => {
      if (!pw.source) return { waveId: pw.waveId, samples: new Array<number>(pw.perRecord).fill(-32767), label: pw.label };
      const x = pw.source.next(pw.perRecord, this.modelTime(firstHost));
      const raw = Array.from(x, (v) => Math.max(-32000, Math.min(32767, Math.round(v * pw.divisor))));
      truth.push({
        kind: 'wave',
        vendorWaveId: pw.waveId,
        mdc: pw.mdc,
        unit: pw.unit,
        t0: devFirst,
        rateHz: pw.rateHz,
        samples: raw.map((r) => physical(r, pw.divisor)),
      });
      return { waveId: pw.waveId, samples: raw, label: pw.label };
    });
    const record = encodeWaveRecord({ time: Math.floor(devFirst / 1000), driLevel: this.opts.driLevel ?? 10, recNbr: this.waveNbr++ & 0xff, channels });
    this.transmit(record, truth);
  }

  /** Frame and write one record; its truth is emitted only if it went out intact. */
  private transmit(record: Buffer, truth: Produced[], clean?: Produced[]): void {
    const link = this.link;
    if (!link || link.destroyed || !link.writable) {
      this.count(this.s.dropped, 'no-link');
      return;
    }
    if (this.clock.now() < this.silentUntil) {
      this.count(this.s.dropped, 'silence');
      return;
    }
    if (link.writableLength > (this.opts.maxBufferedBytes ?? 1 << 20)) {
      this.count(this.s.dropped, 'overflow');
      return;
    }
    this.frameCount++;
    const f = this.opts.faults ?? {};
    const chunks: Buffer[] = [];
    if (this.garbagePending > 0 || (f.garbageEveryFrames && this.frameCount % f.garbageEveryFrames === 0)) {
      if (this.garbagePending > 0) this.garbagePending--;
      const g = Buffer.alloc(f.garbageBytes ?? 16);
      for (let i = 0; i < g.length; i++) g[i] = this.rng.int(0, 256);
      chunks.push(g);
      this.s.garbageBytes += g.length;
    }
    let frame = frameRecord(record);
    let intact = true;
    if (this.corruptPending > 0 || (f.badChecksumEveryFrames && this.frameCount % f.badChecksumEveryFrames === 0)) {
      if (this.corruptPending > 0) this.corruptPending--;
      frame = corruptFrame(frame);
      intact = false;
      this.count(this.s.dropped, 'checksum');
    }
    chunks.push(frame);
    const bytes = Buffer.concat(chunks);
    link.write(bytes);
    this.s.bytesSent += bytes.length;
    if (!intact) return;
    this.s.framesSent++;
    for (const r of truth) this.emit('produced', r);
    if (clean) this.emit('clean', clean);
  }

  private mergeRxErrors(): void {
    for (const [k, v] of Object.entries(this.framer.stats().errors)) this.count(this.s.rxErrors, k, v);
    this.framer = new DriFramer();
  }

  private count(m: Record<string, number>, k: string, n = 1): void {
    m[k] = (m[k] ?? 0) + n;
  }
}
