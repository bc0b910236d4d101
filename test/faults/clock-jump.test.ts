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
import { pickWaveShift } from './harness/audit.js';
import { assertAudit, clean, LONG, runFor, startRig } from './harness/index.js';

// Wave blocks after a step: the GE driver applies the estimated offset in whole seconds, so a flagged
// block moves by the step, or the step ± 1 s. Found by this scenario (docs/reliability.md, Findings):
// the correction flipped between two seconds from record to record (now latched in
// protocols/common/device-clock.ts); a +1 h step tripped the session watchdog (the GE session now
// measures intervals monotonically) and lost the record in flight; and the audit placed a block by its
// first sample alone, which on the 60/min ECG (1 s periodic) often matches 1 s away ("a few samples off").

const PRELOAD = fileURLToPath(new URL('./harness/clock-shift.mjs', import.meta.url));
const HOLD_MS = LONG ? 60_000 : 4_000;
const HOUR = 3_600_000;

async function flaggedPoints(influxUrl: string, db: string, device: string, bit: number): Promise<number> {
  // numerics AND wave blocks: the step is flagged on the readings of the record or publish interval
  // it fell into, which may hold only wave blocks
  const where = `"device" = '${device}' AND time > now() - 3h AND time < now() + 3h`;
  const q = `SELECT "flags" FROM "numeric" WHERE ${where}; SELECT "flags" FROM "wave" WHERE ${where}`;
  const res = await fetch(`${influxUrl}/query?db=${db}&epoch=ms`, { method: 'POST', body: new URLSearchParams({ q }), signal: AbortSignal.timeout(10_000) });
  const j = (await res.json()) as { results?: { series?: { values: [number, number][] }[] }[] };
  return (j.results ?? []).flatMap((r) => r.series?.[0]?.values ?? []).filter(([, f]) => (f & bit) !== 0).length;
}

t.test('audit: a shifted wave block is placed by all its samples, not by its first one', async (t) => {
  // 4 s of a 300 Hz channel that repeats every second (value 0 at each second, like an ECG baseline)
  const T0 = 1_795_315_000_000;
  const rate = 300;
  const i0 = (T0 * rate) / 1000;
  const wantS = new Map<string, number>();
  for (let k = 0; k < 4 * rate; k++) wantS.set(`ECG|${i0 + k}`, k % rate === 0 ? 0 : (k % rate) / 1000 + Math.floor(k / rate));
  // the block produced at T0 + 1 s, stored corrected by the step + 1 s
  const samples = Array.from({ length: rate }, (_, i) => wantS.get(`ECG|${i0 + rate + i}`)!);
  const block = { t0: T0 + 1000 + HOUR + 1000, rateHz: rate, samples };
  t.equal(
    pickWaveShift(wantS, 'ECG', block, [HOUR, HOUR + 1000, HOUR - 1000]),
    HOUR + 1000,
    'the first sample also matches under HOUR (1 s later); every sample matches only under HOUR + 1 s',
  );
  t.equal(pickWaveShift(wantS, 'ECG', { ...block, t0: T0 + 1000 - HOUR }, [HOUR, -HOUR, -HOUR - 1000]), -HOUR);
  t.equal(pickWaveShift(wantS, 'ECG', { ...block, t0: T0 + 99_000 }, [HOUR, -HOUR]), undefined, 'no candidate position produced');
});

t.test('gateway clock jumps +1 h and −1 h', async (t) => {
  const dir0 = { file: '' };
  const rig = await startRig(t, {
    name: 'clock',
    beds: 1,
    gatewayMode: 'process',
    gatewayNodeArgs: [`--import=${PRELOAD}`],
    gatewayEnv: { ORLINK_TEST_CLOCK_FILE: (dir0.file = join(process.env.TMPDIR ?? '/tmp', `orlink-clock-${process.pid}`)) },
  });
  t.teardown(() => writeFileSync(dir0.file, '0'));
  const b = rig.beds[0];
  const step = (ms: number) => {
    writeFileSync(dir0.file, String(ms));
    b.child!.signal('SIGUSR2');
  };
  await runFor(3_000);
  for (const shift of [HOUR, 0, -HOUR, 0]) {
    step(shift);
    await runFor(HOLD_MS);
  }
  await rig.stopDevices();
  rig.auditOptions = { flaggedRestampOk: true, waveShiftsMs: [HOUR, HOUR + 1000, HOUR - 1000, -HOUR, -HOUR + 1000, -HOUR - 1000] };
  const a = await rig.settle(clean, 30_000);
  // identity is (device, channel, device time); the stored time may move with the gateway clock,
  // but only on flagged readings (flaggedRestampOk), and those are counted and reported
  const jumpFlagged = await flaggedPoints(rig.influxUrl, rig.database, b.deviceId, 1 << 11);
  const offsetFlagged = await flaggedPoints(rig.influxUrl, rig.database, b.deviceId, 1 << 10);
  const summary = `re-stamped ${a.restamped} (unflagged ${a.restampedUnflagged}), clock-jump flagged ${jumpFlagged}, clock-offset flagged ${offsetFlagged}`;
  t.comment(summary);
  t.ok(jumpFlagged > 0, 'the steps were detected: readings flagged clock-jump');
  t.equal(a.restampedUnflagged, 0, 'every reading stored away from its device time carries a clock flag');
  assertAudit(t, 'gateway clock ±1 h', a, { extra: summary });
});
