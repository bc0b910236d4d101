// Physiology: seeded determinism (independent of call pattern), trend-driven values, NIBP cycle,
// derived values, seamless recorded loops and model-driven synthetic waves. The real recordings
// are the developers' copy beside the repository (or $ORLINK_PHYSIONET_DIR), passed explicitly.
import t from 'tap';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { PhysiologyModel, NumericTrend, RecordedLoop, makeLoop, createWaveSource, VITAL_KEYS, Rng, expShape } from './index.js';

const T0 = Date.UTC(2026, 0, 1, 8, 0, 0);
const DATA = process.env.ORLINK_PHYSIONET_DIR ?? resolve(import.meta.dirname, '../../../../shared/data/physionet');
const hasData = existsSync(DATA);

t.test('Rng: same seed, same stream; different keys differ', async (t) => {
  const a = Rng.keyed(7, 'hr');
  const b = Rng.keyed(7, 'hr');
  const c = Rng.keyed(7, 'spo2');
  const sa = [a.next(), a.gauss(), a.gauss()];
  const sb = [b.next(), b.gauss(), b.gauss()];
  t.same(sa, sb);
  t.not(sa[0], c.next());
});

t.test('vitals: deterministic by seed, whatever the call pattern', async (t) => {
  const m1 = new PhysiologyModel({ seed: 42, startMs: T0 });
  const m2 = new PhysiologyModel({ seed: 42, startMs: T0 });
  const m3 = new PhysiologyModel({ seed: 43, startMs: T0 });
  const times = [0, 1000, 5000, 60_000, 600_000].map((d) => T0 + d);
  const s1 = times.map((x) => m1.at(x).values);
  for (let d = 0; d <= 600; d += 7) m2.at(T0 + d * 1000); // another call pattern
  const s2 = times.map((x) => m2.at(x).values); // includes going back in time
  t.same(s1, s2);
  t.not(m3.at(T0 + 600_000).values.hr, s1[4]!.hr, 'another seed gives other values');
  t.equal(s1[0]!.hr, 72, 'the walk starts at the baseline');
});

t.test('vitals: asking back (within the kept 128 s or beyond) equals asking in order', async (t) => {
  // one NIBP cycle for the whole test (taken at 0 and cached), so only these questions move the walk
  const inOrder = new PhysiologyModel({ seed: 12, startMs: T0, nibpIntervalMin: 60 });
  const want = new Map<number, unknown>();
  for (let s = 0; s <= 900; s++) want.set(s, inOrder.at(T0 + s * 1000).values);
  const zigzag = new PhysiologyModel({ seed: 12, startMs: T0, nibpIntervalMin: 60 });
  const order = [0, 900, 899, 850, 773, 890, 771, 600, 5, 640, 513, 900, 12]; // 1..127 steps back (kept), 129 and more (replayed)
  t.same(
    order.map((s) => zigzag.at(T0 + s * 1000 + 500).values),
    order.map((s) => want.get(s)),
  );
});

t.test('vitals: bounds, derived values, NIBP every N minutes', async (t) => {
  const m = new PhysiologyModel({ seed: 1, startMs: T0, nibpIntervalMin: 5, baseline: { hr: 90 } });
  const problems: string[] = [];
  for (let s = 0; s < 3600; s += 30) {
    const v = m.at(T0 + s * 1000).values;
    for (const k of VITAL_KEYS) if (v[k] !== null && !Number.isFinite(v[k])) problems.push(`${k}@${s}`);
    if (!(v.spo2! <= 100 && v.spo2! >= 70)) problems.push(`spo2@${s}`);
    if (Math.abs(v.artMean! - (v.artDia! + (v.artSys! - v.artDia!) / 3)) > 1e-9) problems.push(`map@${s}`);
    if (Math.abs(v.minuteVolume! - (v.tidalVolume! * v.ventRate!) / 1000) > 1e-9) problems.push(`mv@${s}`);
    if (Math.abs(v.mac! - v.etAgent! / 2.05) > 1e-9) problems.push(`mac@${s}`);
    if (v.artDia! > v.artSys! - 15) problems.push(`dia@${s}`);
  }
  t.same(problems, [], 'finite, bounded, derived values consistent over an hour');
  t.equal(m.at(T0).values.hr, 90, 'baseline override');
  const a = m.at(T0 + 61_000);
  const b = m.at(T0 + 299_000);
  const c = m.at(T0 + 301_000);
  t.equal(a.nibpTakenAt, T0);
  t.equal(a.values.nibpSys, b.values.nibpSys, 'NIBP held between cycles');
  t.equal(c.nibpTakenAt, T0 + 300_000);
  t.equal(m.at(T0 - 1000).values.nibpSys, null, 'no NIBP before the first cycle');
  t.throws(() => new PhysiologyModel({ baseline: { nope: 1 } as never }), { code: 'SIM_ERR_PHYSIO_CONFIG' });
  t.equal(new PhysiologyModel({ agent: 'DES' }).mdcOf('etAgent'), 'MDC_CONC_AWAY_DESFL_ET');
});

t.test('vitals driven by the real s00001 numerics', { skip: hasData ? false : 'no PhysioNet data' }, async (t) => {
  const trend = NumericTrend.load(DATA, { startMinute: 620 });
  t.equal(trend.minutes, 1936);
  const m = new PhysiologyModel({ seed: 1, trend, startMs: T0 });
  const hr0 = trend.minuteValue('hr', 620);
  t.equal(m.at(T0).values.hr, hr0, 'HR is the recorded value at the start minute');
  const mid = m.at(T0 + 30_000).values.hr!;
  const hr1 = trend.minuteValue('hr', 621);
  t.ok(Math.abs(mid - (hr0 + hr1) / 2) < 1e-9, 'linear between minutes');
  t.equal(m.at(T0).values.spo2, trend.minuteValue('spo2', 620));
  t.equal(m.at(T0).values.artSys, 118, 'ABP absent in the trend → the walk (baseline at t=0)');
  // NIBP: s00001 measured at minute 1460; start there and the first cycle uses it
  const m2 = new PhysiologyModel({ seed: 1, trend: NumericTrend.load(DATA, { startMinute: 1460 }), startMs: T0 });
  t.equal(m2.at(T0).values.nibpSys, 135);
  t.equal(m2.at(T0).values.nibpDia, 61);
  // looping: minute 1936 is minute 0
  t.equal(trend.minuteValue('respRate', 1936), trend.minuteValue('respRate', 0));
});

t.test('makeLoop: cross-faded wrap without a step', async (t) => {
  const x = Float64Array.from({ length: 1000 }, (_, i) => i); // a ramp: worst case
  const l = makeLoop(x, 50);
  t.equal(l.length, 950);
  const step = Math.abs(l[0]! - l[l.length - 1]!);
  t.ok(step < 2, `wrap step ${step}`);
});

t.test('recorded loops: rate, contiguity, looping', { skip: hasData ? false : 'no PhysioNet data' }, async (t) => {
  const m = new PhysiologyModel({ seed: 3, startMs: T0 });
  const ecg = createWaveSource('ecg1', 300, { model: m, seed: 3, dataDir: DATA });
  const a = ecg.next(300, T0);
  const b = ecg.next(300, T0 + 1000);
  t.equal(a.length, 300);
  t.ok(
    Array.from(a)
      .concat(Array.from(b))
      .every((v) => Math.abs(v) < 5),
    'ECG mV within ±5',
  );
  const loop = new RecordedLoop(
    Float64Array.from({ length: 250 }, (_, i) => Math.sin((2 * Math.PI * i) / 250)),
    250,
    100,
    { fadeS: 0 },
  );
  t.equal(loop.loop.length, 100);
  const two = loop.next(200);
  t.same(Array.from(two.subarray(0, 100)), Array.from(two.subarray(100)), 'wraps with its period');
  const art = createWaveSource('art', 100, { model: m, seed: 3, dataDir: DATA });
  const w = art.next(1000, T0);
  const v = m.at(T0).values;
  const sorted = Array.from(w).sort((p, q) => p - q);
  t.ok(Math.abs(sorted[Math.floor(sorted.length * 0.5)]! - (v.artDia! + v.artSys!) / 2) < 40, 'ART wave spans the model dia..sys');
  t.ok(sorted[0]! > 10 && sorted[sorted.length - 1]! < 250);
  const pleth = createWaveSource('pleth', 100, { model: m, seed: 3, dataDir: DATA }).next(500, T0);
  t.ok(Math.max(...pleth) <= 101 && Math.min(...pleth) >= -1, 'PLETH 0..100 %');
});

t.test('synthetic waves follow the model', async (t) => {
  const m = new PhysiologyModel({ seed: 5, startMs: T0, baseline: { ventRate: 12, etco2: 38 } });
  const co2 = createWaveSource('co2', 25, { model: m, seed: 5 }).next(25 * 10, T0); // two breaths
  const amb = m.at(T0).values.ambientPressure!;
  const max = Math.max(...co2);
  t.ok(Math.abs(max - (38 / amb) * 100) < 0.3, `CO2 peak ${max} % ≈ EtCO2 ${(38 / amb) * 100} %`);
  t.ok(Math.min(...co2) < 0.2, 'inspiration back to ~FiCO2');
  const vol = createWaveSource('vol', 25, { model: m, seed: 5 }).next(125, T0);
  t.ok(Math.abs(Math.max(...vol) - m.at(T0).values.tidalVolume!) < 30, 'volume peaks at the tidal volume');
  const e1 = createWaveSource('eeg', 100, { model: m, seed: 5 }).next(100, T0);
  const e2 = createWaveSource('eeg', 100, { model: new PhysiologyModel({ seed: 5, startMs: T0 }), seed: 5 }).next(100, T0);
  t.same(Array.from(e1), Array.from(e2), 'seeded EEG noise is reproducible');
  t.ok(expShape(0.9, 0.5) > 0.9 && expShape(0.05, 0.5) < 0.01);
});
