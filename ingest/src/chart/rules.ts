/**
 * The artifact-rejection rules of the anesthesia-record chart (docs/chart.md). `classify` decides,
 * for every raw numeric of a stretch of a case, whether it is accepted or rejected and why; the
 * chart (chart.ts) then prints one value per parameter per grid point from the accepted ones.
 * Rules, in order (the first that applies gives the reason):
 *   1. no value / flag `invalid`                     → spo2-dropout (SpO2 and oximeter pulse rate), else invalid
 *   2. a flag in REJECT_FLAGS                         → flagged
 *   3. SpO2 or oximeter pulse rate of 0               → spo2-dropout
 *   4. ART (and its pulse rate) while the line is a non-pulsatile plateau near 300 mmHg / 0 mmHg, and for
 *      RECOVERY_MS after the plateau                  → art-flush / art-zero
 *   5. outside the physiological table IMPOSSIBLE     → impossible
 *   6. ECG heart rate disagreeing with every accepted pulse-rate reference (the nearest reading of each within
 *      PAIR_MS)                                       → ecg-cautery
 *   7. oximeter pulse rate disagreeing with every accepted heart-rate reference, and the SpO2 whose nearest
 *      pulse rate of the same device is such a one     → spo2-motion
 */
import { FLAG, type Flag } from '../../../schemas/src/observation.js';
import type { StoredNumeric } from '../series/types.js';

export type Family = 'nibp' | 'art' | 'spo2' | 'ecg-hr' | 'generic';
export type Reason = 'invalid' | 'flagged' | 'impossible' | 'art-flush' | 'art-zero' | 'spo2-dropout' | 'spo2-motion' | 'ecg-cautery';

export const MDC = {
  hr: 'MDC_ECG_HEART_RATE',
  spo2: 'MDC_PULS_OXIM_SAT_O2',
  oxPr: 'MDC_PULS_OXIM_PULS_RATE',
  artPr: 'MDC_BLD_PULS_RATE_INV',
} as const;
export const NIBP_MDCS = ['MDC_PRESS_BLD_NONINV_SYS', 'MDC_PRESS_BLD_NONINV_DIA', 'MDC_PRESS_BLD_NONINV_MEAN'] as const;

/** Flags that make a value unfit for the record (a device's own artifact / quality marks). */
export const REJECT_FLAGS: readonly Flag[] = ['questionable', 'calibrating', 'demo', 'artifact', 'not-updated', 'under-range', 'over-range', 'not-calibrated'];
const REJECT_BITS = REJECT_FLAGS.reduce((b, f) => b | FLAG[f], 0);

/** ART: |sys − dia| below this is no pulse (a plateau), mmHg. */
export const PULSELESS_MMHG = 5;
/** a non-pulsatile ART at or above this level is a flush, mmHg */
export const FLUSH_MIN_MMHG = 200;
/** a non-pulsatile ART within ± this of 0 is zeroing, mmHg */
export const ZERO_MAX_MMHG = 10;
/** one ART component alone: flush at or above / zero within ± (no dia to compare with) */
export const FLUSH_ALONE_MMHG = 250;
export const ZERO_ALONE_MMHG = 5;
/** transducer recovery after a plateau: readings up to this long after its last one are rejected too */
export const RECOVERY_MS = 5000;
/** readings of two parameters this close in time are compared (same beat / same second) */
export const PAIR_MS = 1500;
/** two rates disagree when they differ by more than max(RATE_ABS, RATE_REL × reference) /min */
export const RATE_ABS = 20;
export const RATE_REL = 0.15;
/** heart rate against its own recent past (rule 6 without an invasive reference): window and jump, /min */
export const HR_HISTORY_MS = 30_000;
export const HR_JUMP = 20;
export const HR_JUMP_ALONE = 30;

/** Physiologically impossible values: outside [min, max] (in the unit given; other units are not checked). */
export const IMPOSSIBLE: Record<string, { unit: string; min: number; max: number }> = {
  MDC_ECG_HEART_RATE: { unit: '/min', min: 20, max: 300 },
  MDC_PULS_OXIM_PULS_RATE: { unit: '/min', min: 20, max: 300 },
  MDC_BLD_PULS_RATE_INV: { unit: '/min', min: 20, max: 300 },
  MDC_PULS_OXIM_SAT_O2: { unit: '%', min: 30, max: 100 },
  MDC_PRESS_BLD_ART_SYS: { unit: 'mm[Hg]', min: 20, max: 300 },
  MDC_PRESS_BLD_ART_DIA: { unit: 'mm[Hg]', min: 10, max: 250 },
  MDC_PRESS_BLD_ART_MEAN: { unit: 'mm[Hg]', min: 15, max: 270 },
  MDC_PRESS_BLD_ART_ABP_SYS: { unit: 'mm[Hg]', min: 20, max: 300 },
  MDC_PRESS_BLD_ART_ABP_DIA: { unit: 'mm[Hg]', min: 10, max: 250 },
  MDC_PRESS_BLD_ART_ABP_MEAN: { unit: 'mm[Hg]', min: 15, max: 270 },
  MDC_PRESS_BLD_NONINV_SYS: { unit: 'mm[Hg]', min: 20, max: 300 },
  MDC_PRESS_BLD_NONINV_DIA: { unit: 'mm[Hg]', min: 10, max: 250 },
  MDC_PRESS_BLD_NONINV_MEAN: { unit: 'mm[Hg]', min: 15, max: 270 },
  MDC_PRESS_BLD_VEN_CENT_MEAN: { unit: 'mm[Hg]', min: -10, max: 50 },
  MDC_TEMP_ESOPH: { unit: 'Cel', min: 25, max: 45 },
  MDC_TEMP_SKIN: { unit: 'Cel', min: 15, max: 45 },
  MDC_TEMP_BLD: { unit: 'Cel', min: 25, max: 45 },
  MDC_CONC_AWAY_CO2_ET: { unit: 'mm[Hg]', min: 0, max: 150 },
  MDC_AWAY_RESP_RATE: { unit: '/min', min: 0, max: 100 },
  MDC_VENT_RESP_RATE: { unit: '/min', min: 0, max: 100 },
  MDC_EEG_BISPECTRAL_INDEX: { unit: '1', min: 0, max: 100 },
};

export function familyOf(mdc: string | null): Family {
  if (!mdc) return 'generic';
  if ((NIBP_MDCS as readonly string[]).includes(mdc)) return 'nibp';
  if (mdc.startsWith('MDC_PRESS_BLD_ART') || mdc === MDC.artPr) return 'art';
  if (mdc === MDC.spo2 || mdc === MDC.oxPr) return 'spo2';
  if (mdc === MDC.hr) return 'ecg-hr';
  return 'generic';
}

type ArtRole = 'sys' | 'dia' | 'mean' | 'pr';
function artRole(mdc: string): ArtRole | null {
  if (mdc === MDC.artPr) return 'pr';
  if (mdc.endsWith('_SYS')) return 'sys';
  if (mdc.endsWith('_DIA')) return 'dia';
  if (mdc.endsWith('_MEAN')) return 'mean';
  return null;
}

interface TV {
  t: number;
  v: number;
}

/** the items of a time-sorted list within ± tol of t */
function near(list: readonly TV[], t: number, tol: number): TV[] {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (list[m].t < t - tol) lo = m + 1;
    else hi = m;
  }
  const out: TV[] = [];
  for (let i = lo; i < list.length && list[i].t <= t + tol; i++) out.push(list[i]);
  return out;
}
function nearest(list: readonly TV[], t: number, tol: number): TV | undefined {
  let best: TV | undefined;
  for (const x of near(list, t, tol)) if (!best || Math.abs(x.t - t) < Math.abs(best.t - t)) best = x;
  return best;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const disagree = (rate: number, ref: number) => Math.abs(rate - ref) > Math.max(RATE_ABS, RATE_REL * ref);

/**
 * Reason of rejection for each reading (same index as `readings`, null = accepted). `readings`:
 * every numeric of the stretch, sorted by time (all parameters: the rules compare parameters).
 */
export function classify(readings: readonly StoredNumeric[]): (Reason | null)[] {
  const out: (Reason | null)[] = new Array(readings.length).fill(null);
  const fam = readings.map((r) => familyOf(r.mdc));

  // ART components per device, for the plateau test
  const art = new Map<string, Record<Exclude<ArtRole, 'pr'>, TV[]>>();
  readings.forEach((r, i) => {
    if (fam[i] !== 'art' || r.value === null || !r.mdc) return;
    const role = artRole(r.mdc);
    if (!role || role === 'pr') return;
    let a = art.get(r.device);
    if (!a) art.set(r.device, (a = { sys: [], dia: [], mean: [] }));
    a[role].push({ t: r.t, v: r.value });
  });
  // plateau state of each device at each of its ART times, then the recovery after each plateau
  const state = new Map<string, TV[]>(); // v: 0 none, 1 flush, 2 zero
  for (const [device, a] of art) {
    const times = [...new Set([...a.sys, ...a.dia, ...a.mean].map((x) => x.t))].sort((x, y) => x - y);
    const st: TV[] = [];
    let last: { t: number; v: number } | null = null;
    for (const t of times) {
      const sys = nearest(a.sys, t, 1000);
      const dia = nearest(a.dia, t, 1000);
      const mean = nearest(a.mean, t, 1000);
      let v = 0;
      if (sys && dia) {
        const level = mean?.v ?? (sys.v + dia.v) / 2;
        if (Math.abs(sys.v - dia.v) < PULSELESS_MMHG) v = level >= FLUSH_MIN_MMHG ? 1 : Math.abs(level) <= ZERO_MAX_MMHG ? 2 : 0;
      } else {
        const level = (sys ?? dia ?? mean)?.v ?? NaN;
        v = level >= FLUSH_ALONE_MMHG ? 1 : Math.abs(level) <= ZERO_ALONE_MMHG ? 2 : 0;
      }
      if (v) last = { t, v };
      else if (last && t - last.t <= RECOVERY_MS) v = last.v;
      st.push({ t, v });
    }
    state.set(device, st);
  }
  const artState = (device: string, t: number): Reason | null => {
    const s = state.get(device);
    const x = s && nearest(s, t, 1000);
    return x?.v === 1 ? 'art-flush' : x?.v === 2 ? 'art-zero' : null;
  };

  // rules 1–5: each reading alone (and the ART plateau of its device)
  readings.forEach((r, i) => {
    const bits = r.flags?.reduce((b, f) => b | FLAG[f], 0) ?? 0;
    if (r.value === null || bits & FLAG.invalid) {
      out[i] = fam[i] === 'spo2' ? 'spo2-dropout' : 'invalid';
      return;
    }
    if (bits & REJECT_BITS) {
      out[i] = 'flagged';
      return;
    }
    if (fam[i] === 'spo2' && r.value <= 0) {
      out[i] = 'spo2-dropout';
      return;
    }
    if (fam[i] === 'art') {
      const s = artState(r.device, r.t);
      if (s) {
        out[i] = s;
        return;
      }
    }
    const lim = r.mdc ? IMPOSSIBLE[r.mdc] : undefined;
    if (lim && lim.unit === r.unit && (r.value < lim.min || r.value > lim.max)) out[i] = 'impossible';
  });

  const accepted = (mdc: string): TV[] => {
    const xs: TV[] = [];
    readings.forEach((r, i) => {
      if (r.mdc === mdc && out[i] === null) xs.push({ t: r.t, v: r.value as number });
    });
    return xs;
  };
  // rule 6: ECG heart rate against the pulse rates (invasive first), in time order
  const artPr = accepted(MDC.artPr);
  const oxPr = accepted(MDC.oxPr);
  const hrHistory: TV[] = [];
  let h0 = 0; // hrHistory[h0..] are within HR_HISTORY_MS of the current reading
  readings.forEach((r, i) => {
    if (r.mdc !== MDC.hr || out[i] !== null) return;
    const hr = r.value as number;
    const inv = [nearest(artPr, r.t, PAIR_MS)].filter((x) => x !== undefined);
    const ox = [nearest(oxPr, r.t, PAIR_MS)].filter((x) => x !== undefined);
    while (h0 < hrHistory.length && hrHistory[h0].t < r.t - HR_HISTORY_MS) h0++;
    const recent = hrHistory
      .slice(h0)
      .filter((x) => x.t < r.t)
      .map((x) => x.v);
    const jump = recent.length >= 5 ? Math.abs(hr - median(recent)) : 0;
    let bad = false;
    if (inv.length) bad = [...inv, ...ox].every((x) => disagree(hr, x.v));
    else if (ox.length) bad = ox.every((x) => disagree(hr, x.v)) && jump > HR_JUMP;
    else bad = jump > HR_JUMP_ALONE;
    if (bad) out[i] = 'ecg-cautery';
    else hrHistory.push({ t: r.t, v: hr });
  });

  // rule 7: oximeter pulse rate against the accepted heart rates; the SpO2 read with a rejected one
  const hrAcc = accepted(MDC.hr);
  const prOfDevice = new Map<string, TV[]>(); // every oximeter pulse rate of a device, v = 1 when motion
  readings.forEach((r, i) => {
    if (r.mdc !== MDC.oxPr) return;
    let motion = 0;
    if (out[i] === null) {
      const refs = [nearest(hrAcc, r.t, PAIR_MS), nearest(artPr, r.t, PAIR_MS)].filter((x) => x !== undefined);
      if (refs.length && refs.every((x) => disagree(r.value as number, x.v))) {
        out[i] = 'spo2-motion';
        motion = 1;
      }
    }
    const list = prOfDevice.get(r.device) ?? [];
    list.push({ t: r.t, v: motion });
    prOfDevice.set(r.device, list);
  });
  readings.forEach((r, i) => {
    if (r.mdc !== MDC.spo2 || out[i] !== null) return;
    if (nearest(prOfDevice.get(r.device) ?? [], r.t, PAIR_MS)?.v === 1) out[i] = 'spo2-motion';
  });
  return out;
}
