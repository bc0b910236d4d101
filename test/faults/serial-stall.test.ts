/**
 * A serial port that stays open but stops delivering bytes (a known serialport/USB-adapter
 * failure): the session watchdog must close and reopen it; the device answers the new request.
 * The monitor's wave stream runs on through the reopen, so the new driver session joins it: wave
 * placement is audited too (the GE session restarts the monitor's wave stream on reopen).
 */
import t from 'tap';
import { assertAudit, BROKERS, clean, LONG, pollUntil, runFor, startRig } from './harness/index.js';

const STALLS = LONG ? 5 : 1;

for (const broker of BROKERS) {
  t.test(`stalled port reopened by the watchdog [${broker}]`, async (t) => {
    const rig = await startRig(t, { name: 'stall', broker, beds: 1, gatewayMode: 'in-process', watchdogMs: 2_000 });
    const b = rig.beds[0];
    const dev = () => b.gateway!.status().devices[0];
    await runFor(3_000);
    const requests: number[] = [];
    b.sim.on('request', () => {
      requests.push(Date.now());
    });
    for (let i = 0; i < STALLS; i++) {
      const tripsBefore = dev().watchdogTrips;
      b.sim.silence(120_000); // the port stays open; no byte arrives until the gateway reopens it
      let beforeTrip = Date.now();
      const tripped = await pollUntil(
        () => {
          if (dev().watchdogTrips > tripsBefore) return true;
          beforeTrip = Date.now();
          return false;
        },
        { timeoutMs: 20_000, intervalMs: 50 },
      );
      t.ok(tripped, `stall ${i + 1}: the watchdog tripped on the silent port`);
      // the reopened port asks the monitor again (a request after the trip, not a periodic refresh)
      const again = await pollUntil(() => requests.some((at) => at >= beforeTrip), { timeoutMs: 30_000, intervalMs: 20 });
      t.ok(again, `stall ${i + 1}: the port was reopened and the streams requested again`);
      b.sim.silence(0);
      await runFor(3_000);
    }
    await rig.stopDevices();
    const a = await rig.settle(clean, 20_000);
    assertAudit(t, `stalled port ×${STALLS} (watchdog)`, a, { extra: `watchdog trips ${dev().watchdogTrips}` });
  });
}
