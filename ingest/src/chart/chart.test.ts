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
    t.ok(cuffs.every((p) => p.at !== undefined && p.at >= p.t - 150_000 && p.at < p.t + 150_000 && p.n === 1), 'each timed in its window');
    t.equal(five.series.find((s) => s.vendorCode === 'hr')?.family, 'ecg-hr');
  });
}

t.test('params filters the series, not the rules; window clipped to the case; bad windows refused', async (t) => {
  const store = new MemorySeriesStore();
  const sim = await simulatedCase(store, { seed: 5, start: START, seconds: 1200, perKind: 1 });
  const all = await caseChart(sim.case, store, opts('1m'));
  const hr = await caseChart(sim.case, store, { ...opts('1m'), params: ['MDC_ECG_HEART_RATE'] });
  t.same(hr.series.map((s) => s.vendorCode), ['hr']);
  t.same(hr.series[0], all.series.find((s) => s.vendorCode === 'hr'), 'the HR rules still see the pulse rates');
  const part = await caseChart(sim.case, store, { ...opts('1m'), from: START - 3600_000, to: START + 300_000 });
  t.same([part.from, part.to], [START, START + 300_000]);
  t.same(part.series[0].points.map((p) => p.t), [0, 1, 2, 3, 4, 5].map((i) => START + i * 60_000), 'points whose window meets the window');
  await t.rejects(caseChart(sim.case, store, { ...opts('1m'), from: START + 7200_000 }), { code: 'ING_ERR_BAD_REQUEST' });
  await t.rejects(caseChart(sim.case, store, { ...opts('1m'), maxWindowMs: 60_000 }), { code: 'ING_ERR_BAD_REQUEST' });
});

t.test('rules: flags, ART mean alone (flush, recovery), SpO2 0, impossible, HR jump without references', async (t) => {
  const n = (mdc: string, value: number | null, at: number, o: Partial<StoredNumeric> = {}): StoredNumeric => ({
    kind: 'numeric', mdc, code: null, value, unit: mdc.includes('PRESS') ? 'mm[Hg]' : mdc.includes('SAT') ? '%' : '/min', t: at, vendorCode: mdc,
    device: 'd', site: 's', room: 'r', bed: 'b', ...o,
  });
  const T = START;
  const rs = [
    n('MDC_ECG_HEART_RATE', 70, T, { flags: ['artifact'] }),
    n('MDC_PRESS_BLD_ART_MEAN', 301, T + 1000),                  // mean alone at 300: flush
    n('MDC_PRESS_BLD_ART_MEAN', 85, T + 3000),                   // within the recovery
    n('MDC_PRESS_BLD_ART_MEAN', 85, T + 7000),                   // after it
    n('MDC_PULS_OXIM_SAT_O2', 0, T + 8000),
    n('MDC_PRESS_BLD_NONINV_SYS', 400, T + 8000),
    n('MDC_TEMP_ESOPH', 36.5, T + 8000, { unit: 'Cel' }),
  ];
  for (let i = 0; i < 10; i++) rs.push(n('MDC_ECG_HEART_RATE', 70, T + 10_000 + i * 1000));
  rs.push(n('MDC_ECG_HEART_RATE', 180, T + 20_000), n('MDC_ECG_HEART_RATE', 90, T + 21_000));
  t.same(classify(rs), ['flagged', 'art-flush', 'art-flush', null, 'spo2-dropout', 'impossible', null, ...new Array(10).fill(null), 'ecg-cautery', null]);
});
