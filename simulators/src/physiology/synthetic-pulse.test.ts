// Synthetic ART and PLETH against the ECG of the same patient: one pulse per R wave, a transit
// delay after it, ART beats spanning the model's dia..sys with a dicrotic notch, pleth in 0..100
// with its height swinging with respiration; determinism and block-size independence.
import t from 'tap';
import { PhysiologyModel } from './vitals-model.js';
import { createWaveSource } from './waveforms.js';
import { argExtreme, findPeaks, mean, notchAfter, sd } from './wave-features.js';

const T0 = Date.UTC(2026, 0, 1, 8, 0, 0);
const FS = 100;
const ECG_FS = 300;

function patient(seed: number, seconds: number, baseline = {}) {
  const model = new PhysiologyModel({ seed, startMs: T0, baseline });
  const ctx = { model, seed };
  const ecg = createWaveSource('ecg2', ECG_FS, ctx).next(ECG_FS * seconds, T0);
  const art = createWaveSource('art', FS, ctx).next(FS * seconds, T0);
  const pleth = createWaveSource('pleth', FS, ctx).next(FS * seconds, T0);
  const rMs = findPeaks(ecg, ECG_FS).map((i) => (i * 1000) / ECG_FS);
  return { model, art, pleth, rMs };
}

const at = (msAfterT0: number): number => Math.round((msAfterT0 * FS) / 1000);

t.test('ART: every beat spans the model dia..sys, its foot 150–250 ms after R, with a dicrotic notch', async (t) => {
  const { model, art, rMs } = patient(11, 90, { artSys: 132, artDia: 71 });
  const problems: string[] = [];
  let notches = 0;
  const delays: number[] = [];
  for (let k = 1; k < rMs.length - 1; k++) {
    const from = at(rMs[k]! + 100);
    const to = at(rMs[k + 1]! + 100);
    const foot = argExtreme(art, from, from + at(200), 'min');
    const peak = argExtreme(art, from, to, 'max');
    const v = model.at(T0 + rMs[k]!).values;
    delays.push(foot * 10 - rMs[k]!);
    if (Math.abs(art[peak]! - v.artSys!) > 4) problems.push(`beat ${k}: max ${art[peak]!.toFixed(1)} vs sys ${v.artSys!.toFixed(1)}`);
    if (Math.abs(art[foot]! - v.artDia!) > 3) problems.push(`beat ${k}: min ${art[foot]!.toFixed(1)} vs dia ${v.artDia!.toFixed(1)}`);
    const n = notchAfter(art, peak, to - at(60));
    if (n) {
      notches++;
      const level = (art[n.min]! - v.artDia!) / (v.artSys! - v.artDia!);
      if (!(level > 0.25 && level < 0.75)) problems.push(`beat ${k}: notch at ${(level * 100).toFixed(0)} % of the pulse`);
      if (!(art[n.max]! > art[n.min]!)) problems.push(`beat ${k}: no dicrotic wave`);
    }
  }
  t.same(problems, [], `${rMs.length - 2} beats within 4 mmHg of sys and 3 of dia`);
  t.equal(notches, rMs.length - 2, 'a local minimum then a local maximum on every downstroke');
  t.ok(Math.min(...delays) >= 150 && Math.max(...delays) <= 250, `foot ${Math.min(...delays)}..${Math.max(...delays)} ms after R`);
  const pp = [];
  for (let k = 1; k < rMs.length - 1; k++) pp.push(Math.max(...art.subarray(at(rMs[k]! + 100), at(rMs[k + 1]! + 100))));
  t.ok(sd(pp) > 0.5, `systolic peaks vary with ventilation (sd ${sd(pp).toFixed(2)} mmHg)`);
});

t.test('ART follows the model as it changes (an induction drop)', async (t) => {
  const model = new PhysiologyModel({ seed: 2, startMs: T0, events: [{ kind: 'induction', atS: 10, onsetS: 30, bpDropPct: 30, hrDelta: 0 }] });
  const art = createWaveSource('art', FS, { model, seed: 2 }).next(FS * 60, T0);
  const before = Math.max(...art.subarray(0, at(8000)));
  const after = Math.max(...art.subarray(at(45_000), at(60_000)));
  const want = model.at(T0 + 50_000).values.artSys!;
  t.ok(after < before * 0.8, `systolic ${before.toFixed(0)} → ${after.toFixed(0)} mmHg`);
  t.ok(Math.abs(after - want) < 6, `after the drop the wave peaks at the model's ${want.toFixed(0)} mmHg`);
});

t.test('PLETH: one pulse per R wave, 200–500 ms after it, within 0..100, height swinging with respiration', async (t) => {
  const { pleth, rMs } = patient(12, 90);
  t.ok(Math.min(...pleth) >= 0 && Math.max(...pleth) <= 100, `range ${Math.min(...pleth).toFixed(1)}..${Math.max(...pleth).toFixed(1)}`);
  const peaks = findPeaks(pleth, FS, { fraction: 0.5, refractoryS: 0.25 });
  t.ok(Math.abs(peaks.length - rMs.length) <= 1, `${peaks.length} pleth pulses for ${rMs.length} R waves`);
  const lags = peaks
    .map((p) => {
      const tp = p * 10;
      const r = rMs.filter((x) => x <= tp).pop();
      return r === undefined ? NaN : tp - r;
    })
    .filter((x) => !Number.isNaN(x));
  t.ok(Math.min(...lags) >= 200 && Math.max(...lags) <= 500, `pleth peak ${Math.min(...lags)}..${Math.max(...lags)} ms after R`);
  const heights = [];
  for (let k = 1; k < rMs.length - 1; k++) {
    const seg = pleth.subarray(at(rMs[k]! + 150), at(rMs[k + 1]! + 150));
    heights.push(Math.max(...seg) - Math.min(...seg));
  }
  t.ok(
    Math.max(...heights) / Math.min(...heights) > 1.1,
    `pulse height ${Math.min(...heights).toFixed(1)}..${Math.max(...heights).toFixed(1)}: respiratory variation`,
  );
  // dicrotic shoulder: on the way down the slope eases (a local maximum of the first difference) before falling again
  let shoulders = 0;
  for (const p of peaks.slice(1, -1)) {
    const seg = pleth.subarray(p, p + at(450));
    const d = Array.from(seg.subarray(1), (v, i) => v - seg[i]!);
    const steepest = d.indexOf(Math.min(...d));
    if (d.some((v, i) => i > steepest && i < d.length - 1 && v > d[i - 1]! && v >= d[i + 1]! && v > d[steepest]! / 2)) shoulders++;
  }
  t.ok(shoulders >= peaks.length - 3, `${shoulders}/${peaks.length - 2} downstrokes with a dicrotic shoulder`);
  t.ok(mean(heights) > 20, 'a pulse of clinical size');
});

t.test('ART and PLETH: deterministic, next(1000) = next(300) + next(700)', async (t) => {
  for (const kind of ['art', 'pleth'] as const) {
    const one = createWaveSource(kind, FS, { model: new PhysiologyModel({ seed: 5, startMs: T0 }), seed: 5 }).next(1000, T0);
    const src = createWaveSource(kind, FS, { model: new PhysiologyModel({ seed: 5, startMs: T0 }), seed: 5 });
    const two = [...src.next(300, T0), ...src.next(700, T0 + 3000)];
    t.same(two, Array.from(one), `${kind}: block split changes nothing`);
    const other = createWaveSource(kind, FS, { model: new PhysiologyModel({ seed: 6, startMs: T0 }), seed: 6 }).next(1000, T0);
    t.ok(
      other.some((v, i) => v !== one[i]),
      `${kind}: another seed, another wave`,
    );
    let step = 0;
    for (let i = 1; i < one.length; i++) step = Math.max(step, Math.abs(one[i]! - one[i - 1]!));
    t.ok(step < (kind === 'art' ? 15 : 20), `${kind}: largest sample-to-sample step ${step.toFixed(2)} (no jumps between beats)`);
  }
});
