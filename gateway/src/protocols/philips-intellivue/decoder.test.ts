import t from 'tap';
import type { AlarmObs, NumericObs, WaveObs } from '../../../../schemas/src/observation.js';
import {
  alertList,
  mdsCreateEvent,
  nuCmpd,
  nuObs,
  pollReplyMessages,
  saObs,
  saSpec,
  scaleSpec,
  string16,
  typeAttr,
  u16,
  u32,
  type PollObject,
} from './encode.js';
import { ATTR, MOC, MSMT } from './nomenclature.js';
import { IntelliVueStreamDecoder } from './stream-decoder.js';

const ABS = Date.UTC(2026, 10, 22, 1, 0, 0);
const REL = 1_000_000;
const MDS = mdsCreateEvent({ invokeId: 1, manufacturer: 'Philips', model: 'MX800', absTime: ABS, relTime: REL, firmware: 'M.00.03' });

function dec(): IntelliVueStreamDecoder {
  const d = new IntelliVueStreamDecoder({ framing: 'lan', now: () => 0 });
  d.push(MDS);
  return d;
}

const reply = (objects: PollObject[], relTime = REL + 8000, objType: number = MOC.VMO_METRIC_NU, maxBytes = 1400): Buffer[] =>
  pollReplyMessages(9, { pollNumber: 1, sequenceNo: 1, relTime, objType }, objects, maxBytes);

t.test('identity from the MDS create picks the MX profile', async (t) => {
  const d = dec();
  t.same(d.identity(), { vendor: 'Philips', model: 'MX800', firmware: 'M.00.03' });
  t.equal(d.profileId(), 'philips/intellivue-mx/data-export');
});

t.test('numerics: compound NIBP, units from NOM_DIM, time from the clock anchor', async (t) => {
  const d = dec();
  const obs = reply([
    {
      handle: 10,
      avas: [
        [ATTR.ID_LABEL_STRING, string16('NBP')],
        [
          ATTR.NU_CMPD_VAL_OBS,
          nuCmpd([
            { physioId: 0x4a05, unitCode: 0x0f20, value: 120 },
            { physioId: 0x4a06, unitCode: 0x0f20, value: 80 },
            { physioId: 0x4a07, unitCode: 0x0f20, value: 93 },
          ]),
        ],
      ],
    },
    { handle: 11, avas: [[ATTR.NU_VAL_OBS, nuObs({ physioId: 0x50b0, unitCode: 0x0f03, value: 5.3, exponent: -1 })]] },
    { handle: 12, avas: [[ATTR.NU_VAL_OBS, nuObs({ physioId: 0xf04e, unitCode: 0x0200, value: 45 })]] },
    { handle: 13, avas: [[ATTR.NU_VAL_OBS, nuObs({ physioId: 0x7777, unitCode: 0x0220, value: 1 })]] },
  ]).flatMap((m) => d.push(m)) as NumericObs[];
  t.same(
    obs.map((o) => [o.mdc, o.code, o.value, o.unit]),
    [
      ['MDC_PRESS_BLD_NONINV_SYS', 150021, 120, 'mm[Hg]'],
      ['MDC_PRESS_BLD_NONINV_DIA', 150022, 80, 'mm[Hg]'],
      ['MDC_PRESS_BLD_NONINV_MEAN', 150023, 93, 'mm[Hg]'],
      ['MDC_AWAY_CO2_ET', 151728, 5.3, 'kPa'],
      ['MDC_EEG_BISPECTRAL_INDEX', null, 45, '1'],
      [null, null, 1, '%'],
    ],
  );
  t.equal(obs[0].label, 'NBP');
  t.equal(obs[0].t, ABS + 1000, 'rel + 8000 ticks = +1 s');
  t.same(obs[5].flags, ['unmapped']);
  t.equal(obs[5].vendorCode, '0x7777');
});

t.test('special FLOATs and state bits never publish numbers', async (t) => {
  const d = dec();
  const cases: [number, number | undefined, string[]][] = [
    [0, 0x007fffff, ['invalid']],
    [0, 0x00800000, ['invalid']],
    [0, 0x007ffffe, ['over-range']],
    [0, 0x00800002, ['under-range']],
    [MSMT.INVALID, undefined, ['invalid']],
    [MSMT.QUESTIONABLE, undefined, ['questionable']],
    [MSMT.UNAVAILABLE, undefined, ['invalid']],
    [MSMT.CALIBRATION_ONGOING, undefined, ['calibrating']],
  ];
  const objects = cases.map(([state, raw], i) => ({
    handle: i + 1,
    avas: [
      [ATTR.NU_VAL_OBS, nuObs({ physioId: 0x4182, unitCode: 0x0aa0, value: 77, state, ...(raw !== undefined ? { rawFloat: raw } : {}) })],
    ] as PollObject['avas'],
  }));
  objects.push({ handle: 99, avas: [[ATTR.NU_VAL_OBS, nuObs({ physioId: 0x4182, unitCode: 0x0aa0, value: 77, state: MSMT.DEMO_DATA })]] });
  const obs = reply(objects).flatMap((m) => d.push(m)) as NumericObs[];
  cases.forEach(([, , flags], i) => {
    t.equal(obs[i].value, null, `case ${i} null`);
    t.same(obs[i].flags, flags, `case ${i} flags`);
  });
  t.equal(obs[8].value, 77, 'demo data keeps its value');
  t.same(obs[8].flags, ['demo']);
});

t.test('RORLS parts are held until the final RORS, then emitted once', async (t) => {
  const d = dec();
  const objects = Array.from({ length: 30 }, (_, i) => ({
    handle: 100 + i,
    avas: [[ATTR.NU_VAL_OBS, nuObs({ physioId: 0x4182, unitCode: 0x0aa0, value: 60 + i })]] as PollObject['avas'],
  }));
  const msgs = reply(objects, REL, MOC.VMO_METRIC_NU, 200);
  t.ok(msgs.length >= 3, `${msgs.length} messages`);
  for (const m of msgs.slice(0, -1)) t.same(d.push(m), [], 'RORLS part held');
  const out = d.push(msgs[msgs.length - 1]) as NumericObs[];
  t.same(
    out.map((o) => o.value),
    objects.map((_, i) => 60 + i),
  );
  t.same(d.stats().errors, {});
});

t.test('waves: static attributes cached, scale from the monitor, pleth uncalibrated', async (t) => {
  const d = dec();
  const ecgStatic: PollObject['avas'] = [
    [ATTR.ID_TYPE, typeAttr(0x0102)],
    [ATTR.SA_SPECN, saSpec(4, 14, 0x3000)],
    [ATTR.TIME_PD_SAMP, u32(16)],
    [ATTR.SCALE_SPECN_I16, scaleSpec(-40.96, 40.955, 0, 16383)],
    [ATTR.UNIT_CODE, u16(0x10b2)],
    [ATTR.ID_LABEL_STRING, string16('II')],
  ];
  const plethStatic: PollObject['avas'] = [
    [ATTR.SA_SPECN, saSpec(2, 12, 0x8000)],
    [ATTR.TIME_PD_SAMP, u32(64)],
    [ATTR.SCALE_SPECN_I16, scaleSpec(null, null, 0, 4095)],
    [ATTR.UNIT_CODE, u16(0x0200)],
  ];
  const first = reply(
    [
      { handle: 1, avas: [...ecgStatic, [ATTR.SA_VAL_OBS, saObs(0x0102, [8192, 8392, 0xc000 | 8192, 7992])]] },
      { handle: 2, avas: [...plethStatic, [ATTR.SA_VAL_OBS, saObs(0x4bb4, [100, 4095])]] },
    ],
    REL,
    MOC.VMO_METRIC_SA_RT,
  ).flatMap((m) => d.push(m)) as WaveObs[];
  t.same(first[0].samples, [0, 1, 0, -1], 'upper flag bits masked, 0.005 mV/LSB');
  t.equal(first[0].rateHz, 500);
  t.equal(first[0].unit, 'mV');
  t.equal(first[0].mdc, 'MDC_ECG_ELEC_POTL_II');
  t.same(first[1].samples, [100, 4095]);
  t.same(first[1].flags, ['uncalibrated']);
  const next = reply([{ handle: 1, avas: [[ATTR.SA_VAL_OBS, saObs(0x0102, [8192, 8192, 8192, 8192])]] }], REL + 2048, MOC.VMO_METRIC_SA_RT).flatMap((m) =>
    d.push(m),
  ) as WaveObs[];
  t.equal(next[0].t0 - first[0].t0, 256, 'value-only reply uses the cached spec; +2048 ticks = 256 ms');
  t.equal(next[0].scale, 0.005);
});

t.test('alert lists become alarm start/end observations', async (t) => {
  const d = dec();
  const al = (list: Parameters<typeof alertList>[0], rel: number): AlarmObs[] =>
    reply(
      [
        {
          handle: 5,
          avas: [
            [ATTR.AL_MON_P_AL_LIST, alertList(list)],
            [ATTR.AL_MON_T_AL_LIST, alertList([])],
          ],
        },
      ],
      rel,
      MOC.VMO_AL_MON,
    ).flatMap((m) => d.push(m)) as AlarmObs[];
  const hi = { code: 0x4182, source: 0x4182, type: 1024, handle: 3, text: 'HR HIGH' };
  const tech = { code: 0x0200, source: 0x4bb8, type: 2, handle: 4, text: 'SpO2 NO SENSOR' };
  const a = al([hi, tech], REL);
  t.same(
    a.map((x) => [x.text, x.priority, x.source, x.phase]),
    [
      ['HR HIGH', 'high', 'physiological', 'start'],
      ['SpO2 NO SENSOR', 'medium', 'technical', 'start'],
    ],
  );
  t.same(al([hi, tech], REL + 8000), [], 'a standing alarm is not repeated');
  const b = al([hi], REL + 16000);
  t.same(
    b.map((x) => [x.text, x.phase, x.t]),
    [['SpO2 NO SENSOR', 'end', ABS + 2000]],
  );
});

t.test('bad messages are counted and never cost the next good one', async (t) => {
  const d = dec();
  const good = reply([{ handle: 1, avas: [[ATTR.NU_VAL_OBS, nuObs({ physioId: 0x4182, unitCode: 0x0aa0, value: 61 })]] }]);
  t.same(d.push(Buffer.from([0xe1, 0, 0, 2, 0, 2, 0x40, 0])), []);
  t.same(d.push(Buffer.from([0x42, 0x42, 0x42])), []);
  t.same(d.push(good[0].subarray(0, good[0].length - 3)), []);
  const out = d.push(good[0]) as NumericObs[];
  t.equal(out[0].value, 61);
  t.same(d.stats().errors, { 'short-message': 2, 'unknown-spdu': 1 });
});

t.test("timeBase 'gateway': the monitor clock offset is tracked and applied beyond the tolerance", async (t) => {
  const d = new IntelliVueStreamDecoder({ framing: 'lan', timeBase: 'gateway', clockToleranceMs: 5000 });
  d.push(MDS, ABS);
  const rx = ABS + 1000 + 60_000; // the monitor's clock is 60 s behind the gateway
  const obs = reply([{ handle: 1, avas: [[ATTR.NU_VAL_OBS, nuObs({ physioId: 0x4182, unitCode: 0x0aa0, value: 70 })]] }]).flatMap((m) =>
    d.push(m, rx),
  ) as NumericObs[];
  t.equal(obs[0].tDevice, ABS + 1000, 'device time kept');
  t.equal(obs[0].t, ABS + 1000 + 60_000, 'corrected by the tracked offset');
  t.same(obs[0].flags, ['clock-offset']);
  t.equal(d.clockOffsetMs(), -60_000);
});

t.test('fuzz: mutated real-shaped messages never throw; a good reply still decodes afterwards', async (t) => {
  let seed = 12345;
  const rnd = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const wave: PollObject['avas'] = [
    [ATTR.SA_SPECN, saSpec(4, 14)],
    [ATTR.TIME_PD_SAMP, u32(16)],
    [ATTR.SCALE_SPECN_I16, scaleSpec(-40.96, 40.955, 0, 16383)],
    [ATTR.SA_VAL_OBS, saObs(0x0102, [1, 2, 3, 4])],
  ];
  const base = [
    MDS,
    ...reply(
      [
        { handle: 1, avas: wave },
        { handle: 2, avas: [[ATTR.NU_CMPD_VAL_OBS, nuCmpd([{ physioId: 0x4a05, unitCode: 0x0f20, value: 1 }])]] },
        { handle: 3, avas: [[ATTR.AL_MON_P_AL_LIST, alertList([{ code: 1, source: 2, type: 1024, handle: 3, text: 'x' }])]] },
      ],
      REL,
      MOC.VMO_METRIC_SA_RT,
      60,
    ),
  ];
  const d = dec();
  for (let i = 0; i < 3000; i++) {
    const m = Buffer.from(base[Math.floor(rnd() * base.length)]);
    const flips = 1 + Math.floor(rnd() * 4);
    for (let k = 0; k < flips; k++) m[Math.floor(rnd() * m.length)] = Math.floor(rnd() * 256);
    const cut = rnd() < 0.3 ? m.subarray(0, Math.floor(rnd() * m.length)) : m;
    try {
      d.push(cut);
    } catch (err) {
      t.fail(`threw on case ${i}: ${(err as Error).message}`);
      return;
    }
  }
  d.decoder.resetAssociation();
  const good = reply([{ handle: 9, avas: [[ATTR.NU_VAL_OBS, nuObs({ physioId: 0x4182, unitCode: 0x0aa0, value: 88 })]] }], REL + 80000);
  const out = good.flatMap((m) => d.push(m)) as NumericObs[];
  t.equal(out.at(-1)?.value, 88);
  t.ok(Object.keys(d.stats().errors).length > 0, `errors counted: ${JSON.stringify(d.stats().errors)}`);
});
