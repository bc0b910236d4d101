/**
 * decodeEnvelope at ingest's trust boundary (regressions from test/fuzz, target ingest/envelope):
 * what it returns is canonical — numbers finite or null, alarm enums from their sets, waves with a
 * rate and a scale — and what cannot be made canonical is an EnvelopeError (dead-lettered).
 */
import t from 'tap';
import type { AlarmObs, WaveObs } from './observation.js';
import { decodeEnvelope, encodeEnvelope, EnvelopeError, type DeviceBatch, type Envelope } from './envelope.js';

const T = 1_790_000_000_000;
const env = (d: Partial<DeviceBatch>): Envelope => ({
  gatewayId: 'gw1',
  bootId: 'b1',
  seq: 1,
  sentAt: T,
  devices: [{ deviceId: 'mon1', profileId: 'p', numerics: [], waves: [], alarms: [], settings: [], ...d }],
});
const wave = (w: Partial<WaveObs>): WaveObs => ({
  kind: 'wave',
  mdc: null,
  code: null,
  unit: 'mV',
  t0: T,
  rateHz: 100,
  scale: 0.01,
  offset: 0,
  vendorCode: 'w',
  samples: [],
  ...w,
});
const alarm = (a: Partial<AlarmObs>): AlarmObs => ({
  kind: 'alarm',
  mdc: null,
  code: null,
  text: 'HR HIGH',
  priority: 'high',
  source: 'physiological',
  phase: 'start',
  t: T,
  ...a,
});

t.test('NaN / ±Infinity values arrive absent: numerics null + invalid, settings null, wave samples gaps', async (t) => {
  const back = decodeEnvelope(
    encodeEnvelope(
      env({
        numerics: [NaN, Infinity, -Infinity, 72].map((value, i) => ({
          kind: 'numeric' as const,
          mdc: null,
          code: null,
          value,
          unit: '/min',
          t: T,
          vendorCode: `n${i}`,
        })),
        settings: [{ kind: 'setting', name: 'peep', value: NaN, t: T }],
        waves: [wave({ scale: 1e308, samples: [1e308, 1.7e308] })], // ints 1, 2: 2 × 1e308 overflows
      }),
    ),
  ).devices[0];
  t.same(
    back.numerics.map((n) => [n.value, n.flags ?? []]),
    [
      [null, ['invalid']],
      [null, ['invalid']],
      [null, ['invalid']],
      [72, []],
    ],
  );
  t.equal(back.settings[0].value, null);
  t.same(back.waves[0].samples, [1e308, null]);
});

t.test('an alarm enum outside its set is an EnvelopeError (fuzz: priority "hieh")', async (t) => {
  for (const bad of [{ priority: 'hieh' }, { source: 'phisiological' }, { phase: '' }] as unknown as Partial<AlarmObs>[]) {
    t.throws(() => decodeEnvelope(encodeEnvelope(env({ alarms: [alarm(bad)] }))), EnvelopeError, JSON.stringify(bad));
  }
  t.same(decodeEnvelope(encodeEnvelope(env({ alarms: [alarm({})] }))).devices[0].alarms, [alarm({})], 'a good alarm passes');
});

t.test('a wave without a usable rate, scale or offset is an EnvelopeError (fuzz: rateHz 0, scale NaN)', async (t) => {
  for (const bad of [{ rateHz: 0 }, { rateHz: -50 }, { rateHz: NaN }, { scale: 0 }, { scale: NaN }, { offset: Infinity }] as Partial<WaveObs>[]) {
    t.throws(() => decodeEnvelope(encodeEnvelope(env({ waves: [wave(bad)] }))), EnvelopeError, JSON.stringify(bad));
  }
  t.equal(decodeEnvelope(encodeEnvelope(env({ waves: [wave({ samples: [0.1, null] })] }))).devices[0].waves[0].samples[0], 0.1, 'a good wave passes');
});
