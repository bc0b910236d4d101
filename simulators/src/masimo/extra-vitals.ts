/**
 * Oximeter parameters the shared physiology model does not have (PI, SpCO, SpMet, SpHb, SpOC,
 * PVI, PI delta): seeded Ornstein–Uhlenbeck walks in 1 s steps, bounded, deterministic per
 * (seed, name, step).
 */
import { Rng } from '../physiology/index.js';

export interface WalkDef {
  base: number;
  sd: number;
  tauS: number;
  min: number;
  max: number;
}

export const OXI_EXTRAS: Record<string, WalkDef> = {
  pi: { base: 3.2, sd: 0.6, tauS: 60, min: 0.2, max: 15 },
  spco: { base: 1.4, sd: 0.3, tauS: 300, min: 0, max: 8 },
  spmet: { base: 0.9, sd: 0.15, tauS: 300, min: 0, max: 4 },
  sphb: { base: 13.2, sd: 0.4, tauS: 600, min: 7, max: 18 },
  spoc: { base: 18, sd: 0.8, tauS: 600, min: 10, max: 24 },
  pvi: { base: 13, sd: 3, tauS: 120, min: 2, max: 40 },
  pidelta: { base: 0, sd: 4, tauS: 60, min: -30, max: 30 },
};

export class ExtraVitals {
  private readonly walks = new Map<string, { x: number; rng: Rng; d: WalkDef }>();
  private step = 0;

  constructor(seed: number) {
    for (const [k, d] of Object.entries(OXI_EXTRAS)) this.walks.set(k, { x: 0, rng: Rng.keyed(seed, `oxi-${k}`), d });
  }

  /** Values after `steps` seconds (monotonic: the walk only moves forward). */
  at(steps: number): Record<string, number> {
    for (; this.step < steps && this.step < 1e7; this.step++) {
      for (const w of this.walks.values()) w.x += -w.x / w.d.tauS + w.d.sd * Math.sqrt(2 / w.d.tauS) * w.rng.gauss();
    }
    const out: Record<string, number> = {};
    for (const [k, w] of this.walks) out[k] = Math.min(w.d.max, Math.max(w.d.min, w.d.base + w.x));
    return out;
  }
}
