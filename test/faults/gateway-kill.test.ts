/**
 * Gateway killed with SIGKILL while its outbox holds a backlog (the broker unreachable through a
 * blackholing proxy), and a torn last record appended to the outbox as a power loss would leave
 * it. On restart the torn tail is detected and truncated (reported in the status), never replayed;
 * the backlog is delivered with its original (bootId, seq), nothing lost or duplicated.
 * The monitor is silenced around the kill: readings the device sends while no gateway reads the
 * port, or that sit in the dead process's batcher (≤ one publish interval), are not the outbox's to
 * keep (docs/reliability.md). The restarted gateway joins the monitor's running wave stream:
 * wave samples are audited too (the GE session restarts the monitor's wave stream on start).
 */
import t from 'tap';
import { assertAudit, BROKERS, clean, LONG, pollUntil, runFor, startRig } from './harness/index.js';
import { appendTornRecord, outboxBytes } from './harness/outbox-files.js';

const BACKLOG_MS = LONG ? 60_000 : 5_000;
const KILLS = LONG ? 3 : 1;

for (const broker of BROKERS) {
  t.test(`gateway SIGKILL with a backlog + torn outbox tail [${broker}]`, async (t) => {
    const rig = await startRig(t, { name: 'gw-kill', broker, beds: 1, gatewayMode: 'process', brokerProxy: true });
    const b = rig.beds[0];
    await runFor(3_000);
    let torn = 0;
    for (let k = 0; k < KILLS; k++) {
      b.proxy!.mode = 'blackhole';
      await runFor(BACKLOG_MS);
      b.sim.silence(120_000);
      const silencedAt = Date.now();
      // the gateway writes what it read into the outbox: wait until the outbox stops growing
      let last = -1;
      let stableSince = Date.now();
      await pollUntil(
        () => {
          const n = outboxBytes(b.outboxDir);
          if (n !== last) {
            last = n;
            stableSince = Date.now();
          }
          return Date.now() - stableSince > 1_500;
        },
        { timeoutMs: 15_000, intervalMs: 100 },
      );
      t.ok(outboxBytes(b.outboxDir) > 2_000, `kill ${k + 1}: the outbox holds a backlog (${outboxBytes(b.outboxDir)} bytes)`);
      await b.child!.kill('SIGKILL');
      const killedAt = Date.now();
      torn = appendTornRecord(b.outboxDir, 17 + 11 * k);
      b.proxy!.mode = 'pass';
      b.proxy!.cut();
      const requested = new Promise<void>((r) => b.sim.once('request', () => r()));
      await rig.startGateway(b);
      await Promise.race([requested, runFor(20_000)]);
      b.sim.silence(0); // the device talks again once a gateway reads the port
      // the timeline, to place an audit example (t_device ≈ host ms here)
      t.comment(`kill ${k + 1}: silenced ${silencedAt}, killed ${killedAt}, talking again ${Date.now()}`);
      const reported = await pollUntil(
        () => {
          const s = rig.status(b);
          return s && s.startedAt > 0 && s.outbox.truncatedBytes === torn ? s : undefined;
        },
        { timeoutMs: 20_000 },
      );
      t.ok(reported, `kill ${k + 1}: the restarted gateway reports the torn tail truncated (${torn} bytes)`);
      await runFor(3_000);
    }
    await rig.stopDevices();
    const a = await rig.settle(clean, 30_000);
    assertAudit(t, `gateway SIGKILL ×${KILLS} + torn tail`, a, { extra: `torn bytes ${torn} truncated` });
    t.equal(await rig.metric('envelopes_dead_lettered_total'), 0, 'no garbage reached ingest');
  });
}
