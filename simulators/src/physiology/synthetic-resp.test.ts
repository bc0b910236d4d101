// Synthetic impedance respiration: one cycle per ventilator breath at the model's rate, size
// following the tidal volume, inspiration (ti) shorter than expiration at I:E 1:2, contiguous.
import t from 'tap';
import { PhysiologyModel } from './vitals-model.js';
import { createWaveSource } from './waveforms.js';
import { lungVolume } from './synthetic-resp.js';
import { findPeaks, mean } from './wave-features.js';

const T0 = Date.UTC(2026, 0, 1, 8, 0, 0);
const FS = 25;

function resp(baseline: Record<string, number>, seconds: number, seed = 4): { x: Float64Array; model: PhysiologyModel } {
  const model = new PhysiologyModel({ seed, startMs: T0, baseline });
  return { x: createWaveSource('resp', FS, { model, seed }).next(FS * seconds, T0), model };
}

for (const rate of [8, 12, 20]) {
  t.test(`one cycle per breath at ventRate ${rate}/min`, async (t) => {
    const { x, model } = resp({ ventRate: rate }, 180);
    const peaks = findPeaks(x, FS, { fraction: 0.5, refractoryS: 1.5 });
    const modelRate = mean(Array.from({ length: 18 }, (_, i) => model.at(T0 + i * 10_000).values.ventRate!));
    const perMin = (peaks.length / 180) * 60;
    t.ok(Math.abs(perMin - modelRate) <= 0.7, `${perMin.toFixed(1)} breaths/min vs model ${modelRate.toFixed(1)}`);
  });
}

t.test('size follows the tidal volume; the lung-volume cycle', async (t) => {
  const big = resp({ tidalVolume: 700 }, 60).x;
  const small = resp({ tidalVolume: 350 }, 60).x;
  const span = (a: Float64Array): number => Math.max(...a) - Math.min(...a);
  const ratio = span(big) / span(small);
  t.ok(ratio > 1.6 && ratio < 2.4, `700 mL vs 350 mL: ${ratio.toFixed(2)}× the swing`);
  t.equal(lungVolume(0, 1 / 3), 0, 'end-expiration at the start of a breath');
  t.equal(lungVolume(1 / 3, 1 / 3), 1, 'end-inspiration at ti');
  t.ok(Math.abs(lungVolume(1 - 1e-12, 1 / 3)) < 1e-9, 'back to end-expiration exactly at the next breath');
  const rising = Array.from({ length: 99 }, (_, i) => lungVolume(i / 300, 1 / 3)).every((v, i, a) => i === 0 || v > a[i - 1]!);
  t.ok(rising, 'volume rises throughout inspiration');
});

t.test('deterministic and block-size independent', async (t) => {
  const one = resp({}, 40).x;
  const m = new PhysiologyModel({ seed: 4, startMs: T0 });
  const src = createWaveSource('resp', FS, { model: m, seed: 4 });
  const parts = [...src.next(300, T0), ...src.next(700, T0 + 12_000)];
  t.same(parts, Array.from(one.subarray(0, 1000)));
});
