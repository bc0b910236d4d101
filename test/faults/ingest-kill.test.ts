/**
 * ingest killed with SIGKILL mid-batch: the InfluxDB write of a batch is held by the HTTP fault
 * proxy, ingest is killed while it waits for it, then restarted. The gateways must get their
 * PUBACK only after the write, so they resend what the killed process held.
 * Mosquitto: the broker survives the kill and has acked the gateways on receipt; what the killed
 * ingest held unacked, and what arrives while it is down, waits in ingest's persistent session
 * (clean: false, fixed client id) and is delivered again after the restart (deduplicated).
 */
import t from 'tap';
import { assertAudit, BROKERS, clean, LONG, pollUntil, runFor, startRig } from './harness/index.js';

const KILLS = LONG ? 6 : 2;
const UP_MS = LONG ? 15_000 : 3_000;

for (const broker of BROKERS) {
  t.test(`ingest SIGKILL mid-batch, restarted [${broker}]`, async (t) => {
    const rig = await startRig(t, { name: 'ingest-kill', broker, beds: 2, gatewayMode: 'in-process', influxProxy: true });
    const proxy = rig.influxProxy!;
    await runFor(UP_MS);
    const baseline = rig.mosquitto ? await rig.mosquittoStored() : 0; // steady state ($SYS retained too)
    for (let i = 0; i < KILLS; i++) {
      const held = proxy.stats.held;
      proxy.fault = { kind: 'hold', ms: 3_000 };
      const mid = await pollUntil(() => proxy.stats.held > held, { timeoutMs: 10_000, intervalMs: 20 });
      t.ok(mid, `kill ${i + 1}: a write batch is in flight`);
      await rig.ingest.kill('SIGKILL');
      proxy.fault = { kind: 'pass' };
      await runFor(rig.mosquitto ? 3_000 : 1_000);
      if (rig.mosquitto) {
        const stored = await rig.mosquittoStored();
        t.ok(stored >= baseline + 4, `kill ${i + 1}: Mosquitto queues for the dead ingest's session (${stored} messages stored, ${baseline} in steady state)`);
        t.ok(
          rig.beds.every((b) => b.gateway!.status().outbox.records <= 4),
          `kill ${i + 1}: Mosquitto keeps acking the gateways`,
        );
      }
      await rig.startIngest();
      await runFor(UP_MS);
    }
    await rig.stopDevices();
    const a = await rig.settle(clean, 30_000);
    assertAudit(t, `ingest SIGKILL mid-batch ×${KILLS}`, a);
  });
}
