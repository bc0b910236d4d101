/**
 * Broker restart: the embedded aedes lives inside ingest, so restarting the broker means
 * restarting the ingest process (SIGTERM: subscriber first, then broker). Gateways keep reading
 * their monitors, queue in their outboxes, reconnect with backoff and resend everything unacked.
 */
import t from 'tap';
import { assertAudit, clean, LONG, pollUntil, runFor, startRig } from './harness/index.js';

const RESTARTS = LONG ? 5 : 2;
const UP_MS = LONG ? 20_000 : 4_000;

t.test('broker restart (embedded aedes, ingest restarted gracefully)', async (t) => {
  const rig = await startRig(t, { name: 'broker', beds: 2, gatewayMode: 'in-process' });
  await runFor(UP_MS);
  for (let i = 0; i < RESTARTS; i++) {
    await rig.ingest.stop();
    await runFor(LONG ? 10_000 : 1_500); // broker down: readings queue in the outboxes
    await rig.startIngest();
    await runFor(UP_MS);
  }
  t.ok(rig.beds.every((b) => (b.gateway!.status().mqtt.connects ?? 0) > RESTARTS), 'every gateway reconnected after each restart');
  await rig.stopDevices();
  const a = await rig.settle(clean, 30_000);
  assertAudit(t, `broker restart ×${RESTARTS}`, a);
  const depth = await pollUntil(() => rig.beds.every((b) => b.gateway!.status().outbox.records === 0), { timeoutMs: 10_000 });
  t.ok(depth, 'every outbox drained to 0');
});
