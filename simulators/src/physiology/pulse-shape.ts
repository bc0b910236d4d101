/**
 * One beat of a peripheral pulse, normalised: 0 at the foot, 1 at the systolic peak, back to 0 at
 * the next foot. Four parts: a smooth upstroke to the peak; the systolic decline to the dicrotic
 * notch, reached when ejection ends (later for longer beats); the reflected (dicrotic) wave, a
 * Gaussian just after the notch, which turns the notch into a local minimum followed by a local
 * maximum; and an exponential diastolic run-off scaled to reach 0 exactly at the next foot, so
 * consecutive beats join without a step.
 */

export interface PulseShapeParams {
  /** Foot → systolic peak, s. */ riseS: number;
  /** Foot → dicrotic notch for a 1 s beat, s (scales with √RR). */ ejectS: number;
  /** Level at the notch, fraction of the pulse. */ notch: number;
  /** Dicrotic wave: height (fraction), delay after the notch and width, s. */ waveAmp: number;
  waveDelayS: number;
  waveWidthS: number;
  /** Diastolic run-off time constant, s. */ decayS: number;
}

/** Radial arterial line: brisk upstroke, clear notch. */
export const ART_PULSE: PulseShapeParams = { riseS: 0.09, ejectS: 0.32, notch: 0.48, waveAmp: 0.08, waveDelayS: 0.035, waveWidthS: 0.018, decayS: 1.1 };
/** Finger plethysmogram: slower, rounder, the notch a shoulder on the way down. */
export const PLETH_PULSE: PulseShapeParams = { riseS: 0.15, ejectS: 0.36, notch: 0.55, waveAmp: 0.06, waveDelayS: 0.045, waveWidthS: 0.03, decayS: 0.8 };

/** The timing of one beat's shape, computed once per beat. */
export interface PulseTiming {
  rr: number;
  rise: number;
  notchAt: number;
  waveAt: number;
  runoffNorm: number;
}

export function pulseTiming(p: PulseShapeParams, rrS: number): PulseTiming {
  const notchAt = Math.min(p.ejectS * Math.sqrt(rrS), 0.6 * rrS);
  const rise = Math.min(p.riseS, 0.45 * notchAt);
  return { rr: rrS, rise, notchAt, waveAt: notchAt + p.waveDelayS, runoffNorm: Math.exp(-(rrS - notchAt) / p.decayS) };
}

/** Shape value at s seconds after the foot (0 ≤ s ≤ rr). */
export function pulseShape(p: PulseShapeParams, tm: PulseTiming, s: number): number {
  let v: number;
  if (s < tm.rise) v = 0.5 * (1 - Math.cos((Math.PI * s) / tm.rise));
  else if (s < tm.notchAt) v = p.notch + (1 - p.notch) * 0.5 * (1 + Math.cos((Math.PI * (s - tm.rise)) / (tm.notchAt - tm.rise)));
  else v = (p.notch * (Math.exp(-(s - tm.notchAt) / p.decayS) - tm.runoffNorm)) / (1 - tm.runoffNorm);
  const x = (s - tm.waveAt) / p.waveWidthS;
  if (x > -6 && x < 6) v += p.waveAmp * Math.exp(-0.5 * x * x) * Math.min(1, (tm.rr - s) / p.waveWidthS);
  return v;
}
