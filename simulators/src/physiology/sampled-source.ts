/**
 * Base of the synthetic waves: a wave is a function of model time, sampled on a clock of its own.
 * The first `next(n, t0)` anchors the clock at t0; later blocks continue it sample by sample, so
 * next(1000, t) is bit for bit next(300, t) + next(700, t + 300/rate). A block whose t0 is not
 * where the clock is (more than half a sample away: a skipped period, a restart) re-anchors there.
 */
import type { WaveSource } from './waveforms.js';

export abstract class SampledSource implements WaveSource {
  private anchor: number | undefined;
  private count = 0;
  protected readonly periodMs: number;

  constructor(readonly rateHz: number) {
    if (!(rateHz > 0) || !Number.isFinite(rateHz)) throw new RangeError(`wave rate must be > 0 (got ${rateHz})`);
    this.periodMs = 1000 / rateHz;
  }

  next(n: number, t0Ms: number): Float64Array {
    if (this.anchor === undefined || Math.abs(this.anchor + this.count * this.periodMs - t0Ms) > this.periodMs / 2) {
      this.anchor = t0Ms;
      this.count = 0;
    }
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.sample(this.anchor + (this.count + i) * this.periodMs);
    this.count += n;
    return out;
  }

  /** The wave's value at model time t (ms); called with increasing t except after a re-anchor. */
  protected abstract sample(tMs: number): number;
}
