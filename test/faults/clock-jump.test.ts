/**
 * The gateway's wall clock steps by +1 h and −1 h (bad NTP, an operator) while its monotonic clock
 * runs on: a preload in the gateway child shifts Date.now() on SIGUSR2. Required: the step is
 * detected and the affected readings flagged (clock-jump / clock-offset); no reading is lost,
 * duplicated, invented or overwritten (an overwrite would show as a lost reading: two readings
 * on one series and timestamp); every re-stamped reading carries a clock flag.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertAudit, cleanNumerics, LONG, runFor, startRig } from './harness/index.js';

// Wave blocks after a step: the GE driver applies the estimated offset in whole seconds. This scenario
// found that the correction flipped between two seconds from record to record (blocks 1 s apart:
// overlaps and gaps); protocols/common/device-clock.ts now latches it. What remains: some blocks after
// the step still land a few samples off their produced position (open, see docs/reliability.md).
const WAVES_TODO = 'GE driver: after a gateway clock step some wave blocks land a few samples off (open)';

const PRELOAD = fileURLToPath(new URL('./harness/clock-shift.mjs', import.meta.url));
const HOLD_MS = LONG ? 60_000 : 4_000;
const HOUR = 3_600_000;

async function flaggedPoints(influxUrl: string, db: string, device: string, bit: number): Promise<number> {
  const q = `SELECT "flags" FROM "numeric" WHERE "device" = '${device}' AND time > now() - 3h AND time < now() + 3h`;
  const res = await fetch(`${influxUrl}/query?db=${db}&epoch=ms`, { method: 'POST', body: new URLSearchParams({ q }), signal: AbortSignal.timeout(10_000) });
  const j = (await res.json()) as { results?: { series?: { values: [number, number][] }[] }[] };
  return (j.results?.[0]?.series?.[0]?.values ?? []).filter(([, f]) => (f & bit) !== 0).length;
}

t.test('gateway clock jumps +1 h and −1 h', async (t) => {
  const dir0 = { file: '' };
  const rig = await startRig(t, {
    name: 'clock', beds: 1, gatewayMode: 'process',
    gatewayNodeArgs: [`--import=${PRELOAD}`],
    gatewayEnv: { ORLINK_TEST_CLOCK_FILE: (dir0.file = join(process.env.TMPDIR ?? '/tmp', `orlink-clock-${process.pid}`)) },
  });
  t.teardown(() => writeFileSync(dir0.file, '0'));
  const b = rig.beds[0];
  const step = (ms: number) => { writeFileSync(dir0.file, String(ms)); b.child!.signal('SIGUSR2'); };
  await runFor(3_000);
  for (const shift of [HOUR, 0, -HOUR, 0]) {
    step(shift);
    await runFor(HOLD_MS);
  }
  await rig.stopDevices();
  rig.auditOptions = { flaggedRestampOk: true, waveShiftsMs: [HOUR, HOUR + 1000, HOUR - 1000, -HOUR, -HOUR + 1000, -HOUR - 1000] };
  const a = await rig.settle(cleanNumerics, 30_000);
  // identity is (device, channel, device time); the stored time may move with the gateway clock,
  // but only on flagged readings (flaggedRestampOk), and those are counted and reported
  const jumpFlagged = await flaggedPoints(rig.influxUrl, rig.database, b.deviceId, 1 << 11);
  const offsetFlagged = await flaggedPoints(rig.influxUrl, rig.database, b.deviceId, 1 << 10);
  const summary = `re-stamped ${a.restamped} (unflagged ${a.restampedUnflagged}), clock-jump flagged ${jumpFlagged}, clock-offset flagged ${offsetFlagged}`;
  t.comment(summary);
  t.ok(jumpFlagged > 0, 'the steps were detected: readings flagged clock-jump');
  t.equal(a.restampedUnflagged, 0, 'every reading stored away from its device time carries a clock flag');
  assertAudit(t, 'gateway clock ±1 h', a, { extra: summary, wavesTodo: WAVES_TODO });
});
