/**
 * `orlink demo` leaves no process behind, however it ends: a start-up failure injected after
 * InfluxDB and a socat pty started (ORLINK_FAIL_AT, cli/fail-at.ts), a crash (an uncaught
 * exception) at the same point, a signal during start-up, and SIGTERM / SIGINT once it runs.
 * Each run gets a temp dir of its own; its processes are found two ways: the PIDs it reports
 * (log level info: `child started`) and every process whose command line names the temp dir.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processesMatching, runOrlink, stillRunningAfter, type CollectedRun } from '../test/helpers/leftovers.js';

const START_MS = 90_000; // a bound for a loaded machine: start-up takes 2-5 s
const GONE_MS = 5_000;

function demo(t: Test, env: NodeJS.ProcessEnv = {}): { run: CollectedRun; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'orlink-demo-cleanup-'));
  const run = runOrlink(['demo', '--ors', '1', '--dir', join(dir, 'data'), '--log-level', 'info'], { TMPDIR: dir, ...env });
  t.teardown(async () => {
    // never leave a stray run behind, even when an assertion failed
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    for (const p of processesMatching(dir)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return { run, dir };
}

const started = (run: CollectedRun, label: string) => () => run.reportedChildren().some((c) => c.label === label);

/** The reported children include influxd and socat, and neither they nor anything naming the dir runs. */
async function nothingLeft(t: Test, run: CollectedRun, dir: string, also: number[] = []): Promise<void> {
  const reported = run.reportedChildren();
  t.ok(
    reported.some((c) => c.label === 'influxd'),
    'the run had started influxd',
  );
  t.ok(
    reported.some((c) => c.label === 'socat'),
    'the run had started socat',
  );
  const pids = [...new Set([...reported.map((c) => c.pid), ...also])];
  t.same(await stillRunningAfter(pids, GONE_MS), [], `none of its child processes runs (${pids.join(', ')})`);
  t.same(
    processesMatching(dir).map((p) => p.cmdline),
    [],
    'no process names its temp dir',
  );
}

t.test('start-up failure after InfluxDB and the first pty: nothing left, coded error', async (t) => {
  const { run, dir } = demo(t, { ORLINK_FAIL_AT: 'pty' });
  const exit = await run.exited;
  t.equal(exit.code, 1, 'exit code 1', { output: run.tail() });
  t.match(run.stderr, /orlink demo: CLI_ERR_START: the demo could not start: CLI_ERR_INJECTED: injected failure at stage 'pty'/);
  t.notMatch(run.stderr, /\n\s+at /, 'no stack trace');
  await nothingLeft(t, run, dir);
});

t.test('crash (uncaught exception) after the simulator started: nothing left, coded error', async (t) => {
  const { run, dir } = demo(t, { ORLINK_FAIL_AT: 'sim:uncaught' });
  const exit = await run.exited;
  t.equal(exit.code, 1, 'exit code 1', { output: run.tail() });
  t.match(run.stderr, /orlink demo: CLI_ERR_UNCAUGHT: uncaught error: CLI_ERR_INJECTED: injected failure at stage 'sim'/);
  await nothingLeft(t, run, dir);
});

t.test('SIGHUP during start-up, once influxd and socat started: nothing left', async (t) => {
  // start-up holds after the pty stage (socat started) until the signal: the signal lands in start-up, not after it
  const { run, dir } = demo(t, { ORLINK_FAIL_AT: 'pty:hold' });
  await run.waitFor(started(run, 'socat'), 'socat started', START_MS);
  const seen = processesMatching(dir).map((p) => p.pid);
  t.ok(seen.length >= 2, `influxd and socat found by their dir before the signal (${seen.length})`);
  run.child.kill('SIGHUP');
  const exit = await run.exited;
  t.equal(exit.code, 129, 'exit code 128+SIGHUP', { output: run.tail() });
  t.match(run.stderr, /orlink demo: CLI_ERR_INTERRUPTED: SIGHUP/);
  await nothingLeft(t, run, dir, seen);
});

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`${sig} once the demo runs (URLs and a live line printed): everything stops, exit 0`, async (t) => {
    const { run, dir } = demo(t);
    await run.waitFor((out) => out.includes('Ctrl-C stops everything') && /^\d\d:\d\d:\d\d OR1 /m.test(out), 'the URLs and a live line', START_MS);
    const seen = processesMatching(dir);
    t.ok(seen.some((p) => p.cmdline.includes('influxd')) && seen.some((p) => p.cmdline.startsWith('socat')), 'influxd and socat run before the signal');
    run.child.kill(sig);
    const exit = await run.exited;
    t.equal(exit.code, 0, 'exit code 0', { output: run.tail() });
    t.match(run.stdout, /stopping gateways, simulators, ingest and InfluxDB \.\.\.\nstopped\.\n/);
    await nothingLeft(t, run, dir, [run.pid, ...seen.map((p) => p.pid)]);
  });
}
