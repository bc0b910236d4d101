import t from 'tap';
import type { NumericObs, Observation, WaveObs } from '../../../../schemas/src/observation.js';
import { encodeAlarmSubrecord } from './alarm.js';
import { writeHeader } from './header.js';
import { encodePhdbRecord, encodeWaveRecord } from './encode.js';
import { HEADER_SIZE } from './layout.js';
import { GeDriStreamDecoder } from './stream-decoder.js';
import { rng, randInt } from './test-rng.js';

const T0 = 1_700_000_000;
const numerics = (obs: Observation[]): NumericObs[] => obs.filter((o): o is NumericObs => o.kind === 'numeric');
const byCode = (obs: Observation[], vc: string): NumericObs | undefined => numerics(obs).find((o) => o.vendorCode === vc);
const dec = (): GeDriStreamDecoder => new GeDriStreamDecoder({ profileId: 'ge/carescape-b650/dri-2009' });

t.test('special markers → value null with the matching flag, never 0', async (t) => {
  const rec = encodePhdbRecord({
    time: T0,
    classes: {
      basic: {
        ecg: { fields: { hr: -32767, st1: -32766, st2: -32765, st3: -32764, imp_rr: -32763 } },
        spo2: { fields: { spo2: -32762, pr: 72 } },
      },
    },
  });
  const obs = dec().decodeRecord(rec);
  const want: [string, string][] = [
    ['ecg.hr', 'invalid'],
    ['ecg.st1', 'not-updated'],
    ['ecg.st2', 'discontinuity'],
    ['ecg.st3', 'under-range'],
    ['ecg.imp_rr', 'over-range'],
    ['spo2.spo2', 'not-calibrated'],
  ];
  for (const [vc, flag] of want) {
    const o = byCode(obs, vc);
    t.equal(o?.value, null, `${vc} absent`);
    t.same(o?.flags, [flag], `${vc} flagged ${flag}`);
  }
  t.equal(byCode(obs, 'spo2.pr')?.value, 72);
});

t.test('group status gating: only status & 3 == 3 is published; ecg_extra follows ecg', async (t) => {
  const rec = encodePhdbRecord({
    time: T0,
    classes: {
      basic: {
        ecg: { status: 1, fields: { hr: 70 } },
        ecg_extra: { fields: { hr_ecg: 70, hr_max: 80, hr_min: 60 } },
        p1: { status: 0x0b, label: 1, fields: { sys: 12000, dia: 8000, mean: 9300, hr: 70 } },
        p2: { status: 2, label: 2, fields: { mean: 500 } },
        nibp: { status: 0x103, fields: { sys: 11000 } },
      },
    },
  });
  const obs = dec().decodeRecord(rec);
  t.notOk(byCode(obs, 'ecg.hr'), 'ecg exists but not active');
  t.notOk(byCode(obs, 'ecg_extra.hr_ecg'), 'header-less ecg_extra gated by ecg');
  t.notOk(byCode(obs, 'p2.mean'), 'p2 active but not "exists"');
  t.equal(byCode(obs, 'p1.sys')?.value, 120);
  t.equal(byCode(obs, 'nibp.sys')?.value, 110, 'extra status bits do not matter');
  t.equal(numerics(obs).filter((o) => o.vendorCode.startsWith('t1.')).length, 0, 'absent groups are status 0');
});

t.test('labels select site-specific MDC codes', async (t) => {
  const rec = encodePhdbRecord({
    time: T0,
    classes: {
      basic: {
        ecg: { label: 0x0271, fields: { hr: 60, st1: 10, st2: -20, st3: 5 } },
        p1: { label: 1, fields: { sys: 12000, dia: 8000, mean: 9300 } },
        p2: { label: 2, fields: { mean: 800 } },
        p3: { label: 3, fields: { mean: 1500 } },
        p4: { label: 7, fields: { mean: 1000 } },
        nibp: { label: 0x20, fields: { sys: 10000 } },
        t1: { label: 1, fields: { temp: 3650 } },
        t2: { label: 9, fields: { temp: 2200 } },
        aa: { label: 6, fields: { et: 180, fi: 220, mac_sum: 90 } },
      },
    },
  });
  const obs = dec().decodeRecord(rec);
  const c = (vc: string): [string | null | undefined, number | null | undefined, string | undefined] => {
    const o = byCode(obs, vc);
    return [o?.mdc, o?.code, o?.label];
  };
  t.same(c('p1.sys'), ['MDC_PRESS_BLD_ART_SYS', 150033, 'ART']);
  t.same(c('p1.mean'), ['MDC_PRESS_BLD_ART_MEAN', 150035, 'ART']);
  t.same(c('p2.mean'), ['MDC_PRESS_BLD_VEN_CENT_MEAN', 150087, 'CVP']);
  t.same(c('p3.mean'), ['MDC_PRESS_BLD_ART_PULM_MEAN', 150047, 'PA']);
  t.same(c('p4.mean'), ['MDC_PRESS_BLD_MEAN', 150019, 'ICP'], 'no site code → generic, label kept');
  t.same(c('t1.temp'), ['MDC_TEMP_ESOPH', 150372, 'ESO']);
  t.same(c('t2.temp'), ['MDC_TEMP', 150344, 'ROOM']);
  t.same(c('aa.et'), ['MDC_CONC_AWAY_SEVOFL_ET', 152096, 'SEV']);
  t.same(c('aa.fi'), ['MDC_CONC_AWAY_SEVOFL_INSP', 152180, 'SEV']);
  t.equal(byCode(obs, 'aa.et')?.value, 1.8);
  t.same(c('ecg.st1'), ['MDC_ECG_AMPL_ST_II', 131842, 'II'], 'ECG1 lead = bits 8-11');
  t.same(c('ecg.st2'), ['MDC_ECG_AMPL_ST_V', 131907, 'V'], 'ECG2 lead = bits 4-7');
  t.same(c('ecg.st3'), ['MDC_ECG_AMPL_ST_I', 131841, 'I'], 'ECG3 lead = bits 0-3');
  t.equal(byCode(obs, 'ecg.st2')?.value, -0.2);
  t.equal(byCode(obs, 'nibp.sys')?.label, 'measuring', 'NIBP label bit 5');
});

t.test('CO2 % → mmHg with the record ambient pressure; % kept when the pressure is missing', async (t) => {
  const withAmb = encodePhdbRecord({ time: T0, classes: { basic: { co2: { fields: { et: 500, fi: 30, rr: 12, amb_press: 7600 } } } } });
  const a = dec().decodeRecord(withAmb);
  t.same([byCode(a, 'co2.et')?.value, byCode(a, 'co2.et')?.unit], [38, 'mm[Hg]'], '5.00 % × 760.0 / 100');
  t.same([byCode(a, 'co2.fi')?.value, byCode(a, 'co2.fi')?.unit], [2.3, 'mm[Hg]']);
  const noAmb = encodePhdbRecord({ time: T0, classes: { basic: { co2: { fields: { et: 500, amb_press: -32767 } } } } });
  const b = dec().decodeRecord(noAmb);
  t.same([byCode(b, 'co2.et')?.value, byCode(b, 'co2.et')?.unit, byCode(b, 'co2.et')?.mdc], [5, '%', 'MDC_CONC_AWAY_CO2_ET']);
});

t.test('offsets checked by hand, independent of the layout table', async (t) => {
  const rec = encodePhdbRecord({ time: T0, classes: {} });
  const basic = HEADER_SIZE + 4; // subrecord 0 physdata
  rec.writeUInt32LE(3, basic + 132);
  rec.writeInt16LE(487, basic + 138);
  rec.writeInt16LE(7598, basic + 144); // co2 et, amb
  rec.writeUInt32LE(3, basic + 118);
  rec.writeInt16LE(9665, basic + 124); // spo2
  rec.writeUInt32LE(3, basic + 240);
  rec.writeUInt16LE(1, basic + 244);
  rec.writeInt16LE(12345, basic + 246); // p5 ART sys
  const ext2 = HEADER_SIZE + 2 * 278 + 4;
  rec.writeUInt32LE(3, ext2 + 96);
  rec.writeInt16LE(42, ext2 + 102); // eeg_bis.bis
  rec.writeUInt32LE(3, ext2 + 112);
  rec.writeInt16LE(55, ext2 + 118);
  rec.writeInt16LE(63, ext2 + 120); // entropy
  const obs = dec().decodeRecord(rec);
  t.equal(byCode(obs, 'co2.et')?.value, 37);
  t.equal(byCode(obs, 'spo2.spo2')?.value, 96.65);
  t.same([byCode(obs, 'p5.sys')?.value, byCode(obs, 'p5.sys')?.mdc], [123.45, 'MDC_PRESS_BLD_ART_SYS']);
  t.same([byCode(obs, 'eeg_bis.bis')?.value, byCode(obs, 'eeg_bis.bis')?.mdc, byCode(obs, 'eeg_bis.bis')?.code], [42, 'MDC_EEG_BISPECTRAL_INDEX', null]);
  t.same([byCode(obs, 'entropy.eeg_ent')?.value, byCode(obs, 'entropy.emg_ent')?.value], [55, 63]);
});

t.test('class comes from cl_drilvl_subt, not from the subrecord position', async (t) => {
  const rec = encodePhdbRecord({ time: T0, classes: { basic: { spo2: { fields: { spo2: 9800 } } }, ext2: { entropy: { fields: { eeg_ent: 40 } } } } });
  const swapped = Buffer.from(rec);
  rec.copy(swapped, HEADER_SIZE, HEADER_SIZE + 2 * 278, HEADER_SIZE + 3 * 278); // ext2 into slot 0
  rec.copy(swapped, HEADER_SIZE + 2 * 278, HEADER_SIZE, HEADER_SIZE + 278); // basic into slot 2
  const obs = dec().decodeRecord(swapped);
  t.equal(byCode(obs, 'spo2.spo2')?.value, 98);
  t.equal(byCode(obs, 'entropy.eeg_ent')?.value, 40);
});

t.test('waves: consecutive blocks contiguous; gap or clock disagreement re-anchors', async (t) => {
  const d = dec();
  const block = (nbr: number, time: number): WaveObs[] =>
    d
      .decodeRecord(
        encodeWaveRecord({
          time,
          recNbr: nbr,
          channels: [
            { waveId: 1, samples: Array.from({ length: 75 }, (_, i) => i), label: 2 },
            { waveId: 8, samples: Array(25).fill(1234) },
          ],
        }),
      )
      .filter((o): o is WaveObs => o.kind === 'wave');
  const a = block(0, T0);
  const b = block(1, T0); // 250 ms later, same whole second on the device clock
  const c = block(2, T0);
  const e = block(3, T0 + 1);
  t.same(
    a.map((w) => w.t0),
    [T0 * 1000, T0 * 1000],
  );
  t.same(
    b.map((w) => w.t0),
    [T0 * 1000 + 250, T0 * 1000 + 250],
  );
  t.same(
    c.map((w) => w.t0),
    [T0 * 1000 + 500, T0 * 1000 + 500],
  );
  t.same(
    e.map((w) => w.t0),
    [T0 * 1000 + 750, T0 * 1000 + 750],
  );
  t.same(
    [a[0].mdc, a[0].label, a[0].rateHz, a[0].samples[3], a[1].mdc, a[1].samples[0]],
    ['MDC_ECG_ELEC_POTL_II', 'II', 300, 0.003, 'MDC_PULS_OXIM_PLETH', 12.34],
  );
  const gap = block(5, T0 + 1); // record 4 lost
  t.equal(gap[0].t0, (T0 + 1) * 1000);
  t.ok(gap[0].flags?.includes('discontinuity'));
  const jump = block(6, T0 + 10); // device clock jumped ahead
  t.equal(jump[0].t0, (T0 + 10) * 1000);
  t.ok(jump[0].flags?.includes('discontinuity'));
  const inv = d.decodeRecord(encodeWaveRecord({ time: T0 + 10, recNbr: 7, channels: [{ waveId: 4, samples: [-32766, 100, -32767], label: 1 }] }))[0] as WaveObs;
  t.same(inv.samples, [null, 1, null]);
  t.same(inv.flags, ['not-updated', 'invalid']);
  t.equal(inv.mdc, 'MDC_PRESS_BLD_ART');
});

t.test('unknown wave ids are kept: mdc null, vendorCode, flag unmapped, counted', async (t) => {
  const d = dec();
  const obs = d.decodeRecord(encodeWaveRecord({ time: T0, channels: [{ waveId: 23, samples: [1, 2] }] }));
  t.same((obs[0] as WaveObs).samples, [1, 2]);
  const d2 = dec();
  const unk = d2.decodeRecord(encodeWaveRecord({ time: T0, channels: [{ waveId: 99, samples: [1] }] }));
  t.same(unk, [], 'no rate known → cannot place samples in time');
  t.equal(d2.stats().errors['unknown-wave-rate'], 1);
});

t.test('alarm records: text, priority from colour, start/update/end', async (t) => {
  const d = dec();
  const alarmRec = (slots: { text: string; color: number }[]): Buffer => {
    const body = encodeAlarmSubrecord(slots);
    const rec = Buffer.alloc(HEADER_SIZE + body.length);
    writeHeader(rec, { len: rec.length, recNbr: 0, driLevel: 10, plugId: 0, time: T0, mainType: 4, subrecords: [{ offset: 0, type: 1 }] });
    body.copy(rec, HEADER_SIZE);
    return rec;
  };
  const a = d.decodeRecord(
    alarmRec([
      { text: 'HR HIGH', color: 3 },
      { text: 'SpO2 probe off', color: 2 },
    ]),
  );
  t.same(
    a.map((o) => o.kind === 'alarm' && [o.text, o.priority, o.phase, o.source]),
    [
      ['HR HIGH', 'high', 'start', 'physiological'],
      ['SpO2 probe off', 'medium', 'start', 'technical'],
    ],
  );
  const b = d.decodeRecord(alarmRec([{ text: 'HR HIGH', color: 3 }]));
  t.same(
    b.map((o) => o.kind === 'alarm' && [o.text, o.phase]),
    [
      ['HR HIGH', 'update'],
      ['SpO2 probe off', 'end'],
    ],
  );
  const short = Buffer.alloc(HEADER_SIZE + 20);
  writeHeader(short, { len: short.length, recNbr: 0, driLevel: 10, plugId: 0, time: T0, mainType: 4, subrecords: [{ offset: 0, type: 1 }] });
  t.same(d.decodeRecord(short), []);
  t.equal(d.stats().errors['alarm-layout'], 1);
});

t.test('malformed records are counted and never throw (seeded fuzz)', async (t) => {
  const d = dec();
  const r = rng(7);
  const good = encodePhdbRecord({ time: T0, classes: { basic: { spo2: { fields: { spo2: 9700 } } } } });
  for (let i = 0; i < 500; i++) {
    const b = Buffer.from(good.subarray(0, randInt(r, 0, good.length)));
    for (let k = 0; k < 5 && b.length; k++) b[randInt(r, 0, b.length - 1)] = randInt(r, 0, 255);
    d.decodeRecord(b);
  }
  t.ok(Object.values(d.stats().errors).reduce((a, b) => a + b, 0) > 0, 'errors counted');
  t.equal(byCode(d.decodeRecord(good), 'spo2.spo2')?.value, 97, 'the next good record still decodes');
});
