/**
 * Serial cable pulled (the pty pair destroyed: socat killed) and plugged back (a new pair at the
 * same paths): the gateway reopens the port with backoff and re-requests the streams.
 * The monitor is silenced just before the pull: bytes on a cable being cut are physically lost
 * and not the gateway's to keep (docs/reliability.md).
 */
import t from 'tap';
import { openPtyPair } from '../../simulators/src/index.js';
import { assertAudit, BROKERS, clean, LONG, pollUntil, runFor, startRig } from './harness/index.js';

const UNPLUGGED_MS = LONG ? 60_000 : 3_000;
const PULLS = LONG ? 4 : 1;

for (const broker of BROKERS) {
  t.test(`serial cable pulled and plugged back [${broker}]`, async (t) => {
    const rig = await startRig(t, { name: 'unplug', broker, beds: 1, gatewayMode: 'in-process', watchdogMs: 2_000 });
    const b = rig.beds[0];
    const dev = () => b.gateway!.status().devices[0];
    await runFor(3_000);
    for (let i = 0; i < PULLS; i++) {
      b.sim.silence(60_000);
      await runFor(300);
      const reconnectsBefore = dev().reconnects;
      await b.pty.close();
      await runFor(UNPLUGGED_MS);
      b.pty = await openPtyPair({ dir: b.ptyDir });
      const pty = b.pty;
      t.teardown(() => pty.close());
      const req = new Promise<void>((r) => b.sim.once('request', () => r()));
      const asked = await Promise.race([req.then(() => true), runFor(45_000).then(() => false)]);
      t.ok(asked, `pull ${i + 1}: after the replug the gateway reopened the port and requested the streams`);
      b.sim.silence(0);
      const flowing = await pollUntil(() => dev().link === 'streaming', { timeoutMs: 15_000 });
      t.ok(flowing, `pull ${i + 1}: streaming again (reconnects ${dev().reconnects - reconnectsBefore})`);
      await runFor(3_000);
    }
    await rig.stopDevices();
    const a = await rig.settle(clean, 20_000);
    assertAudit(t, `serial cable pulled ×${PULLS}`, a, { extra: `reconnects ${dev().reconnects}` });
  });
}
