import t from 'tap';
import { ARTIFACT_KINDS, ARTIFACT_RECOVERY_S, ArtifactInjector, artifactSchedule } from './artifacts.js';
import { PhysiologyModel } from './vitals-model.js';

const T0 = 1_700_000_000_000;

t.test('schedule: seeded, every kind, non-overlapping, inside the window', async (t) => {
  const a = artifactSchedule(4, T0, 3600);
  t.same(a, artifactSchedule(4, T0, 3600), 'same seed, same schedule');
  t.notSame(a, artifactSchedule(5, T0, 3600));
  const spans = new ArtifactInjector(a, 4).spans().sort((x, y) => x.from - y.from);
  t.same([...new Set(spans.map((s) => s.kind))].sort(), [...ARTIFACT_KINDS].sort());
  t.equal(spans.length, 2 * ARTIFACT_KINDS.length);
  t.ok(
    spans.every((s, i) => s.from >= T0 && s.to <= T0 + 3600_000 && (i === 0 || spans[i - 1].to <= s.from)),
    'disjoint, in the window',
  );
  t.throws(() => artifactSchedule(1, T0, 60), RangeError);
});

t.test('apply: corrupts only the span and its vitals; flush plateau then recovery; pure function of time', async (t) => {
  const model = new PhysiologyModel({ seed: 2, startMs: T0 });
  const inj = new ArtifactInjector(
    [
      { kind: 'art-flush', at: T0 + 10_000, durationS: 5 },
      { kind: 'spo2-dropout', at: T0 + 30_000, durationS: 3 },
      { kind: 'impossible-value', at: T0 + 40_000, durationS: 1, vital: 'spo2' },
    ],
    2,
  );
  t.same(
    inj.spans().map((s) => [s.kind, s.from - T0, s.to - T0]),
    [
      ['art-flush', 10_000, 20_000],
      ['spo2-dropout', 30_000, 33_000],
      ['impossible-value', 40_000, 41_000],
    ],
  );
  for (let s = 0; s < 50; s++) {
    const clean = model.at(T0 + s * 1000);
    const shown = inj.apply(clean);
    const changed = Object.keys(clean.values)
      .filter((k) => clean.values[k as keyof typeof clean.values] !== shown.values[k as keyof typeof clean.values])
      .sort();
    if (s >= 10 && s < 15) {
      t.ok(
        Math.abs((shown.values.artSys ?? 0) - 300) < 1 && Math.abs((shown.values.artDia ?? 0) - 300) < 1 && shown.values.artPulseRate === 0,
        `flush plateau at ${s}`,
      );
    } else if (s >= 15 && s < 15 + ARTIFACT_RECOVERY_S) {
      t.ok(
        (shown.values.artSys ?? 0) > (clean.values.artSys ?? 0) && (shown.values.artSys ?? 0) - (shown.values.artDia ?? 0) >= 15,
        `recovery at ${s}: pulsatile, overshooting`,
      );
    } else if (s >= 30 && s < 33) t.same(changed, ['pulseRate', 'spo2']);
    else if (s === 40) t.same([changed, shown.values.spo2], [['spo2'], 127]);
    else t.same(changed, [], `clean at ${s}`);
    t.same(inj.apply(clean), shown, 'same answer twice');
  }
});
