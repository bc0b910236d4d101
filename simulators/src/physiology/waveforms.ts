/**
 * Waveform sources in physical units, one per kind of wave, each producing contiguous blocks:
 * recorded loops (ECG, ABP, RESP, PLETH) scaled to the model where a numeric governs them (the ART
 * wave spans the model's dia..sys), and synthetic shapes driven by the model (capnogram, gases,
 * airway pressure/flow/volume, CVP, EEG noise). `next(n, t0Ms)` = the n samples from t0Ms.
 */
import { RecordedLoop, robustRange } from './recorded-loop.js';
import { recording, type RecordingName } from './recordings.js';
import { Rng } from './random.js';
import type { PhysiologyModel } from './vitals-model.js';

export type WaveKind = 'ecg1' | 'ecg2' | 'ecg3' | 'art' | 'cvp' | 'pleth' | 'resp' | 'co2' | 'o2' | 'n2o' | 'aa' | 'awp' | 'flow' | 'vol' | 'eeg';

export interface WaveSource { readonly rateHz: number; next(n: number, t0Ms: number): Float64Array }

export interface WaveContext { model: PhysiologyModel; seed: number; dataDir?: string; channel?: number }

function loopOf(name: RecordingName, rateHz: number, dataDir?: string): RecordedLoop {
  const r = recording(name, dataDir);
  return new RecordedLoop(r.samples, r.fs, rateHz);
}

class ScaledLoop implements WaveSource {
  readonly rateHz: number;
  constructor(private readonly loop: RecordedLoop, private readonly map: (x: Float64Array, t0Ms: number) => Float64Array) { this.rateHz = loop.rateHz; }
  next(n: number, t0Ms: number): Float64Array { return this.map(this.loop.next(n), t0Ms); }
}

/** Phase of breathing (0..1) and of the heart beat, integrated sample by sample from the model. */
class Breath implements WaveSource {
  private phase = 0;
  private heart = 0;
  constructor(readonly rateHz: number, private readonly ctx: WaveContext, private readonly shape: (p: number, h: number, v: Record<string, number | null>) => number) {}
  next(n: number, t0Ms: number): Float64Array {
    const v = this.ctx.model.at(t0Ms).values;
    const rr = v.ventRate ?? 12;
    const hr = v.hr ?? 70;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = this.shape(this.phase, this.heart, v);
      this.phase = (this.phase + rr / 60 / this.rateHz) % 1;
      this.heart = (this.heart + hr / 60 / this.rateHz) % 1;
    }
    return out;
  }
}

/** Normalised capnogram-like shape: 0 during inspiration, rising to ~1 during expiration. */
export function expShape(p: number, ie: number): number {
  const ti = ie / (1 + ie);
  if (p < ti) return Math.exp(-p / 0.01) * 0.98;
  const q = (p - ti) / (1 - ti);
  return (1 - Math.exp(-q / 0.06)) * (0.94 + 0.06 * q);
}

function gas(fi: number, et: number, p: number, ie: number): number { return fi + (et - fi) * expShape(p, ie); }

class EegNoise implements WaveSource {
  private x = 0;
  private readonly rng: Rng;
  constructor(readonly rateHz: number, private readonly ctx: WaveContext) { this.rng = Rng.keyed(ctx.seed, `eeg${ctx.channel ?? 0}`); }
  next(n: number, t0Ms: number): Float64Array {
    const bis = this.ctx.model.at(t0Ms).values.bis ?? 50;
    const k = 3 + bis / 10;   // µV: deeper anaesthesia, slower and larger waves would need more; keep it simple
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) { this.x = 0.92 * this.x + k * this.rng.gauss(); out[i] = this.x; }
    return out;
  }
}

export function createWaveSource(kind: WaveKind, rateHz: number, ctx: WaveContext): WaveSource {
  const m = ctx.model;
  switch (kind) {
    case 'ecg1': return new ScaledLoop(loopOf('ecgMcl1', rateHz, ctx.dataDir), (x) => x);
    case 'ecg2': return new ScaledLoop(loopOf('ecgII', rateHz, ctx.dataDir), (x) => x);
    case 'ecg3': return new ScaledLoop(loopOf('ecgV', rateHz, ctx.dataDir), (x) => x);
    case 'resp': return new ScaledLoop(loopOf('resp', rateHz, ctx.dataDir), (x) => x);
    case 'pleth': return new ScaledLoop(loopOf('pleth', rateHz, ctx.dataDir), (x) => x.map((v) => v * 100));
    case 'art': {
      const loop = loopOf('abp', rateHz, ctx.dataDir);
      const { lo, hi } = robustRange(loop.loop);
      return new ScaledLoop(loop, (x, t0) => {
        const v = m.at(t0).values;
        const sys = v.artSys ?? 120;
        const dia = v.artDia ?? 70;
        return x.map((s) => dia + ((s - lo) / (hi - lo)) * (sys - dia));
      });
    }
    case 'cvp': return new Breath(rateHz, ctx, (p, h, v) => (v.cvp ?? 8) + 1.5 * Math.sin(2 * Math.PI * p) + 0.8 * Math.sin(2 * Math.PI * h) + 0.4 * Math.sin(4 * Math.PI * h));
    case 'co2': return new Breath(rateHz, ctx, (p, _h, v) => {
      const amb = v.ambientPressure ?? 760;
      return gas(((v.fico2 ?? 0) / amb) * 100, ((v.etco2 ?? 35) / amb) * 100, p, v.ieRatio ?? 0.5);
    });
    case 'o2': return new Breath(rateHz, ctx, (p, _h, v) => gas(v.fiO2 ?? 50, v.etO2 ?? 45, p, v.ieRatio ?? 0.5));
    case 'n2o': return new Breath(rateHz, ctx, (p, _h, v) => gas(v.fiN2O ?? 0, v.etN2O ?? 0, p, v.ieRatio ?? 0.5));
    case 'aa': return new Breath(rateHz, ctx, (p, _h, v) => gas(v.fiAgent ?? 0, v.etAgent ?? 0, p, v.ieRatio ?? 0.5));
    case 'awp': return new Breath(rateHz, ctx, (p, _h, v) => {
      const ie = v.ieRatio ?? 0.5; const ti = ie / (1 + ie);
      const peep = v.peep ?? 5; const ppeak = v.ppeak ?? 19; const pplat = v.pplat ?? 16;
      if (p < ti * 0.85) return peep + (ppeak - peep) * (p / (ti * 0.85));
      if (p < ti) return pplat;
      return peep + (pplat - peep) * Math.exp(-((p - ti) / (1 - ti)) / 0.08);
    });
    case 'flow': return new Breath(rateHz, ctx, (p, _h, v) => {
      const ie = v.ieRatio ?? 0.5; const ti = ie / (1 + ie); const rr = v.ventRate ?? 12;
      const tvL = (v.tidalVolume ?? 480) / 1000;
      if (p < ti) return tvL / ((ti / rr));                       // L/min during the inspiratory time
      const te = (1 - ti) / rr;
      return -(tvL / (0.15 * te)) * Math.exp(-((p - ti) / (1 - ti)) / 0.15);
    });
    case 'vol': return new Breath(rateHz, ctx, (p, _h, v) => {
      const ie = v.ieRatio ?? 0.5; const ti = ie / (1 + ie); const tv = v.tidalVolume ?? 480;
      return p < ti ? (tv * p) / ti : tv * Math.exp(-((p - ti) / (1 - ti)) / 0.15);
    });
    case 'eeg': return new EegNoise(rateHz, ctx);
  }
}
