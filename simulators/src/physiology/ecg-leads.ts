/**
 * ECG lead geometry for the synthetic ECG. The heart is a dipole whose vector changes with each
 * wave of the beat (P, septal Q, main R, terminal S, T); a lead sees the projection of that vector
 * on its axis. Axes: x towards the patient's left, y towards the feet, z anterior.
 * Everything that is not cardiac (respiratory baseline wander, electrode noise) happens at the
 * electrodes, and every lead is the same combination of electrode potentials a monitor forms, so
 * Einthoven's law (II = I + III) and aVR + aVL + aVF = 0 hold exactly, noise included.
 */

export type EcgLead = 'I' | 'II' | 'III' | 'aVR' | 'aVL' | 'aVF' | 'V1' | 'V2' | 'V3' | 'V4' | 'V5' | 'V6' | 'MCL1';
export const ECG_LEADS: readonly EcgLead[] = ['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6', 'MCL1'];

export type Vec3 = readonly [number, number, number];
export type EcgWaveName = 'P' | 'Q' | 'R' | 'S' | 'T';
export const ECG_WAVES: readonly EcgWaveName[] = ['P', 'Q', 'R', 'S', 'T'];

/**
 * Dipole of each wave at its peak, mV. Frontal QRS axis about +55°, T about +45° (concordant),
 * septal depolarisation to the right and forwards (the small q of I/V6, the r of V1), terminal
 * forces to the right, up and backwards (the S of V1–V2).
 */
export const WAVE_DIPOLES: Record<EcgWaveName, Vec3> = {
  P: [0.086, 0.123, 0.05],
  Q: [-0.12, -0.02, 0.12],
  R: [0.86, 1.23, 0],
  S: [-0.1, -0.25, -0.35],
  T: [0.247, 0.247, 0.1],
};

/** Electrodes: limb electrodes, then the six precordial positions. */
export const ELECTRODES = ['RA', 'LA', 'LL', 'C1', 'C2', 'C3', 'C4', 'C5', 'C6'] as const;
export type Electrode = (typeof ELECTRODES)[number];

/** Unit vector of a horizontal-plane chest position, angle from the patient's left towards anterior. */
function chest(deg: number, down = 0): Vec3 {
  const a = (deg * Math.PI) / 180;
  return [Math.cos(a), down, Math.sin(a)];
}

/** Electrode positions as seen by the dipole: limb electrodes on an equilateral triangle (RA −150°, LA −30°, LL +90°) sized so that lead I is a unit axis; chest positions on the unit circle. */
const ELECTRODE_AXES: Record<Electrode, Vec3> = {
  RA: [-0.5, -0.5 / Math.sqrt(3), 0],
  LA: [0.5, -0.5 / Math.sqrt(3), 0],
  LL: [0, 1 / Math.sqrt(3), 0],
  C1: chest(115),
  C2: chest(90),
  C3: chest(75),
  C4: chest(60, 0.15),
  C5: chest(30, 0.15),
  C6: chest(0, 0.15),
};

/** Each lead as weights of electrode potentials (a Wilson terminal for the V leads). */
const WCT: Partial<Record<Electrode, number>> = { RA: -1 / 3, LA: -1 / 3, LL: -1 / 3 };
export const LEAD_WEIGHTS: Record<EcgLead, Partial<Record<Electrode, number>>> = {
  I: { LA: 1, RA: -1 },
  II: { LL: 1, RA: -1 },
  III: { LL: 1, LA: -1 },
  aVR: { RA: 1, LA: -0.5, LL: -0.5 },
  aVL: { LA: 1, RA: -0.5, LL: -0.5 },
  aVF: { LL: 1, RA: -0.5, LA: -0.5 },
  V1: { C1: 1, ...WCT },
  V2: { C2: 1, ...WCT },
  V3: { C3: 1, ...WCT },
  V4: { C4: 1, ...WCT },
  V5: { C5: 1, ...WCT },
  V6: { C6: 1, ...WCT },
  MCL1: { C1: 1, LA: -1 }, // modified chest lead: + at V1, − at the left shoulder
};

/** The axis of a lead: the weighted sum of its electrodes' axes (I → (1, 0, 0), II → (½, √3/2, 0)). */
export function leadAxis(lead: EcgLead): Vec3 {
  const w = LEAD_WEIGHTS[lead];
  if (!w) throw new RangeError(`unknown ECG lead '${String(lead)}'`);
  const out = [0, 0, 0];
  for (const [e, k] of Object.entries(w) as [Electrode, number][]) {
    const a = ELECTRODE_AXES[e];
    for (let i = 0; i < 3; i++) out[i]! += k * a[i]!;
  }
  return out as unknown as Vec3;
}

/** Amplitude (mV) of each wave in a lead: the dipole projected on the lead axis. */
export function waveAmplitudes(lead: EcgLead): Record<EcgWaveName, number> {
  const ax = leadAxis(lead);
  const out = {} as Record<EcgWaveName, number>;
  for (const w of ECG_WAVES) {
    const d = WAVE_DIPOLES[w];
    out[w] = d[0] * ax[0] + d[1] * ax[1] + d[2] * ax[2];
  }
  return out;
}

/** Electrode weights of a lead as parallel arrays (index into ELECTRODES), for the per-sample loop. */
export function electrodeWeights(lead: EcgLead): { index: number[]; weight: number[] } {
  const index: number[] = [];
  const weight: number[] = [];
  for (const [e, k] of Object.entries(LEAD_WEIGHTS[lead]) as [Electrode, number][]) {
    index.push(ELECTRODES.indexOf(e));
    weight.push(k);
  }
  return { index, weight };
}
