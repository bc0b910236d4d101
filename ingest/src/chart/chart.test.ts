/**
 * The chart against simulated cases with known ground truth (memory series store): 60 min of a
 * seeded patient at 1 Hz with every artifact kind injected twice; at every grid point of every
 * grid the chart equals the truth (sim-case.fixture.ts states the statistic and the tolerance) and
 * every injected artifact reading is rejected by its own rule, nothing else.
 */
import t from 'tap';
import { ARTIFACT_KINDS } from '../../../simulators/src/physiology/index.js';
import { MemorySeriesStore } from '../series/memory.js';
import { caseChart, GRIDS, type Grid } from './chart.js';
import { classify } from './rules.js';
import { checkChart, simulatedCase } from './sim-case.fixture.js';
import type { StoredNumeric } from '../series/types.js';
import { storedToPoint } from '../series/layout.js';

const START = 1_700_000_100_000; // a 5-min boundary + 0 s
const opts = (grid: Grid) => ({ grid, now: START + 86_400_000, maxWindowMs: 7 * 86_400_000 });

for (const seed of [11, 12]) {
  t.test(`seed ${seed}: 60 min, every artifact kind twice, every grid`, async (t) => {
    const store = new MemorySeriesStore();
    const sim = await simulatedCase(store, { seed, start: START + (seed % 2) * 37_000, seconds: 3600 });
    t.same([...new Set(sim.spans.map((s) => s.kind))].sort(), [...ARTIFACT_KINDS].sort(), 'each kind injected');
    for (const grid of Object.keys(GRIDS) as Grid[]) {
      const chart = await caseChart(sim.case, store, opts(grid));
      const r = checkChart(chart, sim);
      t.ok(r.points >= 11 * Math.floor(3600_000 / GRIDS[grid]), `${grid}: ${r.points} points checked (${r.exact} exact)`);
      t.same(r.mismatches, [], `${grid}: every point equals the truth`);
      t.same(r.missed, [], `${grid}: every artifact reading rejected by its rule`);
      t.same(r.spurious, [], `${grid}: nothing else rejected`);
    }
    const five = await caseChart(sim.case, store, opts('5m'));
    const nibp = five.series.find((s) => s.vendorCode === 'nibpSys');
    const cuffs = nibp?.points.filter((p) => p.rule === 'nibp-last') ?? [];
    t.equal(cuffs.length, 12, 'NIBP: the 12 cuff cycles of the hour, one per 5-min point');
    t.ok(
      cuffs.every((p) => p.at !== undefined && p.at >= p.t - 150_000 && p.at < p.t + 150_000 && p.n === 1),
      'each timed in its window',
    );
    t.equal(five.series.find((s) => s.vendorCode === 'hr')?.family, 'ecg-hr');
  });
}

t.test('params filters the series, not the rules; window clipped to the case; bad windows refused', async (t) => {
  const store = new MemorySeriesStore();
  const sim = await simulatedCase(store, { seed: 5, start: START, seconds: 1200, perKind: 1 });
  const all = await caseChart(sim.case, store, opts('1m'));
  const hr = await caseChart(sim.case, store, { ...opts('1m'), params: ['MDC_ECG_HEART_RATE'] });
  t.same(
    hr.series.map((s) => s.vendorCode),
    ['hr'],
  );
  t.same(
    hr.series[0],
    all.series.find((s) => s.vendorCode === 'hr'),
    'the HR rules still see the pulse rates',
  );
  const part = await caseChart(sim.case, store, { ...opts('1m'), from: START - 3600_000, to: START + 300_000 });
  t.same([part.from, part.to], [START, START + 300_000]);
  t.same(
    part.series[0].points.map((p) => p.t),
    [0, 1, 2, 3, 4, 5].map((i) => START + i * 60_000),
    'points whose window meets the window',
  );
  await t.rejects(caseChart(sim.case, store, { ...opts('1m'), from: START + 7200_000 }), { code: 'ING_ERR_BAD_REQUEST' });
  await t.rejects(caseChart(sim.case, store, { ...opts('1m'), maxWindowMs: 60_000 }), { code: 'ING_ERR_BAD_REQUEST' });
});

t.test('rules: flags, ART mean alone (flush, recovery), SpO2 0, impossible, HR jump without references', async (t) => {
  const n = (mdc: string, value: number | null, at: number, o: Partial<StoredNumeric> = {}): StoredNumeric => ({
    kind: 'numeric',
    mdc,
    code: null,
    value,
    unit: mdc.includes('PRESS') ? 'mm[Hg]' : mdc.includes('SAT') ? '%' : '/min',
    t: at,
    vendorCode: mdc,
    device: 'd',
    site: 's',
    room: 'r',
    bed: 'b',
    ...o,
  });
  const T = START;
  const rs = [
    n('MDC_ECG_HEART_RATE', 70, T, { flags: ['artifact'] }),
    n('MDC_PRESS_BLD_ART_MEAN', 301, T + 1000), // mean alone at 300: flush
    n('MDC_PRESS_BLD_ART_MEAN', 85, T + 3000), // within the recovery
    n('MDC_PRESS_BLD_ART_MEAN', 85, T + 7000), // after it
    n('MDC_PULS_OXIM_SAT_O2', 0, T + 8000),
    n('MDC_PRESS_BLD_NONINV_SYS', 400, T + 8000),
    n('MDC_TEMP_ESOPH', 36.5, T + 8000, { unit: 'Cel' }),
  ];
  for (let i = 0; i < 10; i++) rs.push(n('MDC_ECG_HEART_RATE', 70, T + 10_000 + i * 1000));
  rs.push(n('MDC_ECG_HEART_RATE', 180, T + 20_000), n('MDC_ECG_HEART_RATE', 90, T + 21_000));
  t.same(classify(rs), ['flagged', 'art-flush', 'art-flush', null, 'spo2-dropout', 'impossible', null, ...new Array(10).fill(null), 'ecg-cautery', null]);
});

t.test('NIBP held from before the patient arrived is no measurement of the case; a held value after a move neither', async (t) => {
  const store = new MemorySeriesStore();
  const T = START;
  const nibp = (bed: string, device: string, at: number, sys: number) =>
    ['SYS', 'DIA', 'MEAN'].map((f, i): StoredNumeric => ({
      kind: 'numeric',
      mdc: `MDC_PRESS_BLD_NONINV_${f}`,
      code: null,
      value: sys - 40 * i,
      unit: 'mm[Hg]',
      t: at,
      vendorCode: `nibp.${f.toLowerCase()}`,
      device,
      site: 's',
      room: 'r',
      bed,
    }));
  const pts: StoredNumeric[] = [];
  // OR monitor holds 150 (the previous patient's) from T − 20 min, measures 120 at T + 2 min
  for (let x = T - 1_200_000; x < T + 600_000; x += 1000) pts.push(...nibp('or', 'mon-or', x, x < T + 120_000 ? 150 : 120));
  // PACU monitor holds 140 from T − 30 min (before the patient arrives at T + 5 min), measures 130 at T + 8 min
  for (let x = T - 1_800_000; x < T + 600_000; x += 1000) pts.push(...nibp('pacu', 'mon-pacu', x, x < T + 480_000 ? 140 : 130));
  await store.write(pts.map((n) => storedToPoint(n)));
  const kase = {
    id: 'c',
    bedId: 'pacu',
    start: T,
    end: T + 600_000,
    status: 'closed' as const,
    externalIds: {},
    createdAt: T,
    bindings: [
      { bed: 'or', from: T, to: T + 300_000 },
      { bed: 'pacu', from: T + 300_000, to: T + 600_000 },
    ],
  };
  const chart = await caseChart(kase, store, opts('1m'));
  const cuffs = chart.series
    .filter((s) => s.vendorCode === 'nibp.sys')
    .flatMap((s) => s.points.filter((p) => p.rule === 'nibp-last').map((p) => [s.device, p.at! - T, p.value]));
  t.same(
    cuffs,
    [
      ['mon-or', 120_000, 120],
      ['mon-pacu', 480_000, 130],
    ],
    'only the two cuff cycles inside the case, none at the arrivals',
  );
});
