/**
 * Abstract suite every SeriesStore passes (memory, influx-v1 against a real influxd).
 * `make` returns a fresh, opened store on an empty database.
 */
import type { Test } from 'tap';
import type { Envelope } from '../../../schemas/src/envelope.js';
import { envelopeToPoints, type Where } from './layout.js';
import type { SeriesStore } from './types.js';

export interface SuiteTarget { store: SeriesStore; cleanup(): Promise<void> }

const where: Where = { site: 'site A', room: 'OR,1', bed: 'bed=1' };

export function sampleEnvelope(base: number, seq = 1): Envelope {
  return {
    gatewayId: 'gw1', bootId: 'boot1', seq, sentAt: base + 900, devices: [{
      deviceId: 'mon 1', profileId: 'p',
      numerics: [
        { kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, value: 72, unit: '/min', t: base, vendorCode: 'hr' },
        { kind: 'numeric', mdc: 'MDC_PRESS_BLD_ART_ABP_SYS', code: 150037, value: 121.5, unit: 'mm[Hg]', t: base, vendorCode: 'p1.sys', label: 'ART "a",\\b\nc', tDevice: base - 20 },
        { kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, value: 73, unit: '/min', t: base + 1000, vendorCode: 'hr', flags: ['artifact'] },
        { kind: 'numeric', mdc: null, code: null, value: 4.25, unit: '', t: base, vendorCode: 'vend x' },
        { kind: 'numeric', mdc: 'MDC_PULS_OXIM_SAT_O2', code: 150456, value: null, unit: '%', t: base, vendorCode: 'spo2' },
      ],
      waves: [
        { kind: 'wave', mdc: 'MDC_ECG_ELEC_POTL_II', code: 131074, unit: 'mV', t0: base, rateHz: 5, scale: 0.001, offset: 0, vendorCode: 'ecg2', samples: [0.012, -0.5, null, 1.234, 40.001] },
        { kind: 'wave', mdc: 'MDC_ECG_ELEC_POTL_II', code: 131074, unit: 'mV', t0: base + 1000, rateHz: 5, scale: 0.001, offset: 0, vendorCode: 'ecg2', samples: [1, 2, 3, -2147.483, 0] },
      ],
      alarms: [{ kind: 'alarm', mdc: null, code: null, text: 'LEADS "OFF"\nII', priority: 'medium', source: 'technical', phase: 'start', t: base + 10, vendorCode: 'leads' }],
      settings: [
        { kind: 'setting', name: 'PEEP', value: 5, unit: 'cm[H2O]', t: base + 20 },
        { kind: 'setting', name: 'agent', value: 'SEV', t: base + 20 },
      ],
    }],
  };
}

export function seriesSuite(t: Test, make: () => Promise<SuiteTarget>): void {
  const base = Math.floor((Date.now() - 120_000) / 1000) * 1000;

  t.test('numerics round trip exactly, absent as null, unmapped as mdc null', async (t) => {
    const { store, cleanup } = await make();
    t.teardown(cleanup);
    const env = sampleEnvelope(base);
    const res = await store.write(envelopeToPoints(env, where));
    t.equal(res.points, 10);
    const r = await store.query({ bed: 'bed=1', from: base, to: base + 2000, kinds: ['numeric'] });
    t.equal(r.numerics.length, 5);
    const byKey = new Map(r.numerics.map((n) => [`${n.mdc ?? n.vendorCode}@${n.t}`, n]));
    const hr = byKey.get(`MDC_ECG_HEART_RATE@${base}`);
    t.same(hr, { kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, value: 72, unit: '/min', t: base, vendorCode: 'hr', site: 'site A', room: 'OR,1', bed: 'bed=1', device: 'mon 1' });
    t.strictSame(byKey.get(`MDC_ECG_HEART_RATE@${base + 1000}`)?.flags, ['artifact']);
    const art = byKey.get(`MDC_PRESS_BLD_ART_ABP_SYS@${base}`);
    t.equal(art?.label, 'ART "a",\\b\nc');
    t.equal(art?.tDevice, base - 20);
    t.equal(art?.value, 121.5);
    const un = byKey.get(`vend x@${base}`);
    t.equal(un?.mdc, null);
    t.equal(un?.code, null);
    t.equal(un?.value, 4.25);
    t.strictSame(un?.flags, ['unmapped']);
    const spo2 = byKey.get(`MDC_PULS_OXIM_SAT_O2@${base}`);
    t.equal(spo2?.value, null);
    t.strictSame(spo2?.flags, ['invalid']);
    t.ok(r.numerics.every((n, i) => i === 0 || r.numerics[i - 1].t <= n.t), 'sorted by time');
  });

  t.test('window, bed and mdc filters', async (t) => {
    const { store, cleanup } = await make();
    t.teardown(cleanup);
    await store.write(envelopeToPoints(sampleEnvelope(base), where));
    await store.write(envelopeToPoints(sampleEnvelope(base), { ...where, bed: 'other' }));
    const a = await store.query({ bed: 'bed=1', from: base + 1, to: base + 1000, kinds: ['numeric'] });
    t.same(a.numerics.map((n) => n.value), [73], 'from/to inclusive, other bed excluded');
    const b = await store.query({ bed: 'bed=1', from: base, to: base + 5000, mdcs: ['MDC_ECG_HEART_RATE', 'vend x'] });
    t.same(b.numerics.map((n) => n.value).sort(), [4.25, 72, 73]);
    t.equal(b.waves.length, 0);
    t.equal(b.settings.length, 2, 'settings are not filtered by mdc');
    const none = await store.query({ bed: 'nobed', from: base, to: base + 5000 });
    t.same(none, { numerics: [], waves: [], alarms: [], settings: [] });
  });

  t.test('waves: one point per block, exact samples with gaps', async (t) => {
    const { store, cleanup } = await make();
    t.teardown(cleanup);
    await store.write(envelopeToPoints(sampleEnvelope(base), where));
    const r = await store.query({ bed: 'bed=1', from: base, to: base + 5000, kinds: ['wave'] });
    t.equal(r.waves.length, 2);
    t.same(r.waves[0].samples, [0.012, -0.5, null, 1.234, 40.001]);
    t.same(r.waves[1].samples, [1, 2, 3, -2147.483, 0]);
    t.equal(r.waves[0].t0, base);
    t.equal(r.waves[0].rateHz, 5);
    t.equal(r.waves[0].mdc, 'MDC_ECG_ELEC_POTL_II');
    t.equal(r.waves[0].unit, 'mV');
  });

  t.test('alarms and settings round trip', async (t) => {
    const { store, cleanup } = await make();
    t.teardown(cleanup);
    await store.write(envelopeToPoints(sampleEnvelope(base), where));
    const r = await store.query({ bed: 'bed=1', from: base, to: base + 5000, kinds: ['alarm', 'setting'] });
    t.same(r.alarms, [{ kind: 'alarm', mdc: null, code: null, text: 'LEADS "OFF"\nII', priority: 'medium', source: 'technical', phase: 'start', t: base + 10, vendorCode: 'leads', site: 'site A', room: 'OR,1', bed: 'bed=1', device: 'mon 1' }]);
    t.same(r.settings.map((s) => [s.name, s.value, s.unit]), [['PEEP', 5, 'cm[H2O]'], ['agent', 'SEV', undefined]]);
  });

  t.test('same series + time overwrites: replays are idempotent', async (t) => {
    const { store, cleanup } = await make();
    t.teardown(cleanup);
    const env = sampleEnvelope(base);
    await store.write(envelopeToPoints(env, where));
    await store.write(envelopeToPoints(env, where));
    env.devices[0].numerics[0].value = 99;
    await store.write(envelopeToPoints(env, where));
    const r = await store.query({ bed: 'bed=1', from: base, to: base + 5000 });
    t.equal(r.numerics.length, 5);
    t.equal(r.waves.length, 2);
    t.equal(r.numerics.find((n) => n.mdc === 'MDC_ECG_HEART_RATE' && n.t === base)?.value, 99);
  });

  t.test('ping answers', async (t) => {
    const { store, cleanup } = await make();
    t.teardown(cleanup);
    t.equal(await store.ping(), true);
  });
}
