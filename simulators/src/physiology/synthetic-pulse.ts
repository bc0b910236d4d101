/**
 * Synthetic arterial pressure (mmHg) and plethysmogram (0..100, the range of the recorded pleth
 * ×100), one pulse per beat of the shared Rhythm, each starting a transit delay after its R peak.
 * ART: each beat spans exactly its dia..sys (the model's values at that beat, with pulse pressure
 * variation), the diastolic level gliding to the next beat's so beats join without a step.
 * PLETH: pulse height modulated by respiration (beat gain) over a baseline that swings with the
 * breath, as a finger probe sees venous return change under ventilation.
 */
import { ART_PULSE, PLETH_PULSE, pulseShape, pulseTiming, type PulseShapeParams, type PulseTiming } from './pulse-shape.js';
import { rhythmOf, type Beat, type Rhythm } from './rhythm.js';
import { SampledSource } from './sampled-source.js';
import type { PhysiologyModel } from './vitals-model.js';

/** R peak → foot of the pulse, ms (pre-ejection period + transit to the radial artery / the finger). */
export const PULSE_DELAY_MS = { art: 170, pleth: 230 } as const;
export const PLETH_LEVELS = { base: 25, swing: 3, pulse: 55 } as const;

interface Ctx {
  model: PhysiologyModel;
  seed: number;
}

/** Finds the beat whose pulse is under way at t and caches its timing. */
abstract class PulseSource extends SampledSource {
  private rhythm: Rhythm | undefined;
  private k = 0;
  private timingFor: Beat | undefined;
  private timing: PulseTiming | undefined;

  constructor(
    rateHz: number,
    protected readonly ctx: Ctx,
    private readonly delayMs: number,
    private readonly params: PulseShapeParams,
  ) {
    super(rateHz);
  }

  protected rh(t: number): Rhythm {
    return (this.rhythm ??= rhythmOf(this.ctx.model, this.ctx.seed, t));
  }

  protected sample(t: number): number {
    const rh = this.rh(t);
    const tr = t - this.delayMs;
    this.k = rh.beatIndexAt(tr, this.k);
    const b = rh.beat(this.k);
    if (this.timingFor !== b) {
      this.timingFor = b;
      this.timing = pulseTiming(this.params, b.rr / 1000);
    }
    const s = (tr - b.r) / 1000;
    return this.value(t, b, rh.beat(this.k + 1), s, pulseShape(this.params, this.timing!, s));
  }

  /** The output at t for the beat b (next: the following beat) at s seconds after its foot, shape in 0..1. */
  protected abstract value(t: number, b: Beat, next: Beat, s: number, shape: number): number;
}

export class SyntheticArterial extends PulseSource {
  constructor(rateHz: number, ctx: Ctx) {
    super(rateHz, ctx, PULSE_DELAY_MS.art, ART_PULSE);
  }

  protected value(_t: number, b: Beat, next: Beat, s: number, shape: number): number {
    const base = b.dia + (next.dia - b.dia) * Math.min(1, (s * 1000) / b.rr);
    return base + (b.sys - b.dia) * shape;
  }
}

export class SyntheticPleth extends PulseSource {
  private j = 0;
  constructor(rateHz: number, ctx: Ctx) {
    super(rateHz, ctx, PULSE_DELAY_MS.pleth, PLETH_PULSE);
  }

  protected value(t: number, b: Beat, _next: Beat, _s: number, shape: number): number {
    const rh = this.rh(t);
    this.j = rh.breathIndexAt(t, this.j);
    const swing = Math.sin(2 * Math.PI * rh.breathPhase(t, this.j));
    // the shape is 0 at both feet, so a per-beat gain leaves no step
    const v = PLETH_LEVELS.base + PLETH_LEVELS.swing * swing + PLETH_LEVELS.pulse * b.pulseGain * shape;
    return Math.max(0, Math.min(100, v));
  }
}
