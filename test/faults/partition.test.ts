/**
 * Network partition between a gateway and the broker (a TCP proxy that blackholes every byte, so
 * the gateway only learns of it by its keepalive), then healed; then a cut link (connections
 * reset, reconnects refused), healed. Measured and reported: how fast
 * the backlog drains (× real time, must be ≥ 20) and how stale the live data is meanwhile.
 */
import t from 'tap';
import { assertAudit, BROKERS, clean, LONG, pollUntil, runFor, startRig } from './harness/index.js';

const PARTITION_MS = LONG ? 600_000 : 30_000;
const CUT_MS = LONG ? 300_000 : 8_000;

async function latestStored(influxUrl: string, db: string, device: string): Promise<number> {
  const q = `SELECT last("value") FROM "numeric" WHERE "device" = '${device}' AND time > now() - 3h`;
  const res = await fetch(`${influxUrl}/query?db=${db}&epoch=ms`, { method: 'POST', body: new URLSearchParams({ q }), signal: AbortSignal.timeout(5000) });
  const j = (await res.json()) as { results?: { series?: { values: [number, number][] }[] }[] };
  return j.results?.[0]?.series?.[0]?.values?.[0]?.[0] ?? 0;
}

async function isStored(influxUrl: string, db: string, device: string, vendor: string, t: number): Promise<boolean> {
  const q = `SELECT "value" FROM "numeric" WHERE "device" = '${device}' AND "vendor" = '${vendor}' AND time = ${t}ms`;
  const res = await fetch(`${influxUrl}/query?db=${db}&epoch=ms`, { method: 'POST', body: new URLSearchParams({ q }), signal: AbortSignal.timeout(5000) });
  const j = (await res.json()) as { results?: { series?: unknown[] }[] };
  return (j.results?.[0]?.series?.length ?? 0) > 0;
}

for (const broker of BROKERS) {
  t.test(`partition gateway ↔ broker for ${PARTITION_MS / 1000} s, then drain [${broker}]`, async (t) => {
    const rig = await startRig(t, { name: 'partition', broker, beds: 2, gatewayMode: 'in-process', brokerProxy: true });
    const [b, other] = rig.beds;
    await runFor(3_000);
    b.proxy!.mode = 'blackhole';
    const cutAt = Date.now();
    await runFor(PARTITION_MS);
    const st = b.gateway!.status();
    const backlog = st.outbox.records;
    t.ok(backlog >= (PARTITION_MS / 500) * 0.8, `the partitioned gateway queued a backlog (${backlog} records, ${st.outbox.bytes} bytes)`);
    t.ok(other.gateway!.status().outbox.records <= 4, 'the other gateway kept delivering');
    const connects = st.mqtt.connects;
    b.proxy!.mode = 'pass';
    b.proxy!.cut(); // the half-open sockets of the partition; a real one ends by keepalive
    const healAt = Date.now();

    // measure: reconnect, drain, and the delivery delay of the first live reading produced while
    // the backlog drains (produced → queryable in InfluxDB)
    let reconnectAt = 0;
    let drainedAt = 0;
    await pollUntil(
      async () => {
        const s = b.gateway!.status();
        if (!reconnectAt && s.mqtt.connects > connects && s.mqtt.connected) reconnectAt = Date.now();
        if (reconnectAt && !drainedAt && s.outbox.records <= 2) drainedAt = Date.now();
        return drainedAt > 0;
      },
      { timeoutMs: 60_000, intervalMs: 10 },
    );
    t.ok(reconnectAt > 0 && drainedAt > 0, 'reconnected and drained');
    const probe = await pollUntil(() => b.produced.find((r) => r.kind === 'numeric' && r.at >= reconnectAt), { timeoutMs: 5_000, intervalMs: 10 });
    let liveDelay = -1;
    if (probe && probe.kind === 'numeric') {
      const stored = await pollUntil(() => isStored(rig.influxUrl, rig.database, b.deviceId, probe.vendorCode, probe.t), { timeoutMs: 30_000, intervalMs: 20 });
      if (stored) liveDelay = Date.now() - probe.at;
    }
    t.ok(liveDelay >= 0 && liveDelay < 10_000, `live data kept flowing during the drain (first live reading queryable after ${liveDelay} ms)`);
    const drainMs = Math.max(1, drainedAt - reconnectAt);
    const speed = (drainedAt - cutAt) / drainMs; // data time per drain time
    // live freshness after the drain, sampled for a few seconds
    let maxLagAfter = 0;
    for (let i = 0; i < 15; i++) {
      await runFor(200);
      maxLagAfter = Math.max(maxLagAfter, Date.now() - (await latestStored(rig.influxUrl, rig.database, b.deviceId)));
    }
    const summary = `backlog ${backlog} rec, reconnect ${reconnectAt - healAt} ms after heal, drain ${drainMs} ms = ${speed.toFixed(0)}× real time, live reading delay ${liveDelay} ms during drain, freshness lag ≤ ${maxLagAfter} ms after`;
    t.comment(summary);
    t.ok(speed >= 20, `backlog drained at ≥ 20× real time (${speed.toFixed(1)}×)`);
    t.ok(maxLagAfter < 5_000, `live data fresh after the drain (max lag ${maxLagAfter} ms)`);

    // the other kind of partition: the link is cut (connections reset, reconnects refused)
    b.proxy!.mode = 'refuse';
    b.proxy!.cut();
    await runFor(CUT_MS);
    const cutBacklog = b.gateway!.status().outbox.records;
    t.ok(cutBacklog >= (CUT_MS / 500) * 0.6, `the cut gateway queued a backlog (${cutBacklog} records)`);
    b.proxy!.mode = 'pass';
    const cutDrained = await pollUntil(() => b.gateway!.status().outbox.records <= 2, { timeoutMs: 60_000, intervalMs: 50 });
    t.ok(cutDrained, 'after the cut healed the backlog drained');

    await rig.stopDevices();
    const a = await rig.settle(clean, 30_000);
    assertAudit(t, `partition ${PARTITION_MS / 1000} s blackhole + ${CUT_MS / 1000} s cut`, a, { extra: summary });
  });
}
