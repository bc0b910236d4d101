/**
 * ProcessGroup (cli/process-group.ts): the order of an orderly stop, the process-group kill
 * (grandchildren go too), SIGKILL after the grace, bounded closers, idempotence, refusal while
 * stopping; and, in a child process (process-group.fixture.ts), the guard: a signal, an uncaught
 * exception, a second signal while stopping, and process.exit without close leave nothing running.
 */
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { ProcessGroup } from './process-group.js';
import { CollectedRun, isRunning, stillRunningAfter } from '../test/helpers/leftovers.js';

const FIXTURE = fileURLToPath(new URL('./process-group.fixture.ts', import.meta.url));
const GONE_MS = 5_000;

function ownGroup(t: Test, o: { graceMs?: number; closerTimeoutMs?: number } = {}): ProcessGroup {
  const g = new ProcessGroup({ name: 'test', ...o });
  t.teardown(() => g.killAllSync());
  return g;
}

/** A shell that starts `sleep` in the background and reports its pid: [shell, grandchild]. */
async function shellWithGrandchild(g: ProcessGroup, ignoreTerm = false): Promise<[number, number]> {
  const sh = g.spawn('sh', ['-c', `${ignoreTerm ? 'trap "" TERM; ' : ''}sleep 300 & echo $!; wait`], { stdio: ['ignore', 'pipe', 'ignore'] });
  const [chunk] = (await once(sh.stdout!, 'data')) as [Buffer];
  return [sh.pid!, Number(String(chunk).trim())];
}

t.test('close: closers newest first while children run, then children and grandchildren stop; idempotent', async (t) => {
  const g = ownGroup(t);
  const [sh, grandchild] = await shellWithGrandchild(g);
  t.ok(isRunning(sh) && isRunning(grandchild), 'shell and its child run');
  const order: string[] = [];
  g.defer('first', () => {
    order.push(`first:${isRunning(grandchild)}`);
  });
  g.defer('second', async () => {
    await new Promise((r) => setTimeout(r, 20));
    order.push(`second:${isRunning(sh)}`);
  });
  const a = g.close();
  const b = g.close();
  t.equal(a, b, 'a second close() is the same close');
  await a;
  t.same(order, ['second:true', 'first:true'], 'closers ran newest first, before any child was stopped');
  t.same(await stillRunningAfter([sh, grandchild], GONE_MS), [], 'the shell and its grandchild are gone');
  t.same(g.alive(), []);
  await g.close();
  t.same(order.length, 2, 'closers ran once');
});

t.test('a child that ignores SIGTERM (and its grandchild) is SIGKILLed after the grace', async (t) => {
  const g = ownGroup(t, { graceMs: 300 });
  const [sh, grandchild] = await shellWithGrandchild(g, true);
  const t0 = Date.now();
  await g.close();
  t.ok(Date.now() - t0 >= 300, 'waited the grace');
  t.same(await stillRunningAfter([sh, grandchild], GONE_MS), [], 'both gone');
});

t.test('a closer that throws or hangs does not keep the others from running', async (t) => {
  const g = ownGroup(t, { closerTimeoutMs: 200 });
  const [sh] = await shellWithGrandchild(g);
  const ran: string[] = [];
  g.defer('last', () => {
    ran.push('last');
  });
  g.defer('hangs', () => new Promise(() => {}));
  g.defer('throws', () => {
    throw new Error('boom');
  });
  await g.close();
  t.same(ran, ['last']);
  t.same(await stillRunningAfter([sh], GONE_MS), [], 'the child was stopped all the same');
});

t.test('while stopping: spawn refused (nothing started), defer and adopt act at once', async (t) => {
  const g = ownGroup(t);
  await g.close();
  t.throws(() => g.spawn('sleep', ['300'], { stdio: 'ignore' }), { code: 'CLI_ERR_STOPPING' });
  t.same(g.owned(), [], 'nothing was started');
  let closed = false;
  g.defer('late', () => {
    closed = true;
  });
  await new Promise((r) => setImmediate(r));
  t.ok(closed, 'a closer registered after close ran at once');
  const other = ownGroup(t);
  const child = other.spawn('sleep', ['300'], { stdio: 'ignore' });
  g.adopt(child, 'sleep', true);
  t.same(await stillRunningAfter([child.pid!], GONE_MS), [], 'a child adopted after close was stopped');
});

t.test('a child that exits by itself takes what it left in its group along', async (t) => {
  const g = ownGroup(t);
  const sh = g.spawn('sh', ['-c', 'sleep 300 & echo $!'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const [chunk] = (await once(sh.stdout!, 'data')) as [Buffer];
  const orphan = Number(String(chunk).trim());
  await once(sh, 'exit');
  t.same(await stillRunningAfter([orphan], GONE_MS), [], 'the orphaned sleep is gone');
});

t.test('killAllSync SIGKILLs every child group at once', async (t) => {
  const g = ownGroup(t);
  const [sh, grandchild] = await shellWithGrandchild(g, true);
  g.killAllSync();
  t.same(await stillRunningAfter([sh, grandchild], GONE_MS), [], 'gone');
});

function fixture(t: Test, mode: string): CollectedRun {
  const run = new CollectedRun(process.execPath, ['--import=tsx', FIXTURE, mode], { ...process.env });
  t.teardown(() => {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  });
  return run;
}

async function fixturePids(run: CollectedRun): Promise<number[]> {
  await run.waitFor((out) => out.includes('{"pids"'), 'the pids line', 30_000);
  const pids = (JSON.parse(run.stdout.split('\n').find((l) => l.startsWith('{"pids"'))!) as { pids: number[] }).pids;
  return pids;
}

t.test('guarded run: SIGTERM stops every child (and grandchild), coded message, exit 143', async (t) => {
  const run = fixture(t, 'hang');
  const pids = await fixturePids(run);
  t.ok(pids.every(isRunning), 'children run');
  run.child.kill('SIGTERM');
  const exit = await run.exited;
  t.equal(exit.code, 143, 'exit code 143', { output: run.tail() });
  t.match(run.stderr, /orlink fixture: CLI_ERR_INTERRUPTED: SIGTERM/);
  t.same(await stillRunningAfter(pids, GONE_MS), []);
});

t.test('guarded run: children ignoring SIGTERM are killed after the grace', async (t) => {
  const run = fixture(t, 'stubborn');
  const pids = await fixturePids(run);
  run.child.kill('SIGINT');
  const exit = await run.exited;
  t.equal(exit.code, 130, 'exit code 130', { output: run.tail() });
  t.same(await stillRunningAfter(pids, GONE_MS), []);
});

t.test('guarded run: an uncaught exception stops everything, exit 1, one coded line', async (t) => {
  const run = fixture(t, 'uncaught');
  const pids = await fixturePids(run);
  const exit = await run.exited;
  t.equal(exit.code, 1, 'exit code 1', { output: run.tail() });
  t.match(run.stderr, /orlink fixture: CLI_ERR_UNCAUGHT: uncaught error: boom/);
  t.notMatch(run.stderr, /\n\s+at /, 'no stack trace');
  t.same(await stillRunningAfter(pids, GONE_MS), []);
});

t.test('guarded run: a second signal while a closer hangs kills every child at once', async (t) => {
  const run = fixture(t, 'stuck');
  const pids = await fixturePids(run);
  run.child.kill('SIGTERM');
  await run.waitFor((_o, err) => err.includes('CLI_ERR_INTERRUPTED'), 'the interruption', 10_000);
  const t0 = Date.now();
  run.child.kill('SIGTERM');
  const exit = await run.exited;
  t.ok(Date.now() - t0 < 5_000, 'ended at once, not after the closer timeout');
  t.equal(exit.code, 143, 'exit code 143', { output: run.tail() });
  t.match(run.stderr, /SIGTERM again: killing every child process now/);
  t.same(await stillRunningAfter(pids, GONE_MS), []);
});

t.test('process.exit without close: the exit handler kills every child', async (t) => {
  const run = fixture(t, 'exit');
  const pids = await fixturePids(run);
  const exit = await run.exited;
  t.equal(exit.code, 3, 'exit code 3', { output: run.tail() });
  t.same(await stillRunningAfter(pids, GONE_MS), []);
});
