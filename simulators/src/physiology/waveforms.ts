/**
 * Waveform sources in physical units, one per kind of wave, each producing contiguous blocks
 * (`next(n, t0Ms)` = the n samples from t0Ms). By default everything is synthetic and driven by the
 * model: ECG, ART, PLETH and RESP by the beat-to-beat physiology model (synthetic-*.ts, one shared
 * rhythm per patient), capnogram, gases, airway pressure/flow/volume, CVP and EEG by the shapes
 * below. With a recordings directory (ctx.dataDir or ORLINK_PHYSIONET_DIR) ECG, ART, PLETH and
 * RESP play the real PhysioNet recordings instead (recorded-waves.ts).
 */
import { configuredDataDir } from './recordings.js';
import { recordedWaveSource } from './recorded-waves.js';
import { Rng } from './random.js';
import { SyntheticEcg } from './synthetic-ecg.js';
import { SyntheticArterial, SyntheticPleth } from './synthetic-pulse.js';
import { SyntheticResp } from './synthetic-resp.js';
import type { EcgLead } from './ecg-leads.js';
import type { PhysiologyModel } from './vitals-model.js';

export type WaveKind = 'ecg1' | 'ecg2' | 'ecg3' | 'art' | 'cvp' | 'pleth' | 'resp' | 'co2' | 'o2' | 'n2o' | 'aa' | 'awp' | 'flow' | 'vol' | 'eeg';

export interface WaveSource {
  readonly rateHz: number;
  next(n: number, t0Ms: number): Float64Array;
}

/** dataDir: play real recordings from there (default: $ORLINK_PHYSIONET_DIR, else synthetic). */
export interface WaveContext {
  model: PhysiologyModel;
  seed: number;
  dataDir?: string;
  channel?: number;
}

/** The ECG lead each ECG channel shows when synthetic (the recordings: MCL1, II and a V lead). */
export const SYNTHETIC_ECG_LEADS: Record<'ecg1' | 'ecg2' | 'ecg3', EcgLead> = { ecg1: 'MCL1', ecg2: 'II', ecg3: 'V5' };

/** Phase of breathing (0..1) and of the heart beat, integrated sample by sample from the model. */
class Breath implements WaveSource {
  private phase = 0;
  private heart = 0;
  constructor(
    readonly rateHz: number,
    private readonly ctx: WaveContext,
    private readonly shape: (p: number, h: number, v: Record<string, number | null>) => number,
  ) {}
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

function gas(fi: number, et: number, p: number, ie: number): number {
  return fi + (et - fi) * expShape(p, ie);
}

class EegNoise implements WaveSource {
  private x = 0;
  private readonly rng: Rng;
  constructor(
    readonly rateHz: number,
    private readonly ctx: WaveContext,
  ) {
    this.rng = Rng.keyed(ctx.seed, `eeg${ctx.channel ?? 0}`);
  }
  next(n: number, t0Ms: number): Float64Array {
    const bis = this.ctx.model.at(t0Ms).values.bis ?? 50;
    const k = 3 + bis / 10; // µV: deeper anaesthesia, slower and larger waves would need more; keep it simple
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      this.x = 0.92 * this.x + k * this.rng.gauss();
      out[i] = this.x;
    }
    return out;
  }
}

export function createWaveSource(kind: WaveKind, rateHz: number, ctx: WaveContext): WaveSource {
  const dataDir = configuredDataDir(ctx.dataDir);
  const recorded = dataDir === undefined ? null : recordedWaveSource(kind, rateHz, ctx, dataDir);
  if (recorded) return recorded;
  const sctx = { model: ctx.model, seed: ctx.seed };
  switch (kind) {
    case 'ecg1':
    case 'ecg2':
    case 'ecg3':
      return new SyntheticEcg(SYNTHETIC_ECG_LEADS[kind], rateHz, sctx);
    case 'art':
      return new SyntheticArterial(rateHz, sctx);
    case 'pleth':
      return new SyntheticPleth(rateHz, sctx);
    case 'resp':
      return new SyntheticResp(rateHz, sctx);
    case 'cvp':
      return new Breath(
        rateHz,
        ctx,
        (p, h, v) => (v.cvp ?? 8) + 1.5 * Math.sin(2 * Math.PI * p) + 0.8 * Math.sin(2 * Math.PI * h) + 0.4 * Math.sin(4 * Math.PI * h),
      );
    case 'co2':
      return new Breath(rateHz, ctx, (p, _h, v) => {
        const amb = v.ambientPressure ?? 760;
        return gas(((v.fico2 ?? 0) / amb) * 100, ((v.etco2 ?? 35) / amb) * 100, p, v.ieRatio ?? 0.5);
      });
    case 'o2':
      return new Breath(rateHz, ctx, (p, _h, v) => gas(v.fiO2 ?? 50, v.etO2 ?? 45, p, v.ieRatio ?? 0.5));
    case 'n2o':
      return new Breath(rateHz, ctx, (p, _h, v) => gas(v.fiN2O ?? 0, v.etN2O ?? 0, p, v.ieRatio ?? 0.5));
    case 'aa':
      return new Breath(rateHz, ctx, (p, _h, v) => gas(v.fiAgent ?? 0, v.etAgent ?? 0, p, v.ieRatio ?? 0.5));
    case 'awp':
      return new Breath(rateHz, ctx, (p, _h, v) => {
        const ie = v.ieRatio ?? 0.5;
        const ti = ie / (1 + ie);
        const peep = v.peep ?? 5;
        const ppeak = v.ppeak ?? 19;
        const pplat = v.pplat ?? 16;
        if (p < ti * 0.85) return peep + (ppeak - peep) * (p / (ti * 0.85));
        if (p < ti) return pplat;
        return peep + (pplat - peep) * Math.exp(-((p - ti) / (1 - ti)) / 0.08);
      });
    case 'flow':
      return new Breath(rateHz, ctx, (p, _h, v) => {
        const ie = v.ieRatio ?? 0.5;
        const ti = ie / (1 + ie);
        const rr = v.ventRate ?? 12;
        const tvL = (v.tidalVolume ?? 480) / 1000;
        if (p < ti) return tvL / (ti / rr); // L/min during the inspiratory time
        const te = (1 - ti) / rr;
        return -(tvL / (0.15 * te)) * Math.exp(-((p - ti) / (1 - ti)) / 0.15);
      });
    case 'vol':
      return new Breath(rateHz, ctx, (p, _h, v) => {
        const ie = v.ieRatio ?? 0.5;
        const ti = ie / (1 + ie);
        const tv = v.tidalVolume ?? 480;
        return p < ti ? (tv * p) / ti : tv * Math.exp(-((p - ti) / (1 - ti)) / 0.15);
      });
    case 'eeg':
      return new EegNoise(rateHz, ctx);
  }
}
