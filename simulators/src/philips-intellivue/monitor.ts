/**
 * The simulated IntelliVue monitor, transport-free: host messages in (receive), monitor messages
 * out ('send' events), produced truth out ('produced' events). Answers an AARQ with the AARE of
 * the real MP20 capture (or RF when refusing), sends the MDS create event, and serves extended
 * polls: numerics every 1 s, waves every 256 ms, alerts every 1 s, for the poll's TIME_PD_POLL.
 * Long replies are split into RORLS + RORS at `maxReplyBytes`. Static attributes (label, unit,
 * scale, sample period) are sent with the first reply of an association that carries the object.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import {
  alertList,
  attrList,
  mdsCreateEvent,
  nuCmpd,
  nuObs,
  pollReplyMessages,
  saObs,
  saSpec,
  scaleSpec,
  string16,
  typeAttr,
  u16,
  u32,
  type PollObject,
} from '../../../gateway/src/protocols/philips-intellivue/encode.js';
import {
  ABORT,
  REFUSE,
  RELEASE_RESPONSE,
  encodeRoer,
  parseHostRequest,
  waveTextId,
  type HostRequest,
} from '../../../gateway/src/protocols/philips-intellivue/requests.js';
import { ATTR, MOC, MSMT } from '../../../gateway/src/protocols/philips-intellivue/nomenclature.js';
import { PhysiologyModel, configuredDataDir, createWaveSource, requireDataDir, type WaveSource } from '../physiology/index.js';
import { NUMERIC_OBJECTS, WAVES, quantise, waveValue, type WavePlan } from './plan.js';
import { AARE, type Produced } from './truth.js';

export interface MonitorFaults {
  /** Refuse every association (data export disabled in the monitor's configuration). */
  refuse?: boolean;
  /** Set DEMO_DATA on every value. */
  demo?: boolean;
  /** SpO2 without sensor: NaN + UNAVAILABLE. */
  spo2Unavailable?: boolean;
  /** Abort the association when the host has been silent this long (keep-alive lapse), ms. */
  keepAliveTimeoutMs?: number;
  /** Send one alert (HR high) while true. */
  alarm?: boolean;
}

export interface MonitorOptions {
  seed?: number;
  model?: string;
  firmware?: string;
  clockOffsetMs?: number;
  maxReplyBytes?: number;
  faults?: MonitorFaults;
  now?: () => number;
  logger?: Logger;
  /** PhysioNet recordings for the waves (default: $ORLINK_PHYSIONET_DIR, else synthetic); missing → SIM_ERR_DATA_DIR. */
  dataDir?: string;
}

interface ActivePoll {
  invokeId: number;
  pollNumber: number;
  until: number;
  seq: number;
  timer?: NodeJS.Timeout;
}

const TICKS_PER_MS = 8;
const WAVE_PERIOD_MS = 256;

export class IntelliVueMonitor extends EventEmitter {
  private readonly now: () => number;
  private readonly model: PhysiologyModel;
  private readonly dataDir: string | undefined;
  private readonly log?: Logger;
  private associated = false;
  /** static attributes sent in this association: numerics (all at once), waves (per handle) */
  private staticSent = { nu: false, sa: new Set<number>() };
  private polls = new Map<number, ActivePoll>();
  private sources = new Map<number, WaveSource>();
  private waveSample = new Map<number, number>();
  private waveStartMs?: number;
  private lastHostMsg = 0;
  private readonly bootMs: number;
  private readonly relBase: number;
  private keepAliveTimer?: NodeJS.Timeout;
  private rtsa: number[] = WAVES.map((w) => w.physioId);
  private closed = false;
  readonly counters: Record<string, number> = {};

  constructor(private readonly opts: MonitorOptions = {}) {
    super();
    this.now = opts.now ?? Date.now;
    this.log = opts.logger;
    this.model = new PhysiologyModel({ seed: opts.seed ?? 1 });
    this.dataDir = configuredDataDir(opts.dataDir);
    if (this.dataDir !== undefined) requireDataDir(this.dataDir);
    this.bootMs = this.deviceNow();
    this.relBase = 0x00100000;
  }

  deviceNow(): number {
    return this.now() + (this.opts.clockOffsetMs ?? 0);
  }

  private relOf(deviceMs: number): number {
    return (this.relBase + Math.round((deviceMs - this.bootMs) * TICKS_PER_MS)) >>> 0;
  }

  /** One host message (already unframed / one datagram). */
  receive(msg: Buffer): void {
    if (this.closed) return;
    let req: HostRequest;
    try {
      req = parseHostRequest(msg);
    } catch {
      this.count('unparsable');
      return;
    }
    this.count(req.kind);
    this.lastHostMsg = this.now();
    this.emit('request', req);
    switch (req.kind) {
      case 'aarq':
        return this.onAarq();
      case 'release':
        this.endAssociation();
        this.send(RELEASE_RESPONSE);
        return;
      case 'abort':
        this.endAssociation();
        return;
      case 'mds-create-result':
        return;
      case 'set-rtsa': {
        this.rtsa = req.textIds.map((t) => t & 0xffff).filter((id) => WAVES.some((w) => w.physioId === id));
        const list = Buffer.concat([u16(this.rtsa.length), u16(this.rtsa.length * 4), ...this.rtsa.map((id) => u32(waveTextId(id)))]);
        const body = Buffer.concat([u16(MOC.VMS_MDS), u16(0), u16(0), attrList([[ATTR.POLL_RTSA_PRIO_LIST, list]])]);
        this.send(Buffer.concat([Buffer.from([0xe1, 0, 0, 2]), u16(2), u16(body.length + 6), u16(req.invokeId), u16(5), u16(body.length), body]));
        return;
      }
      case 'poll':
        return this.onPoll(req);
      default:
        if (req.invokeId !== undefined) this.send(encodeRoer(req.invokeId, 9)); // NO_SUCH_ACTION
    }
  }

  private onAarq(): void {
    if (this.opts.faults?.refuse) {
      this.send(REFUSE);
      return;
    }
    this.endAssociation();
    this.associated = true;
    this.send(AARE);
    const t = Math.floor(this.deviceNow() / 10) * 10; // AbsoluteTime carries 1/100 s
    this.send(
      mdsCreateEvent({
        invokeId: 1,
        manufacturer: 'Philips',
        model: this.opts.model ?? 'MX800',
        absTime: t,
        relTime: this.relOf(t),
        firmware: this.opts.firmware ?? 'M.00.03',
      }),
    );
    const ka = this.opts.faults?.keepAliveTimeoutMs;
    if (ka) {
      this.keepAliveTimer = setInterval(
        () => {
          if (this.associated && this.now() - this.lastHostMsg > ka) {
            this.count('keep-alive-abort');
            this.abort();
          }
        },
        Math.min(ka, 1000),
      );
    }
  }

  /** Fault: abort the association now (monitor side). */
  abort(): void {
    this.endAssociation();
    this.send(ABORT);
  }

  private onPoll(req: Extract<HostRequest, { kind: 'poll' }>): void {
    if (!this.associated) {
      this.send(encodeRoer(req.invokeId, 2)); // ACCESS_DENIED
      return;
    }
    const old = this.polls.get(req.objType);
    if (old?.timer) clearInterval(old.timer);
    const durMs = req.durationTicks !== undefined ? req.durationTicks / TICKS_PER_MS : 0;
    const p: ActivePoll = { invokeId: req.invokeId, pollNumber: req.pollNumber, until: this.now() + durMs, seq: 0 };
    this.polls.set(req.objType, p);
    const period = req.objType === MOC.VMO_METRIC_SA_RT ? WAVE_PERIOD_MS : 1000;
    const fire = (): void => {
      if (!this.associated || this.now() > p.until) {
        clearInterval(p.timer);
        if (this.polls.get(req.objType) === p) this.polls.delete(req.objType);
        return;
      }
      this.reply(req.objType, p);
    };
    fire();
    if (durMs > 0) p.timer = setInterval(fire, period);
  }

  private reply(objType: number, p: ActivePoll): void {
    const t = this.deviceNow();
    let objects: PollObject[] = [];
    let relTime = this.relOf(t);
    if (objType === MOC.VMO_METRIC_NU) objects = this.numerics(t);
    else if (objType === MOC.VMO_METRIC_SA_RT) ({ objects, relTime } = this.waves(t));
    else if (objType === MOC.VMO_AL_MON) objects = this.alerts();
    else return;
    p.seq = (p.seq + 1) & 0xffff;
    const msgs = pollReplyMessages(p.invokeId, { pollNumber: p.pollNumber, sequenceNo: p.seq, relTime, objType }, objects, this.opts.maxReplyBytes ?? 1200);
    for (const m of msgs) this.send(m);
  }

  private state(base = 0): number {
    return base | (this.opts.faults?.demo ? MSMT.DEMO_DATA : 0);
  }

  private numerics(t: number): PollObject[] {
    const snap = this.model.at(t);
    const withStatic = !this.staticSent.nu;
    this.staticSent.nu = true;
    const tq = Math.round(t * TICKS_PER_MS) / TICKS_PER_MS; // the wire's 125 µs resolution
    return NUMERIC_OBJECTS.map((o) => {
      const avas: PollObject['avas'] = withStatic
        ? [
            [ATTR.ID_TYPE, typeAttr(o.members[0].physioId)],
            [ATTR.ID_LABEL_STRING, string16(o.label)],
          ]
        : [];
      const specs = o.members.map((m) => {
        let v = snap.values[m.vital];
        let state = this.state();
        if (m.physioId === 0x4bb8 && this.opts.faults?.spo2Unavailable) {
          v = null;
          state |= MSMT.UNAVAILABLE;
        }
        const q = v === null || v === undefined ? null : quantise(v, m.exponent);
        if (q !== null && !(state & 0xf000)) {
          this.emit('produced', {
            kind: 'numeric',
            vendorCode: `0x${m.physioId.toString(16).padStart(4, '0').toUpperCase()}`,
            value: q,
            unit: m.unit,
            t: tq,
            demo: !!this.opts.faults?.demo,
          } satisfies Produced);
        }
        return { physioId: m.physioId, unitCode: m.unitCode, value: q, exponent: m.exponent, state };
      });
      avas.push(specs.length > 1 ? [ATTR.NU_CMPD_VAL_OBS, nuCmpd(specs)] : [ATTR.NU_VAL_OBS, nuObs(specs[0])]);
      return { handle: o.handle, avas };
    });
  }

  private waves(t: number): { objects: PollObject[]; relTime: number } {
    // A continuous sample clock per wave: reply k starts at waveStart + k × 256 ms.
    this.waveStartMs ??= t;
    const k = Math.floor((t - this.waveStartMs) / WAVE_PERIOD_MS);
    const t0 = this.waveStartMs + k * WAVE_PERIOD_MS;
    const objects: PollObject[] = [];
    for (const w of WAVES) {
      if (!this.rtsa.includes(w.physioId)) continue;
      const n = Math.round((w.rateHz * WAVE_PERIOD_MS) / 1000);
      const src = this.source(w);
      const from = this.waveSample.get(w.handle);
      if (from !== undefined && from >= (k + 1) * n) continue; // already sent this period
      this.waveSample.set(w.handle, (k + 1) * n);
      const ints = Array.from(src.next(n, t0), (v) => w.toInt(v));
      // with the first reply of the association that carries this wave (not merely the first wave
      // reply: one whose period a previous poll already sent carries no wave at all)
      const avas: PollObject['avas'] = this.staticSent.sa.has(w.handle) ? [] : this.waveStatic(w, n);
      this.staticSent.sa.add(w.handle);
      avas.push([ATTR.SA_VAL_OBS, saObs(w.physioId, ints, this.state())]);
      objects.push({ handle: w.handle, avas });
      this.emit('produced', {
        kind: 'wave',
        vendorCode: `0x${w.physioId.toString(16).padStart(4, '0').toUpperCase()}`,
        unit: w.unit,
        t0,
        rateHz: w.rateHz,
        samples: ints.map((i) => waveValue(w, i)),
      } satisfies Produced);
    }
    return { objects, relTime: this.relOf(t0) };
  }

  private waveStatic(w: WavePlan, n: number): PollObject['avas'] {
    return [
      [ATTR.ID_TYPE, typeAttr(w.physioId)],
      [ATTR.ID_LABEL_STRING, string16(w.label)],
      [ATTR.SA_SPECN, saSpec(n, w.significantBits, w.lowerAbs === null ? 0x8000 : 0x3000)],
      [ATTR.TIME_PD_SAMP, u32(w.period)],
      [ATTR.SCALE_SPECN_I16, scaleSpec(w.lowerAbs, w.upperAbs, w.lowerScaled, w.upperScaled, w.absExponent)],
      [ATTR.UNIT_CODE, u16(w.unitCode)],
    ];
  }

  private source(w: WavePlan): WaveSource {
    let s = this.sources.get(w.handle);
    if (!s) {
      s = createWaveSource(w.kind, w.rateHz, {
        model: this.model,
        seed: this.opts.seed ?? 1,
        ...(this.dataDir !== undefined ? { dataDir: this.dataDir } : {}),
      });
      this.sources.set(w.handle, s);
    }
    return s;
  }

  private alerts(): PollObject[] {
    const list = this.opts.faults?.alarm ? [{ code: 0x4182, source: 0x4182, type: 1024, handle: 0x0101, text: '**HR HIGH' }] : [];
    return [
      {
        handle: 0x0001,
        avas: [
          [ATTR.AL_MON_P_AL_LIST, alertList(list)],
          [ATTR.AL_MON_T_AL_LIST, alertList([])],
        ],
      },
    ];
  }

  /** Fault toggles at run time. */
  setFaults(f: MonitorFaults): void {
    this.opts.faults = { ...this.opts.faults, ...f };
  }

  /** Fault: the monitor restarts (new MDS create, handles' static attributes resent). */
  restart(): void {
    this.endAssociation();
    this.onAarq();
  }

  private endAssociation(): void {
    this.associated = false;
    this.staticSent = { nu: false, sa: new Set() };
    for (const p of this.polls.values()) clearInterval(p.timer);
    this.polls.clear();
    clearInterval(this.keepAliveTimer);
  }

  private send(msg: Buffer): void {
    this.count('sent');
    this.emit('send', msg);
  }

  private count(k: string): void {
    this.counters[k] = (this.counters[k] ?? 0) + 1;
  }

  close(): void {
    this.closed = true;
    this.endAssociation();
  }
}
