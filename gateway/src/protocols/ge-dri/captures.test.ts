/**
 * Hand checks on the REAL captures (in ../shared/captures, named by the case.json files under
 * firmware-profiles/ge/testcases): the values the golden expected.ndjson files freeze were checked
 * here against physiology and the digest.
 */
import t from 'tap';
import { parseHexlog } from '../../../../cli/decode.js';
import { caseInput } from '../../../../test/helpers/golden-case.js';
import type { NumericObs, Observation, WaveObs } from '../../../../schemas/src/observation.js';
import { GeDriStreamDecoder } from './stream-decoder.js';
import { randInt, rng } from './test-rng.js';

/** The bytes the golden case decodes (raw captures as published; LNhealth records framed as its case.json says). */
const capture = (c: string): Buffer => caseInput(`ge/testcases/${c}`).data;
const nums = (obs: Observation[], vc: string): NumericObs[] => obs.filter((o): o is NumericObs => o.kind === 'numeric' && o.vendorCode === vc);
const values = (obs: Observation[], vc: string): number[] =>
  nums(obs, vc)
    .map((o) => o.value)
    .filter((v): v is number => v !== null);
const range = (v: number[]): [number, number] => [Math.min(...v), Math.max(...v)];

t.test('pycollect DRI level 10 session (db02): plausible vitals', async (t) => {
  const d = new GeDriStreamDecoder();
  const obs = d.push(capture('pycollect-dri2009-db02'));
  t.equal(d.profileId(), 'ge/carescape-b650/dri-2009');
  t.same(d.recordCounts(), { phdb: 107, wave: 106 });
  t.same(d.stats().errors, {}, 'all 213 checksums right');
  t.same(range(values(obs, 'ecg.hr')), [76, 80], 'HR');
  t.same(range(values(obs, 'spo2.spo2')), [95.71, 96.65], 'SpO2 %');
  t.same(range(values(obs, 'co2.et')), [27, 37], 'EtCO2 mmHg = % × 759.8 / 100');
  t.ok(nums(obs, 'co2.et').every((o) => o.unit === 'mm[Hg]'));
  t.same(range(values(obs, 'co2.amb_press')), [759.8, 759.8], 'ambient pressure ~1 atm');
  t.same(range(values(obs, 'o2.fi')), [41, 80], 'FiO2 %');
  t.same([values(obs, 'nibp.sys')[0], values(obs, 'nibp.dia')[0], values(obs, 'nibp.mean')[0]], [93, 48, 69], 'NIBP, dia < mean < sys');
  t.same(range(values(obs, 'entropy.eeg_ent')), [50, 83], 'State Entropy within 0..91');
  t.same(range(values(obs, 'entropy.emg_ent')), [61, 96], 'Response Entropy within 0..100, RE >= SE');
  t.equal(nums(obs, 'p1.sys').length + nums(obs, 'p2.mean').length, 0, 'P1/P2 exist but are inactive (status 1): absent');
  t.equal(nums(obs, 't1.temp').length, 0, 'no temperature probe active');
  const pleth = obs.filter((o): o is WaveObs => o.kind === 'wave' && o.vendorCode === 'wave.PLETH');
  t.equal(pleth.length, 106);
  t.ok(
    pleth.every((w, i) => i === 0 || w.t0 === pleth[i - 1].t0 + 1000),
    'PLETH blocks contiguous, 100 samples/s',
  );
});

t.test('LNhealth S/5 level 8 records: labels and markers as the digest says', async (t) => {
  const d = new GeDriStreamDecoder();
  const obs = d.push(
    Buffer.concat(
      parseHexlog(capture('lnhealth-s5-dri2003').toString('latin1'))
        .chunks.filter((c) => c.dir === 'RX')
        .map((c) => c.bytes),
    ),
  );
  t.equal(d.profileId(), 'ge/s5/dri-2003');
  t.same(d.identity(), { vendor: 'GE', protocolLevel: '2003', serial: 'plug-35588' }, 'DRI level 8, plug id from the header');
  const one = (vc: string): NumericObs => nums(obs, vc)[0];
  t.same(
    [one('p1.sys').mdc, one('p1.sys').value, one('p1.dia').value, one('p1.mean').value],
    ['MDC_PRESS_BLD_ART_SYS', 9, 0.9, 4.86],
    'ART label 1, open transducer',
  );
  t.same([one('p2.mean').mdc, one('p2.mean').value], ['MDC_PRESS_BLD_VEN_CENT_MEAN', 2.21], 'CVP label 2');
  t.same([one('p3.sys').value, one('p3.sys').flags, one('p3.sys').label], [null, ['not-updated'], 'PA'], '-32766 → absent, flagged');
  t.same([one('t1.temp').mdc, one('t1.temp').value], ['MDC_TEMP_NASOPH', 18]);
  t.same([one('t2.temp').mdc, one('t2.temp').value], ['MDC_TEMP_RECT', 27.07]);
  t.same([one('t3.temp').mdc, one('t3.temp').value], ['MDC_TEMP_ESOPH', 16.85], 'room-temperature probes on a bench');
  t.same([one('t4.temp').value, one('t4.temp').flags], [null, ['under-range']]);
  t.same([one('aa.et').mdc, one('aa.et').label], ['MDC_CONC_AWAY_ISOFL_ET', 'ISO']);
  t.equal(one('o2.fi').value! + one('bal_gas.fi').value!, 100, 'O2 29.43 % + balance gas 70.57 % = 100 %');
  t.same([one('co2.et').value, one('co2.et').unit], [0, 'mm[Hg]'], 'no breath');
  t.same([one('eeg_bis.bis').value, one('eeg_bis.sr').value], [0, 100], 'BIS 0 with suppression ratio 100 %');
  t.same([one('nmt.ptc').value, one('nmt.ptc').flags], [null, ['invalid']], 'PTC -29185 in an active group: profile valid range');
  const waves = obs.filter((o): o is WaveObs => o.kind === 'wave');
  t.same(
    waves.map((w) => [w.vendorCode, w.samples.length, w.label ?? null]),
    [
      ['wave.ECG1', 60, 'II'],
      ['wave.ECG2', 60, null],
      ['wave.ECG3', 60, null],
      ['wave.INVP1', 20, 'ART'],
      ['wave.INVP2', 20, 'CVP'],
      ['wave.INVP3', 20, 'P3'],
      ['wave.INVP4', 20, 'PA'],
      ['wave.PLETH', 20, null],
    ],
  );
  t.same(range(waves[0].samples as number[]), [-0.196, 0.117], 'ECG1 in mV (raw µV)');
});

t.test('corrupted real capture: errors counted, every intact frame still decodes (seeded)', async (t) => {
  const clean = capture('pycollect-dri2009-raw');
  const r = rng(99);
  for (let round = 0; round < 20; round++) {
    const bytes = Buffer.from(clean);
    for (let k = 0; k < 3; k++) bytes[randInt(r, 0, bytes.length - 1)] = randInt(r, 0, 255);
    const d = new GeDriStreamDecoder();
    for (let i = 0; i < bytes.length;) {
      const n = randInt(r, 1, 500);
      d.push(bytes.subarray(i, i + n));
      i += n;
    }
    const s = d.stats();
    const errors = Object.values(s.errors).reduce((a, b) => a + b, 0);
    if (s.frames < 21 - 3 * 2 || (s.frames < 21 && errors === 0)) t.fail(`round ${round}: ${JSON.stringify(s)}`);
  }
  t.pass('20 corrupted replays decoded without a throw, damage confined and counted');
});
