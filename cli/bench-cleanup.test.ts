/**
 * `orlink bench` and the soak (bench/soak.ts) leave no process behind: a bench whose start-up
 * fails after its first gateway processes started (ORLINK_FAIL_AT, cli/fail-at.ts), a bench sent
 * SIGTERM inside its measurement window, and a soak sent SIGTERM once its beds are up. Each run has
 * a temp dir of its own (also its TMPDIR); its processes are the PIDs it reports (bench, log level
 * info) and every process whose command line names that dir.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CollectedRun, REPO, processesMatching, runOrlink, stillRunningAfter } from '../test/helpers/leftovers.js';

const START_MS = 90_000; // a bound for a loaded machine: start-up takes 3-10 s
const GONE_MS = 5_000;

function tempDir(t: Test, run: () => CollectedRun | undefined): string {
  const dir = mkdtempSync(join(tmpdir(), 'orlink-bench-cleanup-'));
  t.teardown(async () => {
    const r = run();
    if (r && r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    for (const p of processesMatching(dir)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

function bench(t: Test, beds: number, env: NodeJS.ProcessEnv = {}): { run: CollectedRun; dir: string } {
  let run: CollectedRun | undefined;
  const dir = tempDir(t, () => run);
  run = runOrlink(
    [
      'bench',
      '--beds',
      String(beds),
      '--seconds',
      '5',
      '--warmup',
      '0',
      '--waves',
      'ECG1',
      '--dir',
      join(dir, 'data'),
      '--out',
      join(dir, 'result.json'),
      '--log-level',
      'info',
    ],
    { TMPDIR: dir, ...env },
  );
  return { run, dir };
}

async function nothingLeft(t: Test, pids: number[], dir: string): Promise<void> {
  const unique = [...new Set(pids)];
  t.same(await stillRunningAfter(unique, GONE_MS), [], `none of its child processes runs (${unique.join(', ')})`);
  t.same(
    processesMatching(dir).map((p) => p.cmdline),
    [],
    'no process names its temp dir',
  );
}

t.test('bench: start-up fails after the second gateway process started: nothing left, coded error', async (t) => {
  const { run, dir } = bench(t, 2, { ORLINK_FAIL_AT: 'gateway:2' });
  const exit = await run.exited;
  t.equal(exit.code, 1, 'exit code 1', { output: run.tail() });
  t.match(run.stderr, /orlink bench: CLI_ERR_INJECTED: injected failure at stage 'gateway' \(pass 2/);
  const reported = run.reportedChildren();
  const count = (label: string) => reported.filter((c) => c.label === label).length;
  t.same([count('influxd'), count('socat'), count('orlink gateway')], [1, 2, 2], 'it had started influxd, 2 socat, 2 gateway processes');
  await nothingLeft(
    t,
    reported.map((c) => c.pid),
    dir,
  );
});

t.test('bench: SIGTERM in the measurement window stops every process, exit 143', async (t) => {
  const { run, dir } = bench(t, 1);
  await run.waitFor((out) => /window \d{4}-/.test(out), 'the measurement window', START_MS);
  const seen = processesMatching(dir);
  t.ok(
    ['influxd', 'socat', 'gateway --config'].every((k) => seen.some((p) => p.cmdline.includes(k))),
    'influxd, socat and a gateway process run before the signal',
  );
  run.child.kill('SIGTERM');
  const exit = await run.exited;
  t.equal(exit.code, 143, 'exit code 143', { output: run.tail() });
  t.match(run.stderr, /orlink bench: CLI_ERR_INTERRUPTED: SIGTERM/);
  await nothingLeft(t, [...run.reportedChildren().map((c) => c.pid), ...seen.map((p) => p.pid)], dir);
});

t.test('soak: SIGTERM once its beds are up stops every process, exit 143', async (t) => {
  let run: CollectedRun | undefined;
  const dir = tempDir(t, () => run);
  run = new CollectedRun(
    process.execPath,
    ['--import=tsx', join(REPO, 'bench/soak.ts'), '--beds', '1', '--minutes', '5', '--fault-every', '600', '--waves', 'none', '--out', join(dir, 'soak.json')],
    { ...process.env, TMPDIR: dir },
  );
  const r = run;
  await r.waitFor((_o, err) => /soak: 1 beds up/.test(err), 'the beds up', START_MS);
  const seen = processesMatching(dir);
  t.ok(
    ['influxd', 'socat', 'ingest --config', 'gateway --config'].every((k) => seen.some((p) => p.cmdline.includes(k))),
    'influxd, socat, ingest and a gateway process run before the signal',
    { seen: seen.map((p) => p.cmdline) },
  );
  r.child.kill('SIGTERM');
  const exit = await r.exited;
  t.equal(exit.code, 143, 'exit code 143', { output: r.tail() });
  t.match(r.stderr, /orlink soak: CLI_ERR_INTERRUPTED: SIGTERM/);
  await nothingLeft(
    t,
    seen.map((p) => p.pid),
    dir,
  );
});
