// The shared rhythm: mean RR = 60000/HR, variability around it, breaths at the ventilator rate,
// the same beats whatever the order of the questions (trimmed window, regeneration), one rhythm
// per model and seed.
import t from 'tap';
import { PhysiologyModel } from './vitals-model.js';
import { HRV, Rhythm, rhythmOf } from './rhythm.js';
import { mean, sd } from './wave-features.js';

const T0 = Date.UTC(2026, 0, 1, 8, 0, 0);

t.test('beats follow the model HR; breaths the ventilator rate', async (t) => {
  const model = new PhysiologyModel({ seed: 9, startMs: T0, baseline: { hr: 64, ventRate: 14 } });
  const rh = new Rhythm(model, 9, T0);
  const k0 = rh.beatIndexAt(T0);
  const beats = Array.from({ length: 400 }, (_, i) => rh.beat(k0 + i));
  const ratio = beats.map((b) => b.rr / (60_000 / model.at(b.r).values.hr!));
  t.ok(Math.abs(mean(ratio) - 1) < 0.005, `mean RR / (60000/HR) = ${mean(ratio).toFixed(4)}`);
  const s = sd(ratio);
  t.ok(s > HRV.noise && s < 0.05, `RR variability ${(s * 100).toFixed(2)} % of the mean`);
  for (let i = 1; i < beats.length; i++)
    if (beats[i]!.r !== beats[i - 1]!.r + beats[i - 1]!.rr) {
      t.fail('beats are not back to back');
      break;
    }
  const j0 = rh.breathIndexAt(T0);
  const breaths = Array.from({ length: 30 }, (_, i) => rh.breath(j0 + i));
  t.ok(
    breaths.every((b) => Math.abs(b.dur - 60_000 / model.at(b.start).values.ventRate!) < 1e-6),
    'breath length = 60000 / ventRate',
  );
  t.ok(
    breaths.every((b) => Math.abs(b.ti - 1 / 3) < 1e-9),
    'I:E 1:2 → inspiration a third of the cycle',
  );
  t.equal(rh.breathPhase(breaths[3]!.start, j0 + 3), 0);
  t.ok(
    beats.every((b) => b.sys > b.dia + 20 && b.qrsGain > 0.9 && b.qrsGain < 1.1 && b.pulseGain > 0.85 && b.pulseGain < 1.15),
    'per-beat pressures and gains plausible',
  );
});

t.test('the same beats whatever the order of the questions', async (t) => {
  const mk = () => new Rhythm(new PhysiologyModel({ seed: 3, startMs: T0 }), 3, T0);
  const inOrder = mk();
  const want = Array.from({ length: 1500 }, (_, k) => inOrder.beat(k));
  const jumpy = mk();
  t.same(jumpy.beat(1400), want[1400], 'far ahead first');
  t.same(jumpy.beat(10), want[10], 'then far behind the kept window (regenerated)');
  t.same(jumpy.beat(1499), want[1499]);
  t.same(jumpy.beat(-2).r, want[0]!.r - 2 * want[0]!.rr, 'before the first beat: the first interval repeated');
  const k = jumpy.beatIndexAt(want[700]!.r + 1, 0);
  t.equal(k, 700, 'beatIndexAt finds the beat from any hint');
  t.equal(jumpy.beatIndexAt(want[700]!.r - 1, 1200), 699);
});

t.test('one rhythm per model and seed; the model origin anchors it', async (t) => {
  const model = new PhysiologyModel({ seed: 1 });
  const a = rhythmOf(model, 1, T0 + 5000);
  t.equal(rhythmOf(model, 1, T0 + 99_000), a, 'shared');
  t.not(rhythmOf(model, 2, T0), a, 'another seed, another rhythm');
  t.equal(a.origin, T0 + 5000, 'origin = the first time the model was asked');
  t.equal(model.anchor(0), T0 + 5000);
  const b = new Rhythm(new PhysiologyModel({ seed: 1, startMs: T0 + 5000 }), 1, T0 + 60_000);
  t.same(b.beat(50), a.beat(50), 'same model origin → same beats, whoever asks first');
});
