/**
 * The heart beats and breaths every synthetic wave of one patient shares, so ECG, arterial
 * pressure, pleth and respiration stay in step. Beats: R-peak times whose intervals follow the
 * model's HR, modulated by respiratory sinus arrhythmia, a slow (~0.1 Hz) component and seeded
 * noise; each beat also carries its arterial sys/dia (the model's, with ventilation-induced pulse
 * pressure variation) and respiratory gains for QRS and pleth amplitude. Breaths: cycles at the
 * model's ventilator rate with its I:E ratio and tidal volume.
 * Both sequences are generated lazily from the model's origin and are a pure function of (model
 * seed, options, rhythm seed): a consumer that asks out of order gets the same beats. Only a
 * window of recent items is kept; asking far behind it regenerates from the origin.
 */
import { Rng } from './random.js';
import type { PhysiologyModel } from './vitals-model.js';

export interface Beat {
  /** R peak, model ms. */ r: number;
  /** Interval to the next R, ms. */ rr: number;
  /** Arterial pressure this beat reaches (mmHg). */ sys: number;
  dia: number;
  /** Respiratory modulation of QRS amplitude and of the pleth pulse (around 1). */ qrsGain: number;
  pulseGain: number;
}

export interface Breath {
  /** Start of inspiration, model ms. */ start: number;
  /** Cycle length, ms. */ dur: number;
  /** Inspiratory fraction of the cycle. */ ti: number;
  /** Tidal volume, mL. */ tv: number;
}

/** Heart rate variability and respiratory coupling (fractions of the mean RR / of the value). */
export const HRV = { rsa: 0.02, lf: 0.015, lfHz: 0.1, noise: 0.007 } as const;
export const RESP_COUPLING = { ppv: 0.04, qrs: 0.05, pleth: 0.1 } as const;

const PREROLL_MS = 30_000;
const KEEP = 256; // items kept behind the newest (≥ 3 min of beats at 80/min)

/** A lazily grown sequence with a trimmed tail and deterministic regeneration. */
class LazySeq<T> {
  private items: T[] = [];
  private base = 0;
  constructor(
    private readonly make: (prev: T | undefined) => T,
    private readonly restart: () => void,
  ) {}

  get(k: number): T {
    if (k < this.base) {
      this.restart();
      this.items = [];
      this.base = 0;
    }
    while (k >= this.base + this.items.length) {
      this.items.push(this.make(this.items[this.items.length - 1]));
      if (this.items.length > 2 * KEEP) {
        this.items.splice(0, KEEP);
        this.base += KEEP;
      }
    }
    return this.items[k - this.base]!;
  }
}

export class Rhythm {
  readonly origin: number;
  private readonly beats: LazySeq<Beat>;
  private readonly breaths: LazySeq<Breath>;
  private rng!: Rng;
  private lfHz: number = HRV.lfHz;
  private lfPhase = 0;
  private breathHint = 0;
  private readonly t0Beat: number;
  private readonly t0Breath: number;

  constructor(
    private readonly model: PhysiologyModel,
    private readonly seed: number,
    firstAskedMs: number,
  ) {
    this.origin = model.anchor(firstAskedMs);
    const r = Rng.keyed(seed, 'rhythm-offsets');
    this.t0Beat = this.origin - PREROLL_MS - 1000 * r.next();
    this.t0Breath = this.origin - PREROLL_MS - 5000 * r.next();
    const reset = (): void => {
      this.rng = Rng.keyed(this.seed, 'rhythm-rr');
      this.lfHz = HRV.lfHz * (0.85 + 0.3 * this.rng.next());
      this.lfPhase = 2 * Math.PI * this.rng.next();
    };
    reset();
    this.beats = new LazySeq(
      (prev) => this.nextBeat(prev),
      () => {
        reset();
        this.breathHint = 0;
      },
    );
    this.breaths = new LazySeq(
      (prev) => this.nextBreath(prev),
      () => undefined,
    );
  }

  /** Beat number k (k < 0: beats before the first repeat the first one's interval). */
  beat(k: number): Beat {
    if (k >= 0) return this.beats.get(k);
    const b = this.beats.get(0);
    return { ...b, r: b.r + k * b.rr };
  }

  breath(j: number): Breath {
    if (j >= 0) return this.breaths.get(j);
    const b = this.breaths.get(0);
    return { ...b, start: b.start + j * b.dur };
  }

  /** Number of the last beat with R at or before t; `hint` (a previous answer) makes a scan O(1). */
  beatIndexAt(t: number, hint = 0): number {
    let k = hint;
    while (this.beat(k).r > t) k--;
    while (this.beat(k + 1).r <= t) k++;
    return k;
  }

  breathIndexAt(t: number, hint = 0): number {
    let j = hint;
    while (this.breath(j).start > t) j--;
    while (this.breath(j + 1).start <= t) j++;
    return j;
  }

  /** Respiratory phase at t: 0 at the start of inspiration, → 1 at the end of expiration. */
  breathPhase(t: number, j: number): number {
    const b = this.breath(j);
    return Math.min(1, Math.max(0, (t - b.start) / b.dur));
  }

  private nextBreath(prev: Breath | undefined): Breath {
    const start = prev ? prev.start + prev.dur : this.t0Breath;
    const v = this.model.at(start).values;
    const ie = v.ieRatio ?? 0.5;
    return { start, dur: 60_000 / (v.ventRate ?? 12), ti: ie / (1 + ie), tv: v.tidalVolume ?? 480 };
  }

  private nextBeat(prev: Beat | undefined): Beat {
    const r = prev ? prev.r + prev.rr : this.t0Beat;
    const v = this.model.at(r).values;
    this.breathHint = this.breathIndexAt(r, this.breathHint);
    const resp = 2 * Math.PI * this.breathPhase(r, this.breathHint);
    const lf = Math.sin(2 * Math.PI * this.lfHz * ((r - this.t0Beat) / 1000) + this.lfPhase);
    const meanRr = 60_000 / (v.hr ?? 72);
    const rr = meanRr * (1 + HRV.rsa * Math.sin(resp) + HRV.lf * lf + HRV.noise * this.rng.gauss());
    const dia = v.artDia ?? 66;
    const pp = (v.artSys ?? 118) - dia;
    return {
      r,
      rr: Math.max(250, rr),
      dia,
      sys: dia + pp * (1 + RESP_COUPLING.ppv * Math.cos(resp)),
      qrsGain: 1 + RESP_COUPLING.qrs * Math.sin(resp),
      pulseGain: 1 + RESP_COUPLING.pleth * Math.cos(resp),
    };
  }
}

const registry = new WeakMap<PhysiologyModel, Map<number, Rhythm>>();

/** The rhythm shared by every synthetic wave of this model and seed (created on first use at t). */
export function rhythmOf(model: PhysiologyModel, seed: number, t: number): Rhythm {
  let bySeed = registry.get(model);
  if (!bySeed) {
    bySeed = new Map();
    registry.set(model, bySeed);
  }
  let r = bySeed.get(seed);
  if (!r) {
    r = new Rhythm(model, seed, t);
    bySeed.set(seed, r);
  }
  return r;
}
