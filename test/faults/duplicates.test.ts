/**
 * QoS 1 redelivery and duplicate publishes, deduplicated by (gatewayId, bootId, seq):
 * 1. PUBACKs lost: the proxy passes gateway → broker but drops broker → gateway; ingest stores the
 *    envelopes, the gateway never hears the acks; the connection is cut, the gateway reconnects and
 *    resends everything unacked: ingest must recognise every resend.
 * 2. Duplicate publishes: captured envelopes published again, and once with every value altered
 *    but the same (gateway, boot, seq): ingest must drop them (the altered values would show up in
 *    the audit as mismatches if they were written).
 */
import t from 'tap';
import mqtt from 'mqtt';
import { decodeEnvelope, encodeEnvelope } from '../../schemas/src/envelope.js';
import { assertAudit, BROKERS, clean, pollUntil, runFor, startRig } from './harness/index.js';

for (const broker of BROKERS) {
  t.test(`QoS 1 redelivery and duplicate publishes are deduplicated [${broker}]`, async (t) => {
    const rig = await startRig(t, { name: 'dup', broker, beds: 1, gatewayMode: 'in-process', brokerProxy: true });
    const b = rig.beds[0];
    const captured: { topic: string; payload: Buffer }[] = [];
    const spy = mqtt.connect(`mqtt://127.0.0.1:${rig.brokerPort}`, {
      ...rig.testClient,
      clientId: `dup-spy-${process.pid}`,
      reconnectPeriod: 300,
    });
    t.teardown(
      () =>
        new Promise<void>((r) => {
          spy.end(true, {}, () => r());
        }),
    );
    spy.on('message', (topic, payload) => {
      if (captured.length < 5) captured.push({ topic, payload: Buffer.from(payload) });
    });
    await new Promise<void>((r) => spy.once('connect', () => spy.subscribe('orlink/v1/+/+/+/+/data', { qos: 0 }, () => r())));
    await runFor(3_000);
    t.ok(captured.length >= 3, `captured envelopes (${captured.length})`);

    // 1. lost PUBACKs → resend after reconnect
    const dedupBefore = await rig.metric('envelopes_deduped_total');
    b.proxy!.mode = 'no-acks';
    await runFor(3_000);
    const unacked = b.gateway!.status().outbox.records;
    t.ok(unacked >= 4, `envelopes published without PUBACK (${unacked} unacked)`);
    b.proxy!.mode = 'pass';
    b.proxy!.cut();
    const drained = await pollUntil(() => b.gateway!.status().outbox.records <= 1, { timeoutMs: 20_000 });
    t.ok(drained, 'resent and acknowledged after the reconnect');
    // With an external broker the gateway's PUBACK comes from the broker, before ingest has taken the
    // resent copies: wait (bounded) until ingest has counted them instead of reading the metric once.
    let dedupResend = 0;
    await pollUntil(async () => (dedupResend = (await rig.metric('envelopes_deduped_total')) - dedupBefore) >= unacked - 2, { timeoutMs: 15_000 });
    t.ok(dedupResend >= unacked - 2, `ingest recognised the resends as duplicates (${dedupResend})`);

    // 2. duplicate publishes, one of them tampered with
    const before2 = await rig.metric('envelopes_deduped_total');
    for (const c of captured.slice(0, 3)) {
      await spy.publishAsync(c.topic, c.payload, { qos: 1 });
      await spy.publishAsync(c.topic, c.payload, { qos: 1 });
    }
    const env = decodeEnvelope(captured[0].payload);
    for (const d of env.devices) for (const n of d.numerics) if (n.value !== null) n.value += 1000;
    await spy.publishAsync(captured[0].topic, Buffer.from(encodeEnvelope(env)), { qos: 1 });
    const seen = await pollUntil(async () => (await rig.metric('envelopes_deduped_total')) - before2 >= 7, { timeoutMs: 15_000 });
    t.ok(seen, 'all 7 duplicate publishes counted as duplicates');

    await rig.stopDevices();
    const a = await rig.settle(clean, 30_000);
    assertAudit(t, 'QoS 1 redelivery + duplicate publishes', a, {
      extra: `resends deduped ${dedupResend}, duplicate publishes deduped ${(await rig.metric('envelopes_deduped_total')) - before2}`,
    });
  });
}
