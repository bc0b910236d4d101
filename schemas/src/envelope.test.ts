import t from 'tap';
import { decodeEnvelope, encodeEnvelope, EnvelopeError, type Envelope } from './envelope.js';

const env: Envelope = {
  gatewayId: 'gw-or1', bootId: 'b1', seq: 42, sentAt: 1_700_000_000_123,
  devices: [{
    deviceId: 'mon1', profileId: 'ge/s5/dri-2003',
    numerics: [
      { kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, value: 80, unit: '/min', t: 1_700_000_000_000, vendorCode: 'basic.ecg.hr' },
      { kind: 'numeric', mdc: null, code: null, value: null, unit: '', t: 1_700_000_000_000, vendorCode: 'x.y', flags: ['invalid', 'unmapped'] },
    ],
    waves: [{
      kind: 'wave', mdc: 'MDC_ECG_ELEC_POTL_II', code: 131074, unit: 'mV', t0: 1_700_000_000_000, rateHz: 300,
      samples: [0.012, -0.5, null, 1.234], scale: 0.001, offset: 0, vendorCode: 'wave.1',
    }],
    alarms: [{ kind: 'alarm', mdc: null, code: null, text: 'HR high', priority: 'high', source: 'physiological', phase: 'start', t: 1 }],
    settings: [{ kind: 'setting', name: 'agent', value: 'SEV', t: 2 }, { kind: 'setting', name: 'peep', value: 5, unit: 'cm[H2O]', t: 2 }],
    status: { link: 'streaming', model: 'S/5', frames: 10, errors: 1, clockOffsetMs: -20 },
  }],
};

t.test('round trip keeps every field and exact wave samples', async (t) => {
  const back = decodeEnvelope(encodeEnvelope(env));
  t.equal(back.seq, 42);
  t.same(back.devices[0].numerics, env.devices[0].numerics);
  t.same(back.devices[0].waves[0].samples, [0.012, -0.5, null, 1.234]);
  t.same(back.devices[0].alarms, env.devices[0].alarms);
  t.same(back.devices[0].settings, env.devices[0].settings);
  t.equal(back.devices[0].status?.clockOffsetMs, -20);
});

t.test('garbage and unknown versions are typed errors', async (t) => {
  t.throws(() => decodeEnvelope(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])), EnvelopeError);
  t.throws(() => decodeEnvelope(encodeEnvelope({ ...env, schemaVersion: 99 })), EnvelopeError);
  t.throws(() => decodeEnvelope(new Uint8Array(0)), EnvelopeError);
});
