import t from 'tap';
import { decodeEnvelope, encodeEnvelope, EnvelopeError, type Envelope } from './envelope.js';

const env: Envelope = {
  gatewayId: 'gw-or1',
  bootId: 'b1',
  seq: 42,
  sentAt: 1_700_000_000_123,
  devices: [
    {
      deviceId: 'mon1',
      profileId: 'ge/s5/dri-2003',
      numerics: [
        { kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, value: 80, unit: '/min', t: 1_700_000_000_000, vendorCode: 'basic.ecg.hr' },
        { kind: 'numeric', mdc: null, code: null, value: null, unit: '', t: 1_700_000_000_000, vendorCode: 'x.y', flags: ['invalid', 'unmapped'] },
      ],
      waves: [
        {
          kind: 'wave',
          mdc: 'MDC_ECG_ELEC_POTL_II',
          code: 131074,
          unit: 'mV',
          t0: 1_700_000_000_000,
          rateHz: 300,
          samples: [0.012, -0.5, null, 1.234],
          scale: 0.001,
          offset: 0,
          vendorCode: 'wave.1',
        },
      ],
      alarms: [{ kind: 'alarm', mdc: null, code: null, text: 'HR high', priority: 'high', source: 'physiological', phase: 'start', t: 1 }],
      settings: [
        { kind: 'setting', name: 'agent', value: 'SEV', t: 2 },
        { kind: 'setting', name: 'peep', value: 5, unit: 'cm[H2O]', t: 2 },
      ],
      status: { link: 'streaming', model: 'S/5', frames: 10, errors: 1, clockOffsetMs: -20 },
    },
  ],
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

t.test('a known field with the wrong wire type is a malformed envelope, not a skipped field', async (t) => {
  const env: Envelope = {
    gatewayId: 'gw1',
    bootId: 'b1',
    seq: 1,
    sentAt: 1_700_000_000_000,
    schemaVersion: 1,
    devices: [
      {
        deviceId: 'mon',
        profileId: 'p',
        numerics: [{ kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, vendorCode: 'hr', value: 60, unit: '/min', t: 1_700_000_000_000 }],
        waves: [],
        alarms: [],
        settings: [],
      },
    ],
  };
  const good = Buffer.from(encodeEnvelope(env));
  t.equal(decodeEnvelope(good).devices.length, 1);
  // devices (field 5, a message: wire type 2) sent as a fixed64 (wire type 1)
  const at = good.indexOf(0x2a);
  t.ok(at > 0);
  const bad = Buffer.concat([good.subarray(0, at), Buffer.from([0x29, 1, 2, 3, 4, 5, 6, 7, 8])]);
  t.throws(() => decodeEnvelope(bad), /malformed protobuf envelope: Envelope\.devices: wire type 1, declared 2/);
  // unknown field numbers stay allowed (a newer gateway's additions)
  const extra = Buffer.concat([good, Buffer.from([0xf8, 0x07, 0x01])]); // field 127, varint 1
  t.equal(decodeEnvelope(extra).devices.length, 1);
});
