/**
 * Synthetic ECG in mV. Each beat is a sum of Gaussian bumps placed around its R peak — P, septal Q,
 * R, S and an asymmetric T — the idea behind the ECGSYN model (McSharry et al. 2003), where the
 * beat is a trajectory whose height is a sum of Gaussians at fixed phases. Here the bumps are
 * placed in time: QRS timing is fixed, the P and T positions and the T width stretch with the RR
 * interval (a QT that shortens as the heart speeds up). Beat times and respiratory gains come from
 * the shared Rhythm; the amplitude of each wave in a lead is the projection of that wave's dipole
 * (ecg-leads.ts). On top, at the electrodes: baseline wander with respiration and small noise.
 * Per sample: at most three beats × five bumps (most skipped by their ±5σ support) + two hashes.
 */
import { ECG_WAVES, electrodeWeights, waveAmplitudes, type EcgLead, type EcgWaveName } from './ecg-leads.js';
import { hashNoise, hashUnit } from './random.js';
import { rhythmOf, type Beat, type Rhythm } from './rhythm.js';
import { SampledSource } from './sampled-source.js';
import type { PhysiologyModel } from './vitals-model.js';

interface Bump {
  center: number;
  left: number;
  right: number;
}

/** Position (s from R) and widths (s) of each wave for an RR interval of rr seconds. */
export function ecgTiming(rr: number): Record<EcgWaveName, Bump> {
  const q = Math.sqrt(rr);
  return {
    P: { center: -(0.125 + 0.045 * rr), left: 0.022, right: 0.022 },
    Q: { center: -0.024, left: 0.007, right: 0.007 },
    R: { center: 0, left: 0.009, right: 0.009 },
    S: { center: 0.026, left: 0.009, right: 0.009 },
    T: { center: 0.3 * q, left: 0.065 * q, right: 0.042 * q },
  };
}

export const ECG_NOISE = { electrodeMv: 0.012, gridMs: 2, wanderMv: 0.06 } as const;

// module-local copies: the per-sample loop touches no imported binding
const WAVES: readonly EcgWaveName[] = [...ECG_WAVES];
const N = WAVES.length;
const IS_QRS: readonly boolean[] = WAVES.map((w) => w === 'Q' || w === 'R' || w === 'S');
const noiseAt = hashNoise;
const GRID_MS = ECG_NOISE.gridMs;

/** A beat's timing flattened for the sample loop: [center, left sd, right sd] × waves, then the support. */
function flatTiming(rrS: number): Float64Array {
  const tm = ecgTiming(rrS);
  const out = new Float64Array(3 * N + 2);
  let lo = Infinity;
  let hi = -Infinity;
  WAVES.forEach((w, i) => {
    const b = tm[w];
    out[3 * i] = b.center;
    out[3 * i + 1] = b.left;
    out[3 * i + 2] = b.right;
    lo = Math.min(lo, b.center - 5 * b.left);
    hi = Math.max(hi, b.center + 5 * b.right);
  });
  out[3 * N] = lo;
  out[3 * N + 1] = hi;
  return out;
}

export class SyntheticEcg extends SampledSource {
  readonly lead: EcgLead;
  private rhythm: Rhythm | undefined;
  private readonly amp: number[];
  private readonly elec: number[];
  private readonly elecWeight: number[];
  private readonly wanderSin: number;
  private readonly wanderCos: number;
  private k = 0;
  private j = 0;
  private readonly cacheBeat: (Beat | undefined)[] = [undefined, undefined, undefined, undefined];
  private readonly cacheTiming: Float64Array[] = [];
  private cacheNext = 0;
  private gridI = NaN;
  private readonly grid0: Float64Array;
  private readonly grid1: Float64Array;

  constructor(
    lead: EcgLead,
    rateHz: number,
    private readonly ctx: { model: PhysiologyModel; seed: number },
  ) {
    super(rateHz);
    this.lead = lead;
    const a = waveAmplitudes(lead);
    this.amp = WAVES.map((w) => a[w]);
    const ew = electrodeWeights(lead);
    this.elec = ew.index;
    this.elecWeight = ew.weight;
    this.grid0 = new Float64Array(this.elec.length);
    this.grid1 = new Float64Array(this.elec.length);
    // each electrode's wander: seeded amplitude and phase relative to the breath; a lead's is their weighted sum
    let s = 0;
    let c = 0;
    for (let i = 0; i < this.elec.length; i++) {
      const e = this.elec[i]!;
      const ampE = ECG_NOISE.wanderMv * (0.4 + 0.6 * hashUnit(ctx.seed, 101, e));
      const ph = 2 * Math.PI * hashUnit(ctx.seed, 102, e);
      s += this.elecWeight[i]! * ampE * Math.cos(ph);
      c += this.elecWeight[i]! * ampE * Math.sin(ph);
    }
    this.wanderSin = s;
    this.wanderCos = c;
  }

  protected sample(t: number): number {
    const rh = (this.rhythm ??= rhythmOf(this.ctx.model, this.ctx.seed, t));
    this.k = rh.beatIndexAt(t, this.k);
    let v = this.beatAt(rh.beat(this.k - 1), t) + this.beatAt(rh.beat(this.k), t) + this.beatAt(rh.beat(this.k + 1), t);
    this.j = rh.breathIndexAt(t, this.j);
    const w = 2 * Math.PI * rh.breathPhase(t, this.j);
    v += this.wanderSin * Math.sin(w) + this.wanderCos * Math.cos(w);
    return v + this.noise(t);
  }

  /** The flattened timing of a beat (a few recent beats cached). */
  private timingOf(b: Beat): Float64Array {
    for (let i = 0; i < this.cacheBeat.length; i++) if (this.cacheBeat[i] === b) return this.cacheTiming[i]!;
    const slot = this.cacheNext;
    this.cacheNext = (slot + 1) % this.cacheBeat.length;
    this.cacheBeat[slot] = b;
    return (this.cacheTiming[slot] = flatTiming(b.rr / 1000));
  }

  /** The P-QRS-T of one beat at time t. */
  private beatAt(b: Beat, t: number): number {
    const dt = (t - b.r) / 1000;
    const tm = this.timingOf(b);
    if (dt < tm[3 * N]! || dt > tm[3 * N + 1]!) return 0;
    let v = 0;
    for (let i = 0; i < N; i++) {
      const x = dt - tm[3 * i]!;
      const sd = x < 0 ? tm[3 * i + 1]! : tm[3 * i + 2]!;
      if (x > 5 * sd || x < -5 * sd) continue;
      v += this.amp[i]! * (IS_QRS[i] ? b.qrsGain : 1) * Math.exp((-0.5 * x * x) / (sd * sd));
    }
    return v;
  }

  /** Electrode noise on a fixed time grid, linearly interpolated: the same for every lead that shares an electrode. */
  private noise(t: number): number {
    const g = t / GRID_MS;
    const i = Math.floor(g);
    const f = g - i;
    const seed = this.ctx.seed;
    if (i !== this.gridI) {
      const shift = i === this.gridI + 1;
      for (let e = 0; e < this.elec.length; e++) {
        const stream = 200 + this.elec[e]!;
        this.grid0[e] = shift ? this.grid1[e]! : noiseAt(seed, stream, i);
        this.grid1[e] = noiseAt(seed, stream, i + 1);
      }
      this.gridI = i;
    }
    let v = 0;
    for (let e = 0; e < this.elec.length; e++) v += this.elecWeight[e]! * (this.grid0[e]! + (this.grid1[e]! - this.grid0[e]!) * f);
    return v * ECG_NOISE.electrodeMv;
  }
}
