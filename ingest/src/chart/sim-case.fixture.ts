/**
 * Test fixture (tests only): a simulated case with known ground truth. A seeded physiology model
 * (simulators/src/physiology) gives the clean vitals at 1 Hz; an ArtifactInjector corrupts them
 * the way monitors do; the corrupted readings are what is stored, the clean ones are the truth.
 * NIBP is reported every second holding the last cuff value (as the GE S/5 does).
 */
import type { Envelope } from '../../../schemas/src/envelope.js';
import type { NumericObs } from '../../../schemas/src/observation.js';
import { ArtifactInjector, artifactSchedule, PhysiologyModel, type ArtifactSpan, type VitalKey } from '../../../simulators/src/physiology/index.js';
import type { Case } from '../cases/case-store.js';
import { envelopeToPoints } from '../series/layout.js';
import type { SeriesWriter } from '../series/types.js';

export const SIM_VITALS: VitalKey[] = ['hr', 'pulseRate', 'spo2', 'artSys', 'artDia', 'artMean', 'artPulseRate', 'etco2', 'nibpSys', 'nibpDia', 'nibpMean'];

export interface SimCase {
  case: Case;
  bed: string;
  device: string;
  /** every second of the case: time, clean values, the snapshot's NIBP measurement time */
  truth: { t: number; clean: Record<string, number | null>; nibpTakenAt?: number }[];
  spans: ArtifactSpan[];
  mdcOf: (k: VitalKey) => string;
}

/** `seconds` of a simulated patient from `start` on `bed`, each artifact kind injected `perKind` times, written to `store`. */
export async function simulatedCase(
  store: SeriesWriter,
  o: { seed: number; start: number; seconds: number; bed?: string; perKind?: number },
): Promise<SimCase> {
  const bed = o.bed ?? 'or1-bed';
  const device = 'mon-s5';
  const model = new PhysiologyModel({ seed: o.seed, startMs: o.start });
  const injector = new ArtifactInjector(artifactSchedule(o.seed, o.start, o.seconds, undefined, o.perKind ?? 2), o.seed);
  const truth: SimCase['truth'] = [];
  const batch: NumericObs[] = [];
  const flush = async (seq: number) => {
    const env: Envelope = {
      gatewayId: 'gw',
      bootId: 'b',
      seq,
      sentAt: o.start,
      devices: [{ deviceId: device, profileId: 'p', numerics: batch.splice(0), waves: [], alarms: [], settings: [] }],
    };
    await store.write(envelopeToPoints(env, { site: 's', room: 'r', bed }));
  };
  for (let s = 0; s < o.seconds; s++) {
    const t = o.start + s * 1000;
    const clean = model.at(t);
    const shown = injector.apply(clean);
    const row: Record<string, number | null> = {};
    for (const k of SIM_VITALS) {
      row[k] = clean.values[k];
      batch.push({ kind: 'numeric', mdc: model.mdcOf(k), code: null, value: shown.values[k], unit: model.unitOf(k), t, vendorCode: k });
    }
    truth.push({ t, clean: row, ...(clean.nibpTakenAt !== undefined ? { nibpTakenAt: clean.nibpTakenAt } : {}) });
    if (s % 300 === 299) await flush(s);
  }
  if (batch.length) await flush(o.seconds);
  const kase: Case = {
    id: 'case-sim',
    bedId: bed,
    start: o.start,
    end: o.start + o.seconds * 1000,
    status: 'closed',
    externalIds: {},
    createdAt: o.start,
    bindings: [{ bed, from: o.start, to: o.start + o.seconds * 1000 }],
  };
  return { case: kase, bed, device, truth, spans: injector.spans(), mdcOf: (k) => model.mdcOf(k) };
}

/** reason the chart must give for the readings of each injected artifact kind */
export const REASON_OF: Record<ArtifactSpan['kind'], string> = {
  'art-flush': 'art-flush',
  'art-zero': 'art-zero',
  'spo2-dropout': 'spo2-dropout',
  'spo2-motion': 'spo2-motion',
  'ecg-cautery': 'ecg-cautery',
  'impossible-value': 'impossible',
};

const med = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export interface TruthCheck {
  /** grid points × series checked */
  points: number;
  /** points whose window held no artifact: the chart must equal the truth exactly */
  exact: number;
  mismatches: string[];
  /** artifact readings not rejected with their kind's reason, and rejected readings that were not artifacts */
  missed: string[];
  spurious: string[];
}

/**
 * Compares a chart (grid G) with the ground truth. Truth at grid point g: for NIBP the clean
 * measurement with the latest nibpTakenAt in [g − G/2, g + G/2); for every other parameter the median of
 * the CLEAN values in that window. Tolerance: none where the window holds no artifact. Where it holds k
 * artifact readings of the n, the chart's median is over the other m = n − k clean values, and the
 * median of m values left after removing k of n sorted values S lies in [S[⌊(m−1)/2⌋], S[⌈(m−1)/2⌉ + k]]:
 * that interval is the tolerance (the spread of the clean signal around its median, no constant). The
 * chart must also equal the median of exactly the clean values at the artifact-free times (no artifact
 * slipped in, no clean value thrown out).
 */
export function checkChart(
  chart: {
    gridMs: number;
    series: {
      mdc: string | null;
      vendorCode: string;
      points: { t: number; value: number | null; rule: string; n: number; rejected?: { t: number; value: number | null; reason: string }[] }[];
    }[];
  },
  sim: SimCase,
): TruthCheck {
  const G = chart.gridMs;
  const out: TruthCheck = { points: 0, exact: 0, mismatches: [], missed: [], spurious: [] };
  const artifactAt = new Map<string, string>(); // `${vital}@${t}` → reason expected
  for (const sp of sim.spans) for (const v of sp.vitals) for (let t = sp.from; t < sp.to; t += 1000) artifactAt.set(`${v}@${t}`, REASON_OF[sp.kind]);
  const seen = new Set<string>();
  for (const k of SIM_VITALS) {
    const s = chart.series.find((x) => x.vendorCode === k);
    if (!s) {
      out.mismatches.push(`${k}: no series`);
      continue;
    }
    for (const p of s.points) {
      out.points++;
      const inWin = sim.truth.filter((r) => r.t >= p.t - G / 2 && r.t < p.t + G / 2);
      for (const r of p.rejected ?? []) {
        const want = artifactAt.get(`${k}@${r.t}`);
        if (want !== r.reason) out.spurious.push(`${k}@${r.t}: rejected ${r.reason}, injected ${want ?? 'nothing'}`);
        seen.add(`${k}@${r.t}`);
      }
      if (k.startsWith('nibp')) {
        const taken = inWin.filter((r) => r.nibpTakenAt !== undefined && r.nibpTakenAt === r.t).pop();
        const want = taken ? taken.clean[k] : null;
        if (p.value !== want || (want !== null && p.rule !== 'nibp-last')) out.mismatches.push(`${k}@${p.t}: ${p.value} (${p.rule}), truth ${want}`);
        else out.exact++;
        continue;
      }
      const clean = inWin.map((r) => r.clean[k] as number);
      const kept = inWin.filter((r) => !artifactAt.has(`${k}@${r.t}`)).map((r) => r.clean[k] as number);
      const kArt = clean.length - kept.length;
      if (!clean.length) {
        if (p.value !== null) out.mismatches.push(`${k}@${p.t}: ${p.value}, no data`);
        continue;
      }
      const truth = med(clean);
      if (kArt === 0) {
        if (p.value !== truth || p.n !== clean.length) out.mismatches.push(`${k}@${p.t}: ${p.value} (n ${p.n}), truth ${truth} (n ${clean.length})`);
        else out.exact++;
        continue;
      }
      const S = [...clean].sort((a, b) => a - b);
      const m = kept.length;
      const lo = S[Math.floor((m - 1) / 2)];
      const hi = S[Math.ceil((m - 1) / 2) + kArt];
      if (p.value === null || p.value < lo || p.value > hi) out.mismatches.push(`${k}@${p.t}: ${p.value} outside [${lo}, ${hi}] around truth ${truth}`);
      if (p.value !== med(kept) || p.n !== m)
        out.mismatches.push(`${k}@${p.t}: ${p.value} (n ${p.n}) ≠ median of the artifact-free clean values ${med(kept)} (n ${m})`);
    }
  }
  for (const [key, reason] of artifactAt) if (!seen.has(key)) out.missed.push(`${key}: injected ${reason}, not rejected`);
  return out;
}
