/**
 * InfluxDB unavailable: (1) influxd stopped for a while and started again on the same port and
 * data dir; (2) InfluxDB answering 429 (with Retry-After) and 503 through the HTTP fault proxy.
 * ingest must not ack what it could not write; it retries with backoff; nothing is lost.
 * aedes: the backlog waits in the gateways' outboxes (PUBACK after the write). Mosquitto: it PUBACKs
 * the gateways on receipt and holds the backlog for ingest's persistent session (checked through
 * Mosquitto's `$SYS/broker/store/messages/count`).
 */
import t from 'tap';
import { startInfluxd } from '../../ingest/src/series/influxd-launcher.js';
import { join } from 'node:path';
import { assertAudit, BROKERS, clean, LONG, pollUntil, runFor, startRig } from './harness/index.js';

const DOWN_MS = LONG ? 120_000 : 4_000;

for (const broker of BROKERS) {
  t.test(`InfluxDB stopped and restarted [${broker}]`, async (t) => {
    const rig = await startRig(t, { name: 'influx-stop', broker, beds: 2, gatewayMode: 'in-process' });
    await runFor(3_000);
    const baseline = rig.mosquitto ? await rig.mosquittoStored() : 0; // steady state ($SYS retained too)
    const port = rig.influx.port;
    await rig.influx.stop();
    await runFor(DOWN_MS);
    if (rig.mosquitto) {
      // Mosquitto PUBACKs the gateways on receipt: the backlog waits in ingest's persistent session
      const stored = await rig.mosquittoStored();
      t.ok(stored >= baseline + DOWN_MS / 1000, `Mosquitto holds the backlog for ingest's session (${stored} messages stored, ${baseline} in steady state)`);
      t.ok(
        rig.beds.every((b) => b.gateway!.status().outbox.records <= 4),
        'the gateways were acked by Mosquitto (outboxes near empty)',
      );
    } else {
      t.ok(
        rig.beds.some((b) => b.gateway!.status().outbox.records > 0),
        'gateways hold a backlog while InfluxDB is down',
      );
    }
    rig.influx = await startInfluxd({ dir: join(rig.dir, 'influxdb'), port });
    await runFor(3_000);
    await rig.stopDevices();
    const a = await rig.settle(clean, 40_000);
    assertAudit(t, `InfluxDB stopped ${DOWN_MS / 1000} s`, a);
  });
}

for (const broker of BROKERS) {
  t.test(`InfluxDB answering 429 and 503 (throttling proxy) [${broker}]`, async (t) => {
    const rig = await startRig(t, { name: 'influx-429', broker, beds: 2, gatewayMode: 'in-process', influxProxy: true });
    const proxy = rig.influxProxy!;
    await runFor(2_000);
    proxy.fault = { kind: 'status', status: 429, retryAfterS: 1 };
    await runFor(DOWN_MS / 2);
    proxy.fault = { kind: 'status', status: 503 };
    await runFor(DOWN_MS / 2);
    t.ok(proxy.stats.refused > 0, `writes refused by the proxy (${proxy.stats.refused})`);
    proxy.fault = { kind: 'pass' };
    await runFor(2_000);
    await rig.stopDevices();
    const a = await rig.settle(clean, 40_000);
    assertAudit(t, 'InfluxDB 429 + 503', a, { extra: `refused writes ${proxy.stats.refused}` });
    t.equal(await rig.metric('envelopes_dead_lettered_total'), 0, 'nothing dead-lettered');
    const drained = await pollUntil(() => rig.beds.every((b) => b.gateway!.status().outbox.records === 0), { timeoutMs: 10_000 });
    t.ok(drained, 'outboxes drained');
  });
}
