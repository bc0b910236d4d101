/**
 * Abstract suite every SeriesStore passes (memory, influx-v1 against a real influxd, influx-v2
 * against a fake 2.x front of a real influxd). `make` returns a fresh, opened store on an empty
 * database; `bulk` asks for one that writes large batches (the large-result case writes 150k points).
 */
import type { Test } from 'tap';
import type { Envelope } from '../../../schemas/src/envelope.js';
import { envelopeToPoints, type Where } from './layout.js';
import type { NumericObs } from '../../../schemas/src/observation.js';
import type { SeriesStore } from './types.js';

export interface SuiteTarget {
  store: SeriesStore;
  cleanup(): Promise<void>;
}

const where: Where = { site: 'site A', room: 'OR,1', bed: 'bed=1' };

export function sampleEnvelope(base: number, seq = 1): Envelope {
  return {
    gatewayId: 'gw1',
    bootId: 'boot1',
    seq,
    sentAt: base + 900,
    devices: [
      {
        deviceId: 'mon 1',
        profileId: 'p',
        numerics: [
          { kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, value: 72, unit: '/min', t: base, vendorCode: 'hr' },
          {
            kind: 'numeric',
            mdc: 'MDC_PRESS_BLD_ART_ABP_SYS',
            code: 150037,
            value: 121.5,
            unit: 'mm[Hg]',
            t: base,
            vendorCode: 'p1.sys',
            label: 'ART "a",\\b\nc',
            tDevice: base - 20,
          },
          { kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, value: 73, unit: '/min', t: base + 1000, vendorCode: 'hr', flags: ['artifact'] },
          { kind: 'numeric', mdc: null, code: null, value: 4.25, unit: '', t: base, vendorCode: 'vend x' },
          { kind: 'numeric', mdc: 'MDC_PULS_OXIM_SAT_O2', code: 150456, value: null, unit: '%', t: base, vendorCode: 'spo2' },
        ],
        waves: [
          {
            kind: 'wave',
            mdc: 'MDC_ECG_ELEC_POTL_II',
            code: 131074,
            unit: 'mV',
            t0: base,
            rateHz: 5,
            scale: 0.001,
            offset: 0,
            vendorCode: 'ecg2',
            samples: [0.012, -0.5, null, 1.234, 40.001],
          },
          {
            kind: 'wave',
            mdc: 'MDC_ECG_ELEC_POTL_II',
            code: 131074,
            unit: 'mV',
            t0: base + 1000,
            rateHz: 5,
            scale: 0.001,
            offset: 0,
            vendorCode: 'ecg2',
            samples: [1, 2, 3, -2147.483, 0],
          },
        ],
        alarms: [
          {
            kind: 'alarm',
            mdc: null,
            code: null,
            text: 'LEADS "OFF"\nII',
            priority: 'medium',
            source: 'technical',
            phase: 'start',
            t: base + 10,
            vendorCode: 'leads',
          },
        ],
        settings: [
          { kind: 'setting', name: 'PEEP', value: 5, unit: 'cm[H2O]', t: base + 20 },
          { kind: 'setting', name: 'agent', value: 'SEV', t: base + 20 },
        ],
      },
    ],
  };
}

export function seriesSuite(t: Test, make: (o?: { bulk?: boolean }) => Promise<SuiteTarget>): void {
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
    t.same(hr, {
      kind: 'numeric',
      mdc: 'MDC_ECG_HEART_RATE',
      code: 147842,
      value: 72,
      unit: '/min',
      t: base,
      vendorCode: 'hr',
      site: 'site A',
      room: 'OR,1',
      bed: 'bed=1',
      device: 'mon 1',
    });
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
    t.ok(
      r.numerics.every((n, i) => i === 0 || r.numerics[i - 1].t <= n.t),
      'sorted by time',
    );
  });

  t.test('window, bed and mdc filters', async (t) => {
    const { store, cleanup } = await make();
    t.teardown(cleanup);
    await store.write(envelopeToPoints(sampleEnvelope(base), where));
    await store.write(envelopeToPoints(sampleEnvelope(base), { ...where, bed: 'other' }));
    const a = await store.query({ bed: 'bed=1', from: base + 1, to: base + 1000, kinds: ['numeric'] });
    t.same(
      a.numerics.map((n) => n.value),
      [73],
      'from/to inclusive, other bed excluded',
    );
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
    t.same(r.alarms, [
      {
        kind: 'alarm',
        mdc: null,
        code: null,
        text: 'LEADS "OFF"\nII',
        priority: 'medium',
        source: 'technical',
        phase: 'start',
        t: base + 10,
        vendorCode: 'leads',
        site: 'site A',
        room: 'OR,1',
        bed: 'bed=1',
        device: 'mon 1',
      },
    ]);
    t.same(
      r.settings.map((s) => [s.name, s.value, s.unit]),
      [
        ['PEEP', 5, 'cm[H2O]'],
        ['agent', 'SEV', undefined],
      ],
    );
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

  t.test('limit: the earliest items of each kind by time', async (t) => {
    const { store, cleanup } = await make();
    t.teardown(cleanup);
    for (let i = 0; i < 4; i++) await store.write(envelopeToPoints(sampleEnvelope(base + i * 2000, i + 1), where));
    const r = await store.query({ bed: 'bed=1', from: base, to: base + 60_000, limit: 3 });
    t.equal(r.numerics.length, 3);
    t.ok(
      r.numerics.every((n) => n.t === base),
      'the 4 numerics at base are the earliest: 3 of them',
    );
    t.same(
      r.waves.map((w) => w.t0),
      [base, base + 1000, base + 2000],
    );
    t.same(
      r.alarms.map((a) => a.t),
      [base + 10, base + 2010, base + 4010],
    );
    t.same(
      r.settings.map((x) => x.t),
      [base + 20, base + 20, base + 2020],
    );
    const all = await store.query({ bed: 'bed=1', from: base, to: base + 60_000, limit: 1000 });
    t.equal(all.numerics.length, 20, 'a limit above the count returns everything');
  });

  t.test('latest numerics: the newest point of each series in the window, whatever its value', async (t) => {
    const { store, cleanup } = await make();
    t.teardown(cleanup);
    await store.write(envelopeToPoints(sampleEnvelope(base), where));
    await store.write(envelopeToPoints(sampleEnvelope(base), { ...where, bed: 'other' }));
    const hr = (value: number | null, at: number, vendorCode = 'hr'): NumericObs => ({
      kind: 'numeric',
      mdc: 'MDC_ECG_HEART_RATE',
      code: 147842,
      value,
      unit: '/min',
      t: at,
      vendorCode,
    });
    const env = sampleEnvelope(base, 2);
    env.devices[0] = { ...env.devices[0], numerics: [hr(null, base + 3000), hr(55, base + 2000, 'hr2')], waves: [], alarms: [], settings: [] };
    await store.write(envelopeToPoints(env, where));

    const r = await store.latestNumerics({ bed: 'bed=1', from: base, to: base + 5000 });
    t.same(
      r.map((n) => [n.vendorCode, n.t, n.value]),
      [
        ['p1.sys', base, 121.5],
        ['spo2', base, null],
        ['vend x', base, 4.25],
        ['hr2', base + 2000, 55],
        ['hr', base + 3000, null],
      ],
      'one per series (two vendor channels of one MDC stay two), sorted by time',
    );
    const newestHr = r.find((n) => n.vendorCode === 'hr');
    t.strictSame(newestHr?.flags, ['invalid'], 'a newest point without a value is null and flagged, not an older value');
    t.same(newestHr && { mdc: newestHr.mdc, unit: newestHr.unit, device: newestHr.device, bed: newestHr.bed, room: newestHr.room, site: newestHr.site }, {
      mdc: 'MDC_ECG_HEART_RATE',
      unit: '/min',
      device: 'mon 1',
      bed: 'bed=1',
      room: 'OR,1',
      site: 'site A',
    });
    const art = r.find((n) => n.vendorCode === 'p1.sys');
    t.equal(art?.label, 'ART "a",\\b\nc');
    t.equal(art?.tDevice, base - 20);
    t.strictSame(r.find((n) => n.vendorCode === 'vend x')?.flags, ['unmapped']);
    t.equal(r.find((n) => n.vendorCode === 'vend x')?.mdc, null);

    const earlier = await store.latestNumerics({ bed: 'bed=1', from: base + 1, to: base + 2500 });
    t.same(
      earlier.map((n) => [n.vendorCode, n.t, n.value, n.flags]),
      [
        ['hr', base + 1000, 73, ['artifact']],
        ['hr2', base + 2000, 55, undefined],
      ],
      'window bounds inclusive',
    );
    t.same(
      (await store.latestNumerics({ bed: 'bed=1', from: base, to: base + 5000, mdcs: ['vend x'] })).map((n) => n.value),
      [4.25],
    );
    t.same(await store.latestNumerics({ bed: 'nobed', from: base, to: base + 5000 }), []);
  });

  t.test('aggregateNumerics: per-bucket mean and count in the database, epoch-aligned, nulls not counted', async (t) => {
    const { store, cleanup } = await make();
    t.teardown(cleanup);
    const t0 = Math.floor(base / 300_000) * 300_000 - 600_000; // a 5-min boundary
    const num = (vendorCode: string, mdc: string | null, value: number | null, at: number, flags?: NumericObs['flags']): NumericObs => ({
      kind: 'numeric',
      mdc,
      code: mdc ? 1 : null,
      value,
      unit: '/min',
      t: at,
      vendorCode,
      ...(flags ? { flags } : {}),
    });
    const numerics: NumericObs[] = [];
    // hr: 1 Hz for 130 s, value = 60 + (s mod 8) / 4 (binary fractions: every mean is exact)
    for (let s = 0; s < 130; s++) numerics.push(num('hr', 'MDC_ECG_HEART_RATE', 60 + (s % 8) / 4, t0 + s * 1000 + 250));
    // spo2: a value, a null (invalid) and a flagged value in bucket 0; only nulls in bucket 1
    numerics.push(
      num('spo2', 'MDC_PULS_OXIM_SAT_O2', 97, t0 + 10_000),
      num('spo2', 'MDC_PULS_OXIM_SAT_O2', null, t0 + 20_000),
      num('spo2', 'MDC_PULS_OXIM_SAT_O2', 91, t0 + 30_000, ['artifact']),
      num('spo2', 'MDC_PULS_OXIM_SAT_O2', null, t0 + 70_000),
    );
    numerics.push(num('vx', null, 2.5, t0 + 5000), num('vx', null, 3.5, t0 + 6000));
    const env = {
      gatewayId: 'gw1',
      bootId: 'b',
      seq: 1,
      sentAt: t0,
      devices: [{ deviceId: 'mon 1', profileId: 'p', numerics, waves: [], alarms: [], settings: [] }],
    };
    await store.write(envelopeToPoints(env, where));
    await store.write(envelopeToPoints({ ...env, seq: 2 }, { ...where, bed: 'other' }));

    const m = await store.aggregateNumerics({ bed: 'bed=1', from: t0, to: t0 + 200_000, bucketMs: 60_000 });
    const hrMean = (from: number, to: number) => {
      let sum = 0;
      for (let s = from; s < to; s++) sum += 60 + (s % 8) / 4;
      return sum / (to - from);
    };
    t.same(
      m.filter((a) => a.vendorCode === 'hr').map((a) => [a.t, a.value, a.count]),
      [
        [t0, hrMean(0, 60), 60],
        [t0 + 60_000, hrMean(60, 120), 60],
        [t0 + 120_000, hrMean(120, 130), 10],
      ],
      'one row per minute, last minute partial',
    );
    t.same(
      m.filter((a) => a.vendorCode === 'spo2').map((a) => [a.t, a.value, a.count]),
      [[t0, 94, 2]],
      'nulls not counted, flagged values averaged in, a bucket of nulls only is absent',
    );
    const vx = m.find((a) => a.vendorCode === 'vx');
    t.same(
      vx && [vx.mdc, vx.value, vx.count, vx.unit, vx.device, vx.bed, vx.site, vx.room],
      [null, 3, 2, '/min', 'mon 1', 'bed=1', 'site A', 'OR,1'],
      'unmapped stays mdc null',
    );
    t.ok(
      m.every((a, i) => i === 0 || m[i - 1].t <= a.t),
      'sorted by time',
    );

    const w = await store.aggregateNumerics({ bed: 'bed=1', from: t0 + 30_000, to: t0 + 89_999, bucketMs: 60_000, mdcs: ['MDC_ECG_HEART_RATE'] });
    t.same(
      w.map((a) => [a.t, a.value, a.count]),
      [
        [t0, hrMean(30, 60), 30],
        [t0 + 60_000, hrMean(60, 90), 30],
      ],
      'window clips the buckets; mdc filter',
    );
    const five = await store.aggregateNumerics({ bed: 'bed=1', from: t0 - 1000, to: t0 + 200_000, bucketMs: 300_000, mdcs: ['MDC_ECG_HEART_RATE'] });
    t.same(
      five.map((a) => [a.t, a.value, a.count]),
      [[t0, hrMean(0, 130), 130]],
      '5-min buckets start at multiples of 5 min',
    );
    const one = await store.aggregateNumerics({ bed: 'bed=1', from: t0, to: t0 + 2999, bucketMs: 1000, mdcs: ['MDC_ECG_HEART_RATE'] });
    t.same(
      one.map((a) => [a.t, a.value, a.count]),
      [
        [t0, 60, 1],
        [t0 + 1000, 60.25, 1],
        [t0 + 2000, 60.5, 1],
      ],
      '1 s buckets',
    );
    t.same(await store.aggregateNumerics({ bed: 'nobed', from: t0, to: t0 + 200_000, bucketMs: 60_000 }), []);
  });

  t.test('large result: 150k numerics in one query, complete and in order; limit; latest', async (t) => {
    const { store, cleanup } = await make({ bulk: true });
    t.teardown(cleanup);
    const params = ['a', 'b', 'c', 'd', 'e'];
    const seconds = 30_000;
    const t0 = base - 40_000_000;
    const valueOf = (k: number, i: number) => k * 1000 + (i % 997) / 4;
    for (let i = 0; i < seconds; i += 2000) {
      const numerics: NumericObs[] = [];
      for (let j = i; j < i + 2000; j++) {
        params.forEach((p, k) =>
          numerics.push({ kind: 'numeric', mdc: `MDC_${p}`, code: k, value: valueOf(k, j), unit: '1', t: t0 + j * 1000, vendorCode: p }),
        );
      }
      const env = {
        gatewayId: 'gw1',
        bootId: 'b',
        seq: i,
        sentAt: t0,
        devices: [{ deviceId: 'big', profileId: 'p', numerics, waves: [], alarms: [], settings: [] }],
      };
      const res = await store.write(envelopeToPoints(env, where));
      t.equal(res.points, 10_000, `batch ${i / 2000}`, { diagnostic: false });
    }
    const to = t0 + seconds * 1000;
    const r = await store.query({ bed: 'bed=1', from: t0, to, kinds: ['numeric'] });
    t.equal(r.numerics.length, params.length * seconds, 'every point');
    let ordered = true;
    let exact = true;
    for (let i = 0; i < r.numerics.length; i++) {
      const n = r.numerics[i];
      if (i > 0 && r.numerics[i - 1].t > n.t) ordered = false;
      const k = params.indexOf(n.vendorCode);
      if (n.value !== valueOf(k, (n.t - t0) / 1000) || n.device !== 'big') exact = false;
    }
    t.ok(ordered, 'sorted by time');
    t.ok(exact, 'every value exact');
    const page = await store.query({ bed: 'bed=1', from: t0, to, kinds: ['numeric'], limit: 60_000 });
    t.equal(page.numerics.length, 60_000);
    t.equal(page.numerics[59_999].t, t0 + 11_999_000, 'the earliest 60k: 12,000 s of 5 parameters');
    const latest = await store.latestNumerics({ bed: 'bed=1', from: t0, to });
    t.same(
      latest.map((n) => [n.vendorCode, n.t, n.value]),
      params.map((p, k) => [p, to - 1000, valueOf(k, seconds - 1)]),
    );
  });

  t.test('ping answers', async (t) => {
    const { store, cleanup } = await make();
    t.teardown(cleanup);
    t.equal(await store.ping(), true);
  });
}
