/**
 * Embedded broker limits (docs/security.md "Broker limits"): packet size (refused at the header,
 * boundary exact), retained only on the own status topic, status size, per-gateway in-flight cap,
 * rate (held back, not refused, other gateways unaffected), session cap. Each refusal is counted and
 * logged with the gateway id; the other gateway keeps working.
 */
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import t from 'tap';
import { brokerLimitDefaults, IngestConfigError, loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { GatedWriter, until } from '../mqtt/test-fixtures.js';
import { brokerRig, dataBytes, GW } from './broker-fixture.js';
import { onlineStatus } from '../../../test/helpers/status-docs.js';
import { PacketScanner } from './packet-size-guard.js';

/** bytes of a QoS 1 PUBLISH packet with this topic and payload size */
function publishPacketBytes(topic: string, payload: number): number {
  const remaining = 2 + Buffer.byteLength(topic) + 2 + payload;
  const lengthBytes = remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
  return 1 + lengthBytes + remaining;
}

/** the payload size that makes a QoS 1 PUBLISH on `topic` exactly `bytes` long */
function payloadForPacket(topic: string, bytes: number): number {
  let payload = bytes - publishPacketBytes(topic, 0);
  while (publishPacketBytes(topic, payload) > bytes) payload--;
  return payload;
}

t.test('config: broker.limits defaults, partial override, unknown keys and contradictions refused', async (t) => {
  t.same(loadIngestConfig({ input: {}, env: {} }).broker.limits, brokerLimitDefaults());
  const c = loadIngestConfig({ input: { broker: { limits: { maxPacketBytes: 2_000_000 } } }, env: {} });
  t.equal(c.broker.limits.maxPacketBytes, 2_000_000);
  t.equal(c.broker.limits.maxStatusBytes, 65_536, 'the rest keep their defaults');
  const problems = (input: unknown) => {
    try {
      loadIngestConfig({ input, env: {} });
      return '';
    } catch (e) {
      return (e as IngestConfigError).problems.join('\n');
    }
  };
  t.match(problems({ broker: { limits: { maxPacketSize: 1 } } }), '/broker/limits/maxPacketSize: Unexpected property');
  t.match(problems({ broker: { limits: { maxPacketBytes: 100 } } }), '/broker/limits/maxPacketBytes');
  t.match(problems({ broker: { limits: { maxStatusBytes: 2_000_000 } } }), 'maxStatusBytes: must be below maxPacketBytes');
  t.match(problems({ broker: { limits: { loginLockoutMs: 5000, loginLockoutMaxMs: 1000 } } }), 'loginLockoutMaxMs: shorter than loginLockoutMs');
});

t.test('scanner: declared size refused at the header, at every chunk split; boundary exact', async (t) => {
  const limit = 300;
  const packet = (bodyBytes: number) => {
    const b = Buffer.alloc(bodyBytes);
    const len: number[] = [];
    let n = bodyBytes;
    do {
      let d = n % 128;
      n = Math.floor(n / 128);
      if (n > 0) d |= 0x80;
      len.push(d);
    } while (n > 0);
    return Buffer.concat([Buffer.from([0x32, ...len]), b]);
  };
  const ok = Buffer.concat([packet(10), packet(297), Buffer.from([0xc0, 0x00])]); // 12 + 300 + PINGREQ
  const refusedAt: number[] = [];
  for (let cut = 0; cut <= ok.length; cut++) {
    const s = new PacketScanner(limit);
    if ((s.push(ok.subarray(0, cut)) ?? s.push(ok.subarray(cut))) !== null) refusedAt.push(cut);
  }
  t.same(refusedAt, [], `a legal stream passes, split at each of its ${ok.length + 1} offsets`);
  const big = packet(298); // 301 bytes
  for (let cut = 0; cut <= 4; cut++) {
    const s = new PacketScanner(limit);
    const r = s.push(big.subarray(0, cut)) ?? s.push(big.subarray(cut, 4));
    t.same(r, { type: 3, bytes: 301 }, `oversize seen from its length field (split at ${cut}), body not needed`);
  }
  t.same(new PacketScanner(limit).push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff])), { type: 3, bytes: -1 }, 'malformed length');
  t.same(new PacketScanner(1 << 20).push(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x32])), { type: 3, bytes: 104_857_605 }, '100 MiB declared');
});

t.test('oversize publish: the connection is closed at the header, counted, logged with the gateway id', async (t) => {
  const limit = 64 * 1024;
  const s = await brokerRig(t, { limits: { maxPacketBytes: limit, maxStatusBytes: 4096 } });
  const gw1 = await s.connect('gw1', GW.gw1.password);
  const gw2 = await s.connect('gw2', GW.gw2.password);
  const topic = `${GW.gw1.base}/data`;
  // exactly the limit: accepted (an envelope padded to the size is poison, dead-lettered and acked)
  let payload = payloadForPacket(topic, limit);
  t.equal(publishPacketBytes(topic, payload), limit);
  await gw1.publishAsync(topic, Buffer.alloc(payload, 0xff), { qos: 1 });
  t.equal(s.metrics.get('mqtt_packet_too_large_total'), 0, 'a packet of exactly maxPacketBytes passes');
  // one byte more: closed
  payload++;
  const gone = s.closed(gw1);
  gw1.publish(topic, Buffer.alloc(payload, 0xff), { qos: 1 }, () => undefined);
  await gone;
  t.equal(s.metrics.get('mqtt_packet_too_large_total'), 1);
  const [line] = s.logged(/packet too large/);
  t.match(line, { gatewayId: 'gw1', packet: 'PUBLISH', bytes: limit + 1, maxBytes: limit });
  // a 100 MiB announcement: refused from its 5 header bytes, nothing buffered
  const raw = await s.connect('gw1', GW.gw1.password);
  const rawGone = s.closed(raw);
  raw.stream.write(Buffer.from([0x32, 0x80, 0x80, 0x80, 0x32, 0x00, 0x05]));
  await rawGone;
  t.equal(s.metrics.get('mqtt_packet_too_large_total'), 2);
  t.match(s.logged(/packet too large/)[1], { gatewayId: 'gw1', bytes: 104_857_605 });
  // the other gateway is untouched
  await gw2.publishAsync(`${GW.gw2.base}/data`, dataBytes('gw2', 1), { qos: 1 });
  t.equal(s.store.size('numeric'), 1, 'gw2 stored');
  t.ok(gw2.connected);
});

t.test('retained only on the own status topic; the topic ACL is data and status only', async (t) => {
  const s = await brokerRig(t);
  const a = await s.connect('gw1', GW.gw1.password);
  const aGone = s.closed(a);
  a.publish(`${GW.gw1.base}/data`, dataBytes('gw1', 1), { qos: 1, retain: true }, () => undefined);
  await aGone;
  t.equal(s.metrics.get('mqtt_retain_denied_total'), 1);
  t.match(s.logged(/retained publish refused/)[0], { gatewayId: 'gw1', topic: `${GW.gw1.base}/data` });
  t.equal(await s.retained(`${GW.gw1.base}/#`), 0, 'nothing retained');
  t.equal(s.store.size('numeric'), 0, 'and not stored: it was refused before the intake');
  // a sub-topic of its own, retained or not: outside the ACL
  const b = await s.connect('gw1', GW.gw1.password);
  const bGone = s.closed(b);
  b.publish(`${GW.gw1.base}/junk`, Buffer.alloc(1000), { qos: 1, retain: true }, () => undefined);
  await bGone;
  t.equal(await s.retained(`${GW.gw1.base}/#`), 0);
  // a will that would be retained outside the status topic: the login is refused
  t.equal(await s.login('gw1', GW.gw1.password, { will: { topic: `${GW.gw1.base}/data`, payload: Buffer.from('x'), qos: 1, retain: true } }), 5);
  // the own status, retained: fine
  const c = await s.connect('gw1', GW.gw1.password);
  await c.publishAsync(`${GW.gw1.base}/status`, JSON.stringify({ online: true }), { qos: 1, retain: true });
  t.equal(await s.retained(`${GW.gw1.base}/status`), 1);
  t.ok(c.connected);
});

t.test('status documents above maxStatusBytes are refused and never reach the registry', async (t) => {
  const s = await brokerRig(t, { subscriber: true, limits: { maxStatusBytes: 2048 } });
  const up = onlineStatus({ gatewayId: 'gw1', site: 's1', room: 'or1', bed: 'bed1' });
  const doc = (bytes: number) => {
    const base = JSON.stringify({ ...up, pad: '' });
    return JSON.stringify({ ...up, pad: 'x'.repeat(bytes - base.length) });
  };
  t.equal(Buffer.byteLength(doc(2048)), 2048);
  const gw = await s.connect('gw1', GW.gw1.password);
  await gw.publishAsync(`${GW.gw1.base}/status`, doc(2048), { qos: 1, retain: true });
  await until(() => s.metrics.get('status_messages_total') === 1, 5000, 'the status at the limit stored');
  t.equal((s.registry.getGateway('gw1') as { online?: boolean } | null)?.online, true);
  const gone = s.closed(gw);
  gw.publish(`${GW.gw1.base}/status`, JSON.stringify({ online: false, pad: 'y'.repeat(5000) }), { qos: 1, retain: true }, () => undefined);
  await gone;
  t.equal(s.metrics.get('mqtt_status_too_large_total'), 1);
  t.match(s.logged(/status document too large/)[0], { gatewayId: 'gw1', maxBytes: 2048 });
  // its will (offline, small) is published on the close; then nothing else arrives
  await until(() => s.metrics.get('status_messages_total') >= 1, 5000, 'settled');
  const gw2 = await s.connect('gw2', GW.gw2.password);
  await gw2.publishAsync(`${GW.gw2.base}/status`, JSON.stringify(onlineStatus({ gatewayId: 'gw2', site: 's1', room: 'or1', bed: 'bed2' })), {
    qos: 1,
    retain: true,
  });
  await until(() => (s.registry.getGateway('gw2') as { online?: boolean } | null)?.online === true, 5000, 'gw2 status');
  const stored = JSON.stringify(s.registry.getGateway('gw1'));
  t.match(stored, /xxxxx/, 'the registry holds the last accepted document');
  t.notMatch(stored, /yyyyy/, 'not the oversize one');
  // a will larger than a status document: the login is refused
  t.equal(await s.login('gw1', GW.gw1.password, { will: { topic: `${GW.gw1.base}/status`, payload: Buffer.alloc(3000, 0x20), qos: 1, retain: true } }), 5);
  t.equal(s.metrics.get('mqtt_status_too_large_total'), 2);
});

t.test('in-flight cap per gateway: one publish beyond it closes that connection', async (t) => {
  // while a publish is held aedes does not read that socket again: a client exceeds the cap only by
  // pipelining many publishes into one read (or across sessions). Five QoS 1 publishes in one write:
  const writer = new GatedWriter();
  const s = await brokerRig(t, { writer, limits: { maxInflight: 4 } });
  t.teardown(() => writer.openGate());
  const gw = await s.connect('gw1', GW.gw1.password);
  const pubs = [1, 2, 3, 4, 5].map((i) =>
    mqttPacket.generate({
      cmd: 'publish',
      topic: `${GW.gw1.base}/data`,
      payload: dataBytes('gw1', i),
      qos: 1,
      messageId: 100 + i,
      retain: false,
      dup: false,
    }),
  );
  const gone = s.closed(gw);
  gw.stream.write(Buffer.concat(pubs));
  await gone;
  t.equal(s.metrics.get('mqtt_inflight_exceeded_total'), 1);
  t.match(s.logged(/too many publishes in flight/)[0], { gatewayId: 'gw1', inflight: 4, maxInflight: 4 });
  writer.openGate();
  await until(() => s.intake.pending === 0, 5000, 'the held ones answered');
  // a well-behaved window of four on a new connection works: the slots were released
  const again = await s.connect('gw1', GW.gw1.password);
  await Promise.all([6, 7, 8, 9].map((i) => again.publishAsync(`${GW.gw1.base}/data`, dataBytes('gw1', i), { qos: 1 })));
  t.ok(again.connected);
  t.equal(s.metrics.get('mqtt_inflight_exceeded_total'), 1);
});

t.test('message rate per gateway: held back, nothing lost, the other gateway not slowed', async (t) => {
  const s = await brokerRig(t, { limits: { publishesPerSecond: 20, publishBurst: 5 } });
  const gw1 = await s.connect('gw1', GW.gw1.password);
  const gw2 = await s.connect('gw2', GW.gw2.password);
  const t0 = performance.now();
  const flood = Array.from({ length: 25 }, (_, i) => gw1.publishAsync(`${GW.gw1.base}/data`, dataBytes('gw1', i + 1), { qos: 1 }));
  await until(() => s.metrics.get('mqtt_rate_limited_total') > 0, 5000, 'rate limit engaged');
  const t2 = performance.now();
  await gw2.publishAsync(`${GW.gw2.base}/data`, dataBytes('gw2', 1), { qos: 1 });
  const gw2Ms = performance.now() - t2;
  await Promise.all(flood);
  const floodMs = performance.now() - t0;
  t.comment(`25 publishes at 20/s (burst 5): ${floodMs.toFixed(0)} ms; gw2's PUBACK meanwhile ${gw2Ms.toFixed(0)} ms`);
  t.ok(floodMs >= 900, 'the flood took ≥ (25 − 5) / 20 s');
  t.ok(gw2Ms < 500, 'gw2 was not held behind gw1');
  t.equal(s.metrics.get('envelopes_written_total'), 26, 'everything stored');
  t.ok(gw1.connected, 'held back, not disconnected');
  t.ok(s.metrics.get('mqtt_rate_limited_total') >= 15);
  t.equal(s.logged(/rate above the limit/).length, 1, 'warned once, counted always');
});

t.test('session cap per gateway: a new session beyond maxSessions closes the oldest, silently', async (t) => {
  const s = await brokerRig(t, { limits: { maxSessions: 2 } });
  const will = { topic: `${GW.gw1.base}/status`, payload: Buffer.from('{"online":false}'), qos: 1 as const, retain: true };
  const a = await s.connect('gw1', GW.gw1.password, { clientId: 'gw1-a', will });
  const b = await s.connect('gw1', GW.gw1.password, { clientId: 'gw1-b', will });
  const aGone = s.closed(a);
  const c = await s.connect('gw1', GW.gw1.password, { clientId: 'gw1-c', will });
  await aGone;
  t.ok(b.connected && c.connected);
  t.equal(s.metrics.get('mqtt_sessions_limited_total'), 1);
  t.equal(await s.retained(`${GW.gw1.base}/status`), 0, "the closed session's will was not published");
  // reconnecting with the same client id is a takeover by aedes, not a new session
  const c2 = await s.connect('gw1', GW.gw1.password, { clientId: 'gw1-c', will });
  t.ok(b.connected && c2.connected);
  t.equal(s.metrics.get('mqtt_sessions_limited_total'), 1);
  const other: mqtt.MqttClient = await s.connect('gw2', GW.gw2.password);
  t.ok(other.connected, 'per gateway, not global');
});
