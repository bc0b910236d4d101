/**
 * Hostile MQTT payloads from a logged-in gateway (`gw-p`, its own bed) against the real stack:
 * malformed / truncated protobuf, wrong schema version and wire types, a packet over
 * maxPacketBytes (also one announcing 100 MiB), an oversized status, retained data, wrong topics,
 * an envelope over maxReadingsPerEnvelope, 5,000 new codes (series budget), devices that are not
 * its own. Each: the coded answer (dead letter with its code, or the connection closed), the counter
 * on GET /metrics, and the good gateway's readings stored before and after.
 */
import t, { type Test } from 'tap';
import type { MqttClient } from 'mqtt';
import { encodeEnvelope, type Envelope } from '../../schemas/src/envelope.js';
import type { NumericObs } from '../../schemas/src/observation.js';
import { delta, GOOD, GOOD_DATA, hr, PREFIX, startStack } from './stack.js';
import { onlineStatus } from '../helpers/status-docs.js';

const MAX_PACKET = 256 * 1024;
const MAX_STATUS = 4096;
const MAX_READINGS = 10_000;
const s = await startStack(t, 'mqtt_payloads', {
  limits: { maxPacketBytes: MAX_PACKET, maxStatusBytes: MAX_STATUS },
  intake: { maxReadingsPerEnvelope: MAX_READINGS, maxNewSeriesPerGatewayHour: 1000 },
});
const pwP = await s.registerGateway({ room: 'or5', bed: 'bed5', gatewayId: 'gw-p', deviceId: 'mon-p' });
const P = `${PREFIX}/main/or5/bed5/gw-p`;
const COUNTERS = [
  'envelopes_received_total',
  'envelopes_written_total',
  'envelopes_dead_lettered_total',
  'envelopes_over_cap_total',
  'series_budget_refused_total',
  'device_wrong_gateway_total',
  'mqtt_packet_too_large_total',
  'mqtt_status_too_large_total',
  'mqtt_retain_denied_total',
  'broker_publish_denied',
  'mqtt_protocol_errors_total',
  'known_series',
  'dead_letters',
] as const;
let seq = 0;
const env = (devices: Envelope['devices'], o: Partial<Envelope> = {}): Envelope => ({
  gatewayId: 'gw-p',
  bootId: 'boot-p',
  seq: ++seq,
  sentAt: Date.now(),
  devices,
  ...o,
});
const bytes = (e: Envelope) => Buffer.from(encodeEnvelope(e));

interface DeadLetter {
  id: number;
  topic: string;
  code: string;
  reason: string;
  gatewayId: string | null;
  payload: string;
}
const deadLetterIds = async () => new Set((await s.api<{ items: DeadLetter[] }>('GET', '/dead-letters?limit=1000')).items.map((d) => d.id));
const newDeadLetters = async (before: Set<number>) =>
  (await s.api<{ items: DeadLetter[] }>('GET', '/dead-letters?limit=1000')).items.filter((d) => !before.has(d.id));

/** a fresh session of gw-p (the same client id: the previous one is taken over, no session limit) */
const attacker = () => s.connect('gw-p', pwP, 'gw-p-1');

/** QoS 1 publish: 'acked' (PUBACK) or 'closed' (the broker closed the connection), within 15 s */
function publish(c: MqttClient, topic: string, payload: Buffer, o: { retain?: boolean } = {}): Promise<'acked' | 'closed' | 'timeout'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), 15_000);
    c.once('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    c.publish(topic, payload, { qos: 1, retain: o.retain ?? false }, (err) => {
      if (!err) {
        clearTimeout(timer);
        resolve('acked');
      }
    });
  });
}

/** runs one probe between two good readings; returns the counter deltas and the new dead letters */
async function probe(t: Test, fn: () => Promise<void>) {
  const dl = await deadLetterIds();
  const before = await s.metrics(COUNTERS);
  await s.guarded(t, fn);
  const d = delta(before, await s.metrics(COUNTERS));
  return { d, dead: await newDeadLetters(dl) };
}

const goodLatestHr = async () => (await s.api('GET', `/beds/${GOOD.bed}/latest`)).numerics.find((n: { mdc: string }) => n.mdc === 'MDC_ECG_HEART_RATE');

t.test('malformed, truncated, wrong schema version, wrong wire types: dead-lettered ING_ERR_ENVELOPE (acked), counted, nothing stored', async (t) => {
  const valid = bytes(env([hr(Date.now() - 1000, 250, 'mon-p')]));
  const cases: [string, Buffer][] = [
    ['garbage bytes', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x99])],
    ['truncated envelope', valid.subarray(0, Math.floor(valid.length / 2))],
    ['schema_version 2', bytes(env([hr(Date.now() - 1000, 250, 'mon-p')], { schemaVersion: 2 }))],
    ['no gateway_id/boot_id/seq', Buffer.from([0x30, 0x01])],
    ['gateway_id as a varint', Buffer.concat([Buffer.from([0x08, 0x05]), valid.subarray(valid.indexOf(0x12))])],
    ['empty payload', Buffer.alloc(0)],
  ];
  const c = await attacker();
  const { d, dead } = await probe(t, async () => {
    for (const [name, payload] of cases) t.equal(await publish(c, `${P}/data`, payload), 'acked', `${name}: acked (a poison message must not block the queue)`);
  });
  t.equal(d.envelopes_dead_lettered_total, cases.length, 'each dead-lettered');
  t.equal(d.dead_letters, cases.length, 'dead_letters gauge');
  t.equal(d.envelopes_written_total, 2, 'only the two good envelopes written');
  t.same(
    dead.map((x) => x.code),
    cases.map(() => 'ING_ERR_ENVELOPE'),
    'every dead letter coded ING_ERR_ENVELOPE',
  );
  t.ok(
    dead.every((x) => x.topic === `${P}/data` && x.reason.length > 0),
    'with topic and reason',
  );
  t.match(dead.map((x) => x.reason).join('\n'), /unknown schema_version 2/);
  t.equal((await s.api('GET', '/beds/bed5/latest')).numerics.length, 0, "nothing stored for the attacker's bed");
});

/** field 5 (devices) sent as a fixed64 instead of a message: protobufjs skips it, leaving a valid envelope without devices */
const devicesAsFixed64 = () => {
  const valid = bytes(env([hr(Date.now() - 1000, 250, 'mon-p')]));
  return Buffer.concat([valid.subarray(0, valid.indexOf(0x2a)), Buffer.from([0x29, 1, 2, 3, 4, 5, 6, 7, 8, 0x30, 0x01])]);
};

t.test('a field of the wrong wire type (devices as fixed64) is dead-lettered ING_ERR_ENVELOPE, not decoded as an empty envelope', async (t) => {
  const c = await attacker();
  const { d, dead } = await probe(t, async () => {
    t.equal(await publish(c, `${P}/data`, devicesAsFixed64()), 'acked');
  });
  t.same(
    dead.map((x) => x.code),
    ['ING_ERR_ENVELOPE'],
  );
  t.match(dead[0]?.reason, /devices: wire type 1/);
  t.equal(d.dead_letters, 1);
  t.equal((await s.api('GET', '/beds/bed5/latest')).numerics.length, 0, "nothing stored for the attacker's bed");
});

t.test('a packet over maxPacketBytes, and one announcing 100 MiB: connection closed at the header, counted, nothing stored', async (t) => {
  const { d } = await probe(t, async () => {
    const c = await attacker();
    t.equal(await publish(c, `${P}/data`, Buffer.alloc(MAX_PACKET + 1, 0x0a)), 'closed', `${MAX_PACKET + 1} bytes → closed`);
    const c2 = await attacker();
    const closed = new Promise<void>((r) => c2.once('close', () => r()));
    // PUBLISH QoS 1 fixed header announcing 100 MiB (remaining length 104857600 as a varint), then nothing
    (c2.stream as unknown as { write(b: Buffer): void }).write(Buffer.from([0x32, 0x80, 0x80, 0x80, 0x32]));
    const t0 = Date.now();
    await closed;
    t.ok(Date.now() - t0 < 5000, 'closed without waiting for the body');
  });
  t.equal(d.mqtt_packet_too_large_total, 2, 'mqtt_packet_too_large_total +2');
  t.equal(d.envelopes_received_total, 2, 'only the good envelopes reached the intake');
  t.equal(d.dead_letters, 0);
});

t.test('a status document over maxStatusBytes: connection closed, counted, not stored in the registry', async (t) => {
  const c = await attacker();
  t.equal(
    await publish(
      c,
      `${P}/status`,
      Buffer.from(JSON.stringify({ ...onlineStatus({ gatewayId: 'gw-p', site: 'main', room: 'or5', bed: 'bed5' }), marker: 'small-status' })),
    ),
    'acked',
    'a small status is taken',
  );
  const { d } = await probe(t, async () => {
    const c2 = await attacker();
    const big = Buffer.from(JSON.stringify({ online: true, marker: 'big-status', pad: 'x'.repeat(MAX_STATUS) }));
    t.equal(await publish(c2, `${P}/status`, big), 'closed', `${big.length} bytes → closed`);
  });
  t.equal(d.mqtt_status_too_large_total, 1, 'mqtt_status_too_large_total +1');
  const gw = await s.api('GET', '/gateways/gw-p');
  t.equal(gw.status?.marker, 'small-status', 'the registry still holds the small status');
});

t.test('retained publish on the data topic: connection closed, counted, nothing retained or stored', async (t) => {
  const t0 = Date.now() - 1000;
  const { d } = await probe(t, async () => {
    const c = await attacker();
    t.equal(await publish(c, `${P}/data`, bytes(env([hr(t0, 251, 'mon-p')])), { retain: true }), 'closed', 'retained data → closed');
  });
  t.equal(d.mqtt_retain_denied_total, 1, 'mqtt_retain_denied_total +1');
  t.equal(d.envelopes_received_total, 2, 'the retained envelope never reached the intake');
  // a fresh subscriber (ingest's service account may read data) gets no retained message
  const sub = await s.connect('orlink-ingest', 'hostile-service-password', 'record-probe');
  const got: string[] = [];
  sub.on('message', (topic, _p, packet) => {
    if (packet.retain) got.push(topic);
  });
  await sub.subscribeAsync(`${P}/data`, { qos: 1 });
  await new Promise((r) => setTimeout(r, 300));
  t.same(got, [], 'nothing retained');
});

t.test('wrong topics: extra level, other prefix, another gateway id, wildcards in a publish: connection closed, denied counted', async (t) => {
  const e = bytes(env([hr(Date.now() - 1000, 252, 'mon-p')]));
  const topics = [`${P}/data/extra`, `${P}/raw`, `other/v1/main/or5/bed5/gw-p/data`, `${PREFIX}/main/or5/bed5/gw-q/data`, `${PREFIX}/main/or5/bed5/vitals`];
  const { d } = await probe(t, async () => {
    for (const topic of topics) {
      const c = await attacker();
      t.equal(await publish(c, topic, e), 'closed', `${topic} → closed`);
    }
    // a wildcard in a publish topic is a protocol violation: mqtt.js refuses to send it, so write the packet by hand
    const c = await attacker();
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    const topic = Buffer.from(`${P.replace('bed5', '+')}/data`);
    const body = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, Buffer.from([0x00, 0x07]), e]);
    (c.stream as unknown as { write(b: Buffer): void }).write(Buffer.concat([Buffer.from([0x32, (body.length & 0x7f) | 0x80, body.length >> 7]), body]));
    await closed;
    t.pass('a wildcard publish → closed');
  });
  t.equal(d.broker_publish_denied, topics.length, `broker_publish_denied +${topics.length} (the topic ACL)`);
  t.equal(d.envelopes_received_total, 2, 'none reached the intake');
});

t.test('a wildcard publish is counted as a protocol error', async (t) => {
  const before = await s.metrics(COUNTERS);
  const c = await attacker();
  const closed = new Promise<void>((r) => c.once('close', () => r()));
  const topic = Buffer.from(`${P}/+`);
  const body = Buffer.concat([Buffer.from([0, topic.length]), topic, Buffer.from([0, 9, 1])]);
  (c.stream as unknown as { write(b: Buffer): void }).write(Buffer.concat([Buffer.from([0x32, body.length]), body]));
  await closed;
  const d = delta(before, await s.metrics(COUNTERS));
  t.equal(d.mqtt_protocol_errors_total, 1, 'mqtt_protocol_errors_total +1');
  t.equal(d.broker_publish_denied, 0, 'not a topic-ACL refusal');
});

t.test('an envelope over maxReadingsPerEnvelope: dead-lettered whole ING_ERR_ENVELOPE_OVER_CAP, counted, the next one stored', async (t) => {
  const t0 = Date.now() - 60_000;
  const wave = {
    kind: 'wave' as const,
    mdc: 'MDC_ECG_ELEC_POTL_II',
    code: 131330,
    unit: 'mV',
    t0,
    rateHz: 500,
    scale: 0.001,
    offset: 0,
    vendorCode: 'ecg2',
    samples: new Array<number>(MAX_READINGS + 1).fill(0.5),
  };
  const { d, dead } = await probe(t, async () => {
    const c = await attacker();
    t.equal(await publish(c, `${P}/data`, bytes(env([{ ...hr(t0, 253, 'mon-p'), waves: [wave] }]))), 'acked', 'acked');
  });
  t.equal(d.envelopes_over_cap_total, 1, 'envelopes_over_cap_total +1');
  t.equal(d.envelopes_dead_lettered_total, 1);
  t.same(
    dead.map((x) => x.code),
    ['ING_ERR_ENVELOPE_OVER_CAP'],
  );
  t.match(dead[0]?.reason, new RegExp(`${MAX_READINGS + 2} readings`));
  t.equal((await s.api('GET', '/beds/bed5/latest')).numerics.length, 0, 'nothing of it stored');
});

t.test(
  "a device registered to another gateway: refused ING_ERR_DEVICE_WRONG_GATEWAY, counted, not in that bed; an unregistered device stays on the sender's bed",
  async (t) => {
    const t0 = Date.now() - 20_000;
    const { d, dead } = await probe(t, async () => {
      const c = await attacker();
      // HR 250 under the good monitor's device id, and a device nobody registered
      t.equal(await publish(c, `${P}/data`, bytes(env([hr(t0, 250, GOOD.deviceId), hr(t0, 99, 'mon-unregistered')]))), 'acked', 'acked');
    });
    t.equal(d.device_wrong_gateway_total, 1, 'device_wrong_gateway_total +1');
    t.same(
      dead.map((x) => x.code),
      ['ING_ERR_DEVICE_WRONG_GATEWAY'],
    );
    t.match(dead[0]?.reason, /registered to gateway gw-good, not gw-p/);
    const tl = await s.api('GET', `/cases/${s.caseId}/timeline?from=${t0}&to=${t0 + 1}`);
    t.same(tl.numerics, [], 'nothing at that time in the good bed');
    t.not((await goodLatestHr())?.value, 250, "the good bed's latest HR is not 250");
    const p = await s.api('GET', '/beds/bed5/latest');
    t.same(
      p.numerics.filter((n: { device: string }) => n.device === 'mon-unregistered').map((n: { value: number }) => n.value),
      [99],
      "the unregistered device is stored under the sender's own bed only",
    );
    t.ok(GOOD_DATA, 'the good data topic was never written by gw-p');
  },
);

t.test(
  '5,000 new codes in one envelope: at most 1,000 series created (the hourly budget), the other points refused per point ING_ERR_SERIES_BUDGET, counted',
  async (t) => {
    const t0 = Date.now() - 30_000;
    const numerics: NumericObs[] = Array.from({ length: 5000 }, (_, i) => ({
      kind: 'numeric',
      mdc: null,
      code: null,
      value: i,
      unit: '/min',
      t: t0,
      vendorCode: `evil-${i}`,
    }));
    const { d, dead } = await probe(t, async () => {
      const c = await attacker();
      t.equal(await publish(c, `${P}/data`, bytes(env([{ ...hr(t0, 254, 'mon-p'), numerics }]))), 'acked', 'acked');
    });
    // gw-p already spent a token or two of its hourly 1,000 (its unregistered device's HR series above)
    t.ok(d.known_series <= 1000 && d.known_series >= 995, `known_series +${d.known_series}: the rest of the budget, no more`);
    t.equal(d.series_budget_refused_total, 5000 - d.known_series, `series_budget_refused_total +${5000 - d.known_series}: every other point refused`);
    t.same(
      dead.map((x) => x.code),
      ['ING_ERR_SERIES_BUDGET'],
      'one dead letter for the refused points',
    );
    t.match(dead[0]?.reason, /budget/);
    t.equal(d.envelopes_written_total, 3, 'the envelope itself was written (its first 1,000 series)');
  },
);
