import t from 'tap';
import { DeviceClock } from './device-clock.js';

t.test('device time is used as is within the tolerance', async (t) => {
  const c = new DeviceClock('gateway', 5000);
  c.observe(1_000_000, 1_000_400);
  t.same(c.toT(1_000_000), { t: 1_000_000, flags: [] });
});

t.test('a large offset is applied in whole seconds and latched (no flip-flop near x.5 s)', async (t) => {
  const c = new DeviceClock('gateway', 5000);
  const hour = 3_600_000;
  const applied = new Set<number>();
  // whole-second device clock read with 0..999 ms of truncation + latency: offsets straddle 3600.5 s
  for (let i = 0; i < 40; i++) {
    const dev = 2_000_000 + i * 1000;
    c.observe(dev, dev + hour + (i % 2 ? 450 : 550));
    const { t: ts, flags } = c.toT(dev);
    applied.add(ts - dev);
    t.ok(flags.includes('clock-offset'));
  }
  t.equal(applied.size, 1, `one correction for the whole run (${[...applied].join(', ')})`);
});

t.test('a jump restarts the estimate and flags the record', async (t) => {
  const c = new DeviceClock('gateway', 5000);
  c.observe(1_000_000, 1_000_000);
  c.observe(1_001_000, 1_001_000 + 3_600_000);
  t.ok(c.toT(1_001_000).flags.includes('clock-jump'));
  c.observe(1_002_000, 1_002_000 + 3_600_000);
  const r = c.toT(1_002_000);
  t.notOk(r.flags.includes('clock-jump'));
  t.equal(r.t, 1_002_000 + 3_600_000);
});

t.test("'device' mode never corrects", async (t) => {
  const c = new DeviceClock('device', 5000);
  c.observe(1_000_000, 1_000_000 + 3_600_000);
  t.equal(c.toT(1_000_000).t, 1_000_000);
});
