/**
 * Regression: every saved crasher (test/fuzz/crashers/<target>/) replays through its target
 * without failing. And the fuzzer itself, on fake targets with known defects: a throwing target
 * gives a saved, minimised crasher whose replay fails (so this test can fail) and passes once the
 * defect is "fixed"; an invariant violation is reported as such; an infinite loop is caught by the
 * watchdog and saved; a leak is reported as heap growth.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { CRASHERS_DIR, listCrashers } from './crashers.js';
import { fuzz, replayCrashers } from './fuzz.js';

const FAKE = new URL('./fake-targets.fixture.ts', import.meta.url).href;

t.test('every saved crasher replays clean', async (t) => {
  const saved = listCrashers(CRASHERS_DIR);
  if (!saved.length) {
    t.pass('no saved crashers');
    return;
  }
  for (const r of await replayCrashers(CRASHERS_DIR, { hangMs: 2000 })) {
    t.notOk(r.failure, `${r.file.slice(CRASHERS_DIR.length + 1)}${r.failure ? `: ${r.failure.kind}: ${r.failure.message}` : ''}`);
  }
});

t.test('fake targets: crash → saved, minimised crasher → replay fails → passes after the fix', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orlink-fuzz-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const report = await fuzz({
    module: FAKE,
    only: ['fake/throws', 'fake/invariant', 'fake/clean'],
    cases: 600,
    seed: 7,
    jobs: 2,
    seconds: 60,
    minimiseMs: 3000,
    crashersDir: dir,
  });
  const byTarget = Object.fromEntries(report.targets.map((r) => [r.target, r]));
  t.equal(report.ok, false, 'the run reports failures');
  t.equal(byTarget['fake/clean'].failures.length, 0);
  t.equal(byTarget['fake/clean'].cases, 200, 'cases per protocol split between its targets');
  const crash = byTarget['fake/throws'].failures;
  t.equal(crash.length, 1, 'one defect, however often it was hit');
  t.equal(crash[0].kind, 'crash');
  t.ok(crash[0].count > 1, `hit ${crash[0].count} times`);
  t.match(crash[0].message, /fake defect/);
  t.equal(byTarget['fake/invariant'].failures[0]?.kind, 'invariant');

  const saved = listCrashers(dir);
  t.same(saved.map((c) => c.target).sort(), ['fake/invariant', 'fake/throws']);
  const thrower = saved.find((c) => c.target === 'fake/throws')!;
  t.match(thrower.file, /[0-9a-f]{16}\.hexlog$/);
  t.ok(existsSync(thrower.file.replace(/\.hexlog$/, '.json')), 'metadata beside it');
  t.match(readFileSync(thrower.file, 'latin1'), /^# orlink fuzz crasher: crash in fake\/throws/);
  t.same(
    thrower.case.chunks.map((c) => [...c.bytes]),
    [[0xee]],
    'minimised to the one bad byte',
  );
  t.equal(thrower.meta?.found.seed, 7);

  const before = await replayCrashers(dir, { module: FAKE, hangMs: 2000 });
  t.ok(before.find((r) => r.target === 'fake/throws')?.failure, 'replaying the crasher fails while the defect is there');
  process.env.ORLINK_FAKE_FIXED = '1';
  t.teardown(() => {
    delete process.env.ORLINK_FAKE_FIXED;
  });
  const after = await replayCrashers(dir, { module: FAKE, hangMs: 2000 });
  t.notOk(after.find((r) => r.target === 'fake/throws')?.failure, 'and passes after the fix');
});

t.test('fake targets: an infinite loop is caught by the watchdog; a leak is heap growth', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orlink-fuzz-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const report = await fuzz({
    module: FAKE,
    only: ['fake/hangs', 'fake/leaks'],
    cases: 1200,
    seed: 3,
    jobs: 2,
    seconds: 90,
    hangMs: 300,
    heapGrowthMb: 16,
    heapEvery: 100,
    crashersDir: dir,
  });
  const hangs = report.targets.find((r) => r.target === 'fake/hangs')!;
  t.equal(hangs.failures[0]?.kind, 'hang', 'hang detected');
  t.equal(hangs.stoppedBy, 'hangs', 'target given up after maxHangs');
  t.ok(hangs.failures[0]?.count >= 1);
  const saved = listCrashers(dir).filter((c) => c.target === 'fake/hangs');
  t.equal(saved.length, 1, 'the hanging input is saved');
  t.ok(
    saved[0].case.chunks.some((c) => c.bytes.includes(0xee)),
    'and it holds the bad byte',
  );
  const replay = await replayCrashers(dir, { module: FAKE, hangMs: 300 });
  t.equal(replay.find((r) => r.target === 'fake/hangs')?.failure?.kind, 'hang', 'replaying it is caught too (no hang of the caller)');
  const leaks = report.targets.find((r) => r.target === 'fake/leaks')!;
  t.ok(
    leaks.failures.some((f) => f.kind === 'heap'),
    `leak reported: growth ${leaks.heap.growthMb} MB`,
  );
  t.equal(report.totals.hangs, 1);
});
