/**
 * Broker restart while the gateways stream.
 * - aedes: the embedded broker lives inside ingest, so restarting the broker means restarting the
 *   ingest process (SIGTERM: subscriber first, then broker).
 * - mosquitto: the Mosquitto process is stopped with SIGTERM (it saves its persistence: messages
 *   it PUBACKed to a gateway but ingest has not acked yet) and started again on the same port and
 *   persistence dir; ingest's persistent session (clean: false, fixed client id) gets them after
 *   its reconnect.
 * Gateways keep reading their monitors, queue in their outboxes, reconnect with backoff and resend
 * everything unacked.
 */
import t from 'tap';
import { assertAudit, BROKERS, clean, LONG, pollUntil, runFor, startRig, type FaultRig } from './harness/index.js';

const RESTARTS = LONG ? 5 : 2;
const UP_MS = LONG ? 20_000 : 4_000;

async function restartBroker(rig: FaultRig): Promise<void> {
  if (rig.mosquitto) {
    await rig.mosquitto.stop();
    await runFor(LONG ? 10_000 : 1_500); // broker down: readings queue in the outboxes
    await rig.mosquitto.start();
  } else {
    await rig.ingest.stop();
    await runFor(LONG ? 10_000 : 1_500);
    await rig.startIngest();
  }
}

for (const broker of BROKERS) {
  const what = broker === 'mosquitto' ? 'Mosquitto process restarted (SIGTERM)' : 'embedded aedes, ingest restarted gracefully';
  t.test(`broker restart (${what})`, async (t) => {
    const rig = await startRig(t, { name: 'broker', beds: 2, gatewayMode: 'in-process', broker });
    await runFor(UP_MS);
    for (let i = 0; i < RESTARTS; i++) {
      await restartBroker(rig);
      await runFor(UP_MS);
    }
    t.ok(
      rig.beds.every((b) => (b.gateway!.status().mqtt.connects ?? 0) > RESTARTS),
      'every gateway reconnected after each restart',
    );
    await rig.stopDevices();
    const a = await rig.settle(clean, 30_000);
    assertAudit(t, `broker restart ×${RESTARTS}`, a);
    const depth = await pollUntil(() => rig.beds.every((b) => b.gateway!.status().outbox.records === 0), { timeoutMs: 10_000 });
    t.ok(depth, 'every outbox drained to 0');
  });
}
