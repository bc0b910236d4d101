import t from 'tap';
import type { Profile } from '../../../schemas/src/profile.js';
import { ProfileMapper, UNMAPPED_UNIT } from './map.js';

const profile: Profile = {
  id: 'x/y',
  vendor: 'V',
  models: ['m'],
  protocol: 'p',
  match: { priority: 1 },
  numerics: {
    hr: { mdc: 'MDC_ECG_HEART_RATE', code: 147842, unit: '/min' },
    etco2: { mdc: 'MDC_CONC_AWAY_CO2_ET', code: 151708, unit: 'mm[Hg]', convert: 'pct-to-mmHg-ambient' },
    ptc: { mdc: 'MDC_X_PTC', code: null, unit: '1', valid: { min: 0, max: 100 } },
    kpa: { mdc: 'MDC_X_K', code: null, unit: 'mm[Hg]', scale: 7.50062 },
    p: {
      mdc: 'MDC_PRESS_BLD_MEAN',
      code: 150019,
      unit: 'mm[Hg]',
      byLabel: { CVP: { mdc: 'MDC_PRESS_BLD_VEN_CENT_MEAN', code: 150087 }, X: { mdc: 'MDC_X', code: null, unit: 'cm[H2O]' } },
    },
  },
  waves: { w: { mdc: 'MDC_PULS_OXIM_PLETH', code: 150452, unit: '%', scale: 0.01, rateHz: 125, uncalibrated: true } },
};

t.test('numerics: scale, label variants, conversions, validity', async (t) => {
  const m = new ProfileMapper(profile);
  t.same(m.numeric({ vendorCode: 'hr', value: 61, t: 5, tDevice: 4 }), {
    kind: 'numeric',
    mdc: 'MDC_ECG_HEART_RATE',
    code: 147842,
    value: 61,
    unit: '/min',
    t: 5,
    tDevice: 4,
    vendorCode: 'hr',
  });
  t.equal(m.numeric({ vendorCode: 'kpa', value: 5, t: 0 }).value, 37.5031);
  const cvp = m.numeric({ vendorCode: 'p', value: 8, label: 'CVP', t: 0 });
  t.same([cvp.mdc, cvp.code, cvp.unit, cvp.label], ['MDC_PRESS_BLD_VEN_CENT_MEAN', 150087, 'mm[Hg]', 'CVP']);
  t.same([m.numeric({ vendorCode: 'p', value: 8, label: 'X', t: 0 }).unit], ['cm[H2O]']);
  t.same([m.numeric({ vendorCode: 'p', value: 8, label: 'P4', t: 0 }).mdc], ['MDC_PRESS_BLD_MEAN']);
  const co2 = m.numeric({ vendorCode: 'etco2', value: 4.87, ambPressMmHg: 759.8, t: 0 });
  t.same([co2.value, co2.unit], [37, 'mm[Hg]']);
  const pct = m.numeric({ vendorCode: 'etco2', value: 4.87, t: 0 });
  t.same([pct.value, pct.unit], [4.87, '%'], 'no ambient pressure: honest %');
  const bad = m.numeric({ vendorCode: 'ptc', value: -29185, t: 0 });
  t.same([bad.value, bad.flags], [null, ['invalid']]);
  const marker = m.numeric({ vendorCode: 'hr', value: null, flags: ['over-range'], t: 0 });
  t.same([marker.value, marker.flags], [null, ['over-range']]);
});

t.test('unmapped codes are kept and counted, never dropped', async (t) => {
  const m = new ProfileMapper(profile);
  const u = m.numeric({ vendorCode: 'zz.top', value: 3, t: 1 });
  t.same(u, { kind: 'numeric', mdc: null, code: null, value: 3, unit: UNMAPPED_UNIT, t: 1, vendorCode: 'zz.top', flags: ['unmapped'] });
  m.numeric({ vendorCode: 'zz.top', value: 4, t: 2 });
  const w = m.wave({ vendorCode: 'wave.99', ints: [1, null], rateHz: 10, t0: 0 });
  t.same([w.mdc, w.code, w.unit, w.samples, w.scale, w.flags], [null, null, UNMAPPED_UNIT, [1, null], 1, ['unmapped']]);
  t.same(m.unmapped(), { 'zz.top': 2, 'wave.99': 1 });
});

t.test('waves: scale, profile rate, uncalibrated flag', async (t) => {
  const w = new ProfileMapper(profile).wave({ vendorCode: 'w', ints: [100, -5, null], rateHz: 100, t0: 7, flags: ['discontinuity'] });
  t.same(w, {
    kind: 'wave',
    mdc: 'MDC_PULS_OXIM_PLETH',
    code: 150452,
    unit: '%',
    t0: 7,
    rateHz: 125,
    samples: [1, -0.05, null],
    scale: 0.01,
    offset: 0,
    vendorCode: 'w',
    flags: ['discontinuity', 'uncalibrated'],
  });
});
