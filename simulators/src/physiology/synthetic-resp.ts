/**
 * Synthetic thoracic impedance respiration wave (Ohm, around 0 as the recorded RESP is): follows
 * lung volume over each breath of the shared Rhythm — a decelerating rise during inspiration, an
 * exponential fall during expiration that reaches the end-expiratory level exactly at the next
 * breath — scaled by the breath's tidal volume, plus the small cardiogenic ripple each heart beat
 * leaves on an impedance trace.
 */
import { rhythmOf, type Rhythm } from './rhythm.js';
import { SampledSource } from './sampled-source.js';
import type { PhysiologyModel } from './vitals-model.js';

export const RESP_IMPEDANCE = { ohmPer500Ml: 0.9, expTau: 0.2, cardiacOhm: 0.04 } as const;

/** Lung volume over one breath, 0 (end-expiration) .. 1 (end-inspiration); p = phase 0..1, ti = inspiratory fraction. */
export function lungVolume(p: number, ti: number): number {
  if (p < ti) {
    const x = 1 - p / ti;
    return 1 - x * x;
  }
  const x = (p - ti) / (1 - ti);
  const end = Math.exp(-1 / RESP_IMPEDANCE.expTau);
  return (Math.exp(-x / RESP_IMPEDANCE.expTau) - end) / (1 - end);
}

export class SyntheticResp extends SampledSource {
  private rhythm: Rhythm | undefined;
  private j = 0;
  private k = 0;

  constructor(
    rateHz: number,
    private readonly ctx: { model: PhysiologyModel; seed: number },
  ) {
    super(rateHz);
  }

  protected sample(t: number): number {
    const rh = (this.rhythm ??= rhythmOf(this.ctx.model, this.ctx.seed, t));
    this.j = rh.breathIndexAt(t, this.j);
    const br = rh.breath(this.j);
    const vol = lungVolume(rh.breathPhase(t, this.j), br.ti);
    this.k = rh.beatIndexAt(t, this.k);
    const b = rh.beat(this.k);
    const ripple = Math.sin((2 * Math.PI * (t - b.r)) / b.rr);
    return RESP_IMPEDANCE.ohmPer500Ml * (br.tv / 500) * (vol - 0.4) + RESP_IMPEDANCE.cardiacOhm * ripple;
  }
}
