// Synthetic ECG: R peaks give the model's HR with beat-to-beat variability; P, QRS and T where
// they belong; lead polarities; Einthoven's law; seeded determinism; block-size independence.
import t from 'tap';
import { PhysiologyModel } from './vitals-model.js';
import { SyntheticEcg } from './synthetic-ecg.js';
import { createWaveSource } from './waveforms.js';
import { argExtreme, findPeaks, mean, rateFromPeaks, sd } from './wave-features.js';
import { rhythmOf } from './rhythm.js';
import type { EcgLead } from './ecg-leads.js';

const T0 = Date.UTC(2026, 0, 1, 8, 0, 0);
const FS = 300;

function ecg(lead: EcgLead, seconds: number, opts: { seed?: number; hr?: number } = {}): { x: Float64Array; model: PhysiologyModel } {
  const seed = opts.seed ?? 7;
  const model = new PhysiologyModel({ seed, startMs: T0, ...(opts.hr ? { baseline: { hr: opts.hr } } : {}) });
  return { x: new SyntheticEcg(lead, FS, { model, seed }).next(FS * seconds, T0), model };
}

function correlation(a: number[], b: number[]): number {
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

const ms = (i: number): number => (i * 1000) / FS;
const idx = (msAfter: number): number => Math.round((msAfter * FS) / 1000);

for (const hr of [55, 72, 110]) {
  t.test(`R peaks give the model's HR (${hr}/min baseline) and the RR intervals vary`, async (t) => {
    const { x, model } = ecg('II', 180, { hr });
    const peaks = findPeaks(x, FS);
    const { rate, rrMs } = rateFromPeaks(peaks, FS);
    const modelHr = mean(peaks.map((p) => model.at(T0 + ms(p)).values.hr!));
    t.ok(Math.abs(rate - modelHr) < 3, `detected ${rate.toFixed(1)}/min vs model ${modelHr.toFixed(1)}/min`);
    t.ok(Math.abs(peaks.length - (modelHr * 180) / 60) <= 3, `${peaks.length} beats in 3 min`);
    const s = sd(rrMs);
    t.ok(s > 5, `RR sd ${s.toFixed(1)} ms: beat-to-beat variability`);
    t.ok(s < 0.08 * mean(rrMs), `RR sd ${s.toFixed(1)} ms stays physiological`);
    // beat-to-beat (not just the slow HR walk): successive differences, RMSSD
    const rmssd = Math.sqrt(mean(rrMs.slice(1).map((v, i) => (v - rrMs[i]!) ** 2)));
    t.ok(rmssd > 4, `RMSSD ${rmssd.toFixed(1)} ms: successive RR intervals differ`);
  });
}

t.test('respiratory sinus arrhythmia: detrended RR intervals follow the breath', async (t) => {
  const { x, model } = ecg('II', 240);
  const peaks = findPeaks(x, FS);
  const { rrMs } = rateFromPeaks(peaks, FS);
  const rh = rhythmOf(model, 7, T0);
  let j = 0;
  const resid: number[] = [];
  const sinPh: number[] = [];
  for (let k = 5; k < rrMs.length - 5; k++) {
    resid.push(rrMs[k]! - mean(rrMs.slice(k - 5, k + 6))); // minus ±5-beat average: the slow HR walk out
    const tR = T0 + ms(peaks[k]!);
    j = rh.breathIndexAt(tR, j);
    sinPh.push(Math.sin(2 * Math.PI * rh.breathPhase(tR, j)));
  }
  const r = correlation(resid, sinPh);
  t.ok(r > 0.3, `correlation of RR with the breath ${r.toFixed(2)}`);
});

t.test('P, QRS and T: present, in order, QRS the largest deflection (lead II)', async (t) => {
  const { x } = ecg('II', 60);
  const peaks = findPeaks(x, FS).slice(1, -1);
  t.ok(peaks.length > 60, `${peaks.length} beats`);
  const problems: string[] = [];
  for (const r of peaks) {
    const base = mean(Array.from(x.subarray(r - idx(75), r - idx(55)))); // PR segment
    const rAmp = x[r]! - base;
    const p = argExtreme(x, r - idx(260), r - idx(90), 'max');
    const tw = argExtreme(x, r + idx(150), r + idx(450), 'max');
    const q = argExtreme(x, r - idx(45), r, 'min');
    const s = argExtreme(x, r, r + idx(60), 'min');
    const pAmp = x[p]! - base;
    const tAmp = x[tw]! - base;
    if (!(rAmp > 1)) problems.push(`R ${rAmp.toFixed(2)} mV`);
    if (!(pAmp > 0.07 && pAmp < rAmp / 5)) problems.push(`P ${pAmp.toFixed(2)} mV`);
    if (!(tAmp > 0.15 && tAmp < rAmp / 2.5)) problems.push(`T ${tAmp.toFixed(2)} mV`);
    if (!(ms(tw - r) >= 200 && ms(tw - r) <= 400)) problems.push(`T at +${ms(tw - r).toFixed(0)} ms`);
    if (!(ms(r - p) >= 100 && ms(r - p) <= 250)) problems.push(`P at −${ms(r - p).toFixed(0)} ms`);
    if (!(x[s]! < base - 0.1)) problems.push('no S');
    if (!(x[q]! < base)) problems.push('no q');
  }
  t.same(problems, [], 'every beat has P (−100..−250 ms), q, R, S and T (+200..400 ms) of plausible size');
});

t.test('lead polarities: aVR and V1 mostly negative, V5 and I positive', async (t) => {
  const qrs = (lead: EcgLead): { up: number; down: number } => {
    const { x } = ecg(lead, 20);
    const { x: ii } = ecg('II', 20);
    const peaks = findPeaks(ii, FS).slice(1, -1);
    const up = mean(peaks.map((r) => Math.max(...x.subarray(r - idx(50), r + idx(50)))));
    const down = mean(peaks.map((r) => Math.min(...x.subarray(r - idx(50), r + idx(50)))));
    return { up, down };
  };
  for (const lead of ['aVR', 'V1', 'MCL1'] as EcgLead[]) {
    const q = qrs(lead);
    t.ok(-q.down > 2 * q.up, `${lead}: ${q.down.toFixed(2)} / +${q.up.toFixed(2)} mV`);
  }
  for (const lead of ['I', 'V5', 'aVF'] as EcgLead[]) {
    const q = qrs(lead);
    t.ok(q.up > 2 * -q.down, `${lead}: +${q.up.toFixed(2)} / ${q.down.toFixed(2)} mV`);
  }
});

t.test('Einthoven: II = I + III and aVR + aVL + aVF = 0, noise and wander included', async (t) => {
  const [i, ii, iii, avr, avl, avf] = (['I', 'II', 'III', 'aVR', 'aVL', 'aVF'] as EcgLead[]).map((l) => ecg(l, 30).x);
  let e1 = 0;
  let e2 = 0;
  for (let k = 0; k < ii!.length; k++) {
    e1 = Math.max(e1, Math.abs(ii![k]! - (i![k]! + iii![k]!)));
    e2 = Math.max(e2, Math.abs(avr![k]! + avl![k]! + avf![k]!));
  }
  t.ok(e1 < 1e-9, `max |II − (I + III)| = ${e1}`);
  t.ok(e2 < 1e-9, `max |aVR + aVL + aVF| = ${e2}`);
  t.ok(sd(Array.from(i!)) > 0.1 && sd(Array.from(iii!)) > 0.1, 'the leads are not trivially zero');
  t.not(mean(Array.from(i!)), mean(Array.from(iii!)), 'I and III differ');
});

t.test('deterministic by seed; block size and interleaved waves change nothing', async (t) => {
  const a = ecg('II', 10).x;
  t.same(Array.from(ecg('II', 10).x), Array.from(a), 'same seed, same samples');
  const other = ecg('II', 10, { seed: 8 }).x;
  t.ok(
    other.some((v, k) => v !== a[k]),
    'another seed, other samples',
  );
  // next(1000) === next(300) + next(700)
  const m = new PhysiologyModel({ seed: 7, startMs: T0 });
  const src = new SyntheticEcg('II', FS, { model: m, seed: 7 });
  const p1 = src.next(300, T0);
  const p2 = src.next(700, T0 + (300 * 1000) / FS);
  t.same([...p1, ...p2], Array.from(a.subarray(0, 1000)), 'next(300) + next(700) = next(1000)');
  // odd blocks, with the ART and pleth of the same patient read in between (shared rhythm)
  const m2 = new PhysiologyModel({ seed: 7, startMs: T0 });
  const e2 = new SyntheticEcg('II', FS, { model: m2, seed: 7 });
  const art = createWaveSource('art', 100, { model: m2, seed: 7 });
  const out: number[] = [];
  let n = 0;
  for (const block of [1, 7, 75, 300, 13, 604]) {
    out.push(...e2.next(block, T0 + (n * 1000) / FS));
    art.next(25, T0 + 3000 + n);
    m2.at(T0 + 20_000);
    n += block;
  }
  t.same(out, Array.from(a.subarray(0, n)), `blocks of 1..604 samples (${n}) equal one block`);
});

t.test('a block that does not continue the clock re-anchors at its t0', async (t) => {
  const m = new PhysiologyModel({ seed: 7, startMs: T0 });
  const src = new SyntheticEcg('II', FS, { model: m, seed: 7 });
  src.next(300, T0);
  const later = src.next(300, T0 + 5000); // 4 s skipped
  const whole = ecg('II', 6).x;
  const ref = whole.subarray(FS * 5, FS * 6);
  const err = Math.max(...Array.from(later, (v, k) => Math.abs(v - ref[k]!)));
  t.ok(err < 1e-9, `the wave at T0+5 s is the wave at T0+5 s (max diff ${err})`);
  t.throws(() => new SyntheticEcg('II', 0, { model: m, seed: 7 }), RangeError);
});
