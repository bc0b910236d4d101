/**
 * Test helper for test/e2e/clinical-workflow.test.ts: the anesthesia-record chart of a case compared
 * with the simulators' ground truth, per (device, vendor code) series, each over the part of the
 * case its bed held. The rule is the one of ingest/src/chart/sim-case.fixture.ts (checkChart),
 * generalised from one in-memory device to the series of real devices on two beds:
 * - at every grid point, the value is the median of the CLEAN values at the artifact-free times of
 *   the window (n = their count), and lies in the fixture's tolerance around the clean median;
 * - every reading inside an injected artifact is rejected with its kind's reason, nothing else is;
 * - NIBP: the latest cuff measurement (first reading of a run of identical sys/dia/mean, the runs
 *   found in everything the device sent, also before the patient arrived) in the window.
 */

export interface SeriesTruth {
  device: string;
  vendorCode: string;
  /** the part of the case this device's bed held, [from, to) */
  from: number;
  to: number;
  /** time → the clean value (what the patient did), for every reading sent */
  clean: Map<number, number>;
  /** time → the reason the chart must give for the reading there (an injected artifact) */
  artifacts: Map<number, string>;
  /** NIBP: times of the cuff measurements (run starts) with their values */
  nibp?: Map<number, number>;
}

export interface ChartPoint {
  t: number;
  value: number | null;
  rule: string;
  n: number;
  at?: number;
  rejected?: { t: number; value: number | null; reason: string }[];
  rejectedCount?: number;
}
export interface ChartSeries {
  mdc: string | null;
  vendorCode: string;
  device: string;
  family: string;
  points: ChartPoint[];
}
export interface Chart {
  gridMs: number;
  from: number;
  to: number;
  series: ChartSeries[];
}

export interface TruthReport {
  points: number;
  exact: number;
  withArtifacts: number;
  mismatches: string[];
  missed: string[];
  spurious: string[];
  artifactReadings: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export function compareChart(chart: Chart, truths: SeriesTruth[]): TruthReport {
  const G = chart.gridMs;
  const out: TruthReport = { points: 0, exact: 0, withArtifacts: 0, mismatches: [], missed: [], spurious: [], artifactReadings: 0 };
  for (const tr of truths) {
    const name = `${tr.device}/${tr.vendorCode}`;
    const s = chart.series.find((x) => x.device === tr.device && x.vendorCode === tr.vendorCode);
    if (!s) {
      out.mismatches.push(`${name}: no series`);
      continue;
    }
    const seen = new Set<number>();
    for (const p of s.points) {
      const lo = Math.max(p.t - G / 2, tr.from);
      const hi = Math.min(p.t + G / 2, tr.to);
      for (const r of p.rejected ?? []) {
        if (r.t < tr.from || r.t >= tr.to) continue; // another bed's part of the case: not this truth's
        const want = tr.artifacts.get(r.t);
        if (want !== r.reason) out.spurious.push(`${name}@${r.t}: rejected ${r.reason}, injected ${want ?? 'nothing'}`);
        seen.add(r.t);
      }
      if (lo >= hi) continue;
      out.points++;
      if (tr.nibp) {
        const taken = [...tr.nibp.entries()]
          .filter(([t]) => t >= lo && t < hi)
          .sort((a, b) => a[0] - b[0])
          .pop();
        const want = taken ? taken[1] : null;
        if (p.value !== want || (taken && (p.rule !== 'nibp-last' || p.at !== taken[0])))
          out.mismatches.push(`${name}@${p.t}: ${p.value} (${p.rule} at ${p.at}), truth ${want} at ${taken?.[0]}`);
        else out.exact++;
        continue;
      }
      const times = [...new Set([...tr.clean.keys(), ...tr.artifacts.keys()])].filter((t) => t >= lo && t < hi);
      const kept = times.filter((t) => !tr.artifacts.has(t) && tr.clean.has(t)).map((t) => tr.clean.get(t)!);
      const k = times.filter((t) => tr.artifacts.has(t)).length;
      const want = kept.length ? median(kept) : null;
      if (p.value !== want || p.n !== kept.length) {
        out.mismatches.push(`${name}@${p.t}: ${p.value} (n ${p.n}), truth ${want} (n ${kept.length}, ${k} artifact readings)`);
        continue;
      }
      if (k === 0) {
        out.exact++;
        continue;
      }
      out.withArtifacts++;
      // the fixture's tolerance: where the median of the clean signal without k of its values can be
      const clean = times
        .filter((t) => tr.clean.has(t))
        .map((t) => tr.clean.get(t)!)
        .sort((a, b) => a - b);
      const m = kept.length;
      const kc = clean.length - m;
      const lo2 = clean[Math.floor((m - 1) / 2)];
      const hi2 = clean[Math.min(clean.length - 1, Math.ceil((m - 1) / 2) + kc)];
      if (want !== null && lo2 !== undefined && hi2 !== undefined && (want < lo2 || want > hi2))
        out.mismatches.push(`${name}@${p.t}: ${want} outside [${lo2}, ${hi2}] around the clean median ${median(clean)}`);
    }
    for (const t of tr.artifacts.keys()) {
      if (t < tr.from || t >= tr.to) continue;
      out.artifactReadings++;
      if (!seen.has(t)) out.missed.push(`${name}@${t}: injected ${tr.artifacts.get(t)}, not rejected`);
    }
  }
  return out;
}

/** First reading of each run of identical (sys, dia, mean): the cuff measurements (docs/chart.md "NIBP"). */
export function nibpMeasurements(
  readings: { t: number; sys?: number; dia?: number; mean?: number }[],
): Map<number, { sys?: number; dia?: number; mean?: number }> {
  const out = new Map<number, { sys?: number; dia?: number; mean?: number }>();
  let prev = '';
  for (const r of [...readings].sort((a, b) => a.t - b.t)) {
    const key = `${r.sys}|${r.dia}|${r.mean}`;
    if (key !== prev) out.set(r.t, { sys: r.sys, dia: r.dia, mean: r.mean });
    prev = key;
  }
  return out;
}
