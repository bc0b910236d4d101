/**
 * Vitals in canonical terms as a deterministic function of (seed, options, time): real 1/min
 * numerics where the trend has them, otherwise a baseline plus a seeded mean-reverting random walk
 * (Ornstein–Uhlenbeck, 1 s steps), plus scenario events (induction, desaturation) and the derived
 * values (MAP, MAC, minute volume, ...). Same seed + same options + same times → same values,
 * whatever the call pattern; the last HISTORY_S seconds of the walk are kept, so callers that ask
 * slightly out of order (waves a block behind the numerics) cost no recomputation.
 */
import { SIM_ERR, SimError } from '../errors.js';
import { AGENTS, N2O_MAC, VITALS, VITAL_KEYS, type Agent, type VitalKey } from './canonical.js';
import { checkEvents, EventTimeline, type PhysioEvent } from './events.js';
import { Rng } from './random.js';
import type { NumericTrend } from './trend.js';

export interface PhysiologyOptions {
  seed?: number;
  /** Override the default baseline of any vital. */
  baseline?: Partial<Record<VitalKey, number>>;
  /** Real numerics that drive hr, spo2, pulse rate, ART, resp rate and NIBP where present. */
  trend?: NumericTrend | null;
  /** NIBP cycle, minutes (default 5); the first measurement is at startMs. */
  nibpIntervalMin?: number;
  agent?: Agent;
  /** Model time origin, device-clock ms (default: the first time asked). */
  startMs?: number;
  /** Scenario events (times from the model's start); magnitudes not given are drawn from the seed. */
  events?: PhysioEvent[];
}

export interface VitalsSnapshot {
  t: number;
  agent: Agent;
  values: Record<VitalKey, number | null>;
  /** Device ms of the NIBP measurement the nibp* values come from (undefined before the first). */
  nibpTakenAt?: number;
}

const WALKED: VitalKey[] = VITAL_KEYS.filter((k) => VITALS[k].sd > 0);
const EXTRA_WALKS = ['pulseNoise', 'nibpSysOff', 'nibpDiaOff'] as const;
const MAX_STEPS = 7 * 86400; // the walk restarts weekly: bounds the work of a far jump
const WALK_NAMES: string[] = [...WALKED, ...EXTRA_WALKS];
const HISTORY_S = 128; // walk states kept for asking back in time

export class PhysiologyModel {
  readonly seed: number;
  readonly agent: Agent;
  private readonly base: Record<VitalKey, number>;
  private readonly trend: NumericTrend | null;
  private readonly nibpIntervalMs: number;
  private startMs: number | undefined;
  private step = 0;
  private nibpCache: { at: number; sys: number; dia: number; mean: number } | undefined;
  private walk: { x: number; rng: Rng; sd: number; tau: number }[] = [];
  private readonly history = new Float64Array(HISTORY_S * WALK_NAMES.length);
  private readonly events: EventTimeline | null;

  constructor(opts: PhysiologyOptions = {}) {
    this.seed = opts.seed ?? 1;
    this.agent = opts.agent ?? 'SEV';
    if (!AGENTS[this.agent]) throw new SimError(SIM_ERR.PHYSIO_CONFIG, `unknown agent '${String(opts.agent)}'`);
    this.base = Object.fromEntries(VITAL_KEYS.map((k) => [k, opts.baseline?.[k] ?? VITALS[k].base])) as Record<VitalKey, number>;
    for (const [k, val] of Object.entries(opts.baseline ?? {})) {
      if (!(k in VITALS) || !Number.isFinite(val)) throw new SimError(SIM_ERR.PHYSIO_CONFIG, `bad baseline ${k}=${String(val)}`);
    }
    this.trend = opts.trend ?? null;
    this.nibpIntervalMs = (opts.nibpIntervalMin ?? 5) * 60000;
    if (!(this.nibpIntervalMs > 0)) throw new SimError(SIM_ERR.PHYSIO_CONFIG, 'nibpIntervalMin must be > 0');
    this.startMs = opts.startMs;
    const bad = opts.events === undefined ? [] : checkEvents(opts.events);
    if (bad.length) throw new SimError(SIM_ERR.PHYSIO_CONFIG, bad.join('; '));
    this.events = opts.events?.length ? new EventTimeline(opts.events, this.seed) : null;
    this.resetWalk();
  }

  /** The model's time origin, device ms: fixed by the first call (or `startMs`), `tMs` if none yet. */
  anchor(tMs: number): number {
    this.startMs ??= tMs;
    return this.startMs;
  }

  /** MDC reference id of a vital (agent gases follow the configured agent). */
  mdcOf(key: VitalKey): string {
    if (key === 'etAgent') return AGENTS[this.agent].et;
    if (key === 'fiAgent') return AGENTS[this.agent].insp;
    return VITALS[key].mdc;
  }

  unitOf(key: VitalKey): string {
    return VITALS[key].unit;
  }

  at(tMs: number): VitalsSnapshot {
    this.startMs ??= tMs;
    const elapsed = tMs - this.startMs;
    const walk = this.walkAt(elapsed);
    const values = {} as Record<VitalKey, number | null>;
    const fromTrend = (k: VitalKey): number => (this.trend ? this.trend.valueAt(k, Math.max(0, elapsed)) : NaN);
    const pick = (k: VitalKey): number => {
      const tr = fromTrend(k);
      return Number.isNaN(tr) ? this.base[k] + (walk.get(k) ?? 0) : tr;
    };
    for (const k of WALKED) values[k] = pick(k);
    const ev = { hr: pick('hr'), spo2: pick('spo2'), artSys: pick('artSys'), artDia: pick('artDia') };
    const hr0 = ev.hr;
    this.events?.apply(ev, elapsed);
    values.hr = ev.hr;
    values.spo2 = ev.spo2;
    values.pulseRate = Number.isNaN(fromTrend('pulseRate')) ? values.hr + (walk.get('pulseNoise') ?? 0) : fromTrend('pulseRate') + ev.hr - hr0;
    values.artSys = ev.artSys;
    values.artDia = Math.min(ev.artDia, values.artSys - 15);
    const trMean = fromTrend('artMean');
    values.artMean = Number.isNaN(trMean) ? values.artDia + (values.artSys - values.artDia) / 3 : trMean;
    values.artPulseRate = values.hr;
    values.respRate = Number.isNaN(fromTrend('respRate')) ? values.ventRate! : fromTrend('respRate');
    values.peep = this.base.peep;
    values.pplat = values.ppeak! - 3;
    values.ieRatio = this.base.ieRatio;
    const ti = 1 / (1 + 1 / values.ieRatio);
    values.pmean = values.peep + (values.ppeak! - values.peep) * ti * 0.8;
    values.minuteVolume = (values.tidalVolume! * values.ventRate!) / 1000;
    values.compliance = values.tidalVolume! / Math.max(1, values.pplat - values.peep);
    values.etN2O = this.base.etN2O;
    values.fiN2O = this.base.fiN2O;
    values.mac = values.etAgent! / AGENTS[this.agent].mac + values.etN2O / N2O_MAC;
    // NIBP: the last cycle at or before t
    let nibpTakenAt: number | undefined;
    values.nibpSys = values.nibpDia = values.nibpMean = null;
    if (elapsed >= 0) {
      const k = Math.floor(elapsed / this.nibpIntervalMs);
      nibpTakenAt = this.startMs + k * this.nibpIntervalMs;
      if (this.nibpCache?.at !== nibpTakenAt) this.nibpCache = { at: nibpTakenAt, ...this.nibpAt(nibpTakenAt) };
      const nibp = this.nibpCache;
      values.nibpSys = nibp.sys;
      values.nibpDia = nibp.dia;
      values.nibpMean = nibp.mean;
    }
    for (const k of VITAL_KEYS) {
      const val = values[k];
      if (val === null || val === undefined || Number.isNaN(val)) {
        values[k] = null;
        continue;
      }
      values[k] = Math.min(VITALS[k].max, Math.max(VITALS[k].min, val));
    }
    return { t: tMs, agent: this.agent, values, ...(nibpTakenAt !== undefined ? { nibpTakenAt } : {}) };
  }

  private nibpAt(takenAt: number): { sys: number; dia: number; mean: number } {
    const n = this.measuredNibpAt(takenAt);
    if (!this.events) return n;
    const ev = { hr: 0, spo2: 100, artSys: n.sys, artDia: n.dia };
    this.events.apply(ev, takenAt - this.startMs!);
    const f = ev.artSys / n.sys;
    return { sys: ev.artSys, dia: ev.artDia, mean: n.mean * f };
  }

  private measuredNibpAt(takenAt: number): { sys: number; dia: number; mean: number } {
    const elapsed = takenAt - this.startMs!;
    if (this.trend) {
      // the nearest measured trend minute within half a cycle
      const half = Math.ceil(this.nibpIntervalMs / 120000);
      for (let d = 0; d <= half; d++) {
        for (const s of d === 0 ? [0] : [-d, d]) {
          const e = elapsed + s * 60000;
          const sys = this.trend.valueAt('nibpSys', Math.max(0, e));
          const dia = this.trend.valueAt('nibpDia', Math.max(0, e));
          if (!Number.isNaN(sys) && !Number.isNaN(dia)) {
            const mean = this.trend.valueAt('nibpMean', Math.max(0, e));
            return { sys, dia, mean: Number.isNaN(mean) ? dia + (sys - dia) / 3 : mean };
          }
        }
      }
    }
    const snapWalk = this.walkAt(elapsed);
    const artSys =
      this.trend && !Number.isNaN(this.trend.valueAt('artSys', elapsed))
        ? this.trend.valueAt('artSys', elapsed)
        : this.base.artSys + (snapWalk.get('artSys') ?? 0);
    const artDia =
      this.trend && !Number.isNaN(this.trend.valueAt('artDia', elapsed))
        ? this.trend.valueAt('artDia', elapsed)
        : this.base.artDia + (snapWalk.get('artDia') ?? 0);
    const sys = artSys + (this.base.nibpSys - this.base.artSys) + (snapWalk.get('nibpSysOff') ?? 0);
    const dia = Math.min(sys - 15, artDia + (this.base.nibpDia - this.base.artDia) + (snapWalk.get('nibpDiaOff') ?? 0));
    return { sys, dia, mean: dia + (sys - dia) / 3 };
  }

  private resetWalk(): void {
    this.step = 0;
    this.walk = WALK_NAMES.map((k) =>
      k in VITALS
        ? { x: 0, rng: Rng.keyed(this.seed, k), sd: VITALS[k as VitalKey].sd, tau: VITALS[k as VitalKey].tauS }
        : { x: 0, rng: Rng.keyed(this.seed, k), sd: k === 'pulseNoise' ? 1 : 4, tau: 60 },
    );
    this.history.fill(0, 0, WALK_NAMES.length);
  }

  /**
   * Walk deviations at `elapsedMs` (1 s steps from the origin). Going back up to HISTORY_S steps
   * reads the kept states; further back restarts the walk from the origin.
   */
  private walkAt(elapsedMs: number): Map<string, number> {
    const target = Math.max(0, Math.floor(elapsedMs / 1000)) % MAX_STEPS;
    if (target < this.step - (HISTORY_S - 1)) this.resetWalk();
    const n = WALK_NAMES.length;
    for (; this.step < target; this.step++) {
      const row = ((this.step + 1) % HISTORY_S) * n;
      for (let i = 0; i < n; i++) {
        const w = this.walk[i]!;
        w.x += -w.x / w.tau + w.sd * Math.sqrt(2 / w.tau) * w.rng.gauss();
        this.history[row + i] = w.x;
      }
    }
    const row = (target % HISTORY_S) * n;
    const out = new Map<string, number>();
    for (let i = 0; i < n; i++) out.set(WALK_NAMES[i]!, this.history[row + i]!);
    return out;
  }
}
