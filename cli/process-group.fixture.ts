/**
 * Fixture of process-group.test.ts (a script, not a test): a verb-like run that starts children
 * through a guarded ProcessGroup, prints one JSON line `{"pids":[...]}` (a child, a shell, the
 * shell's own child: a grandchild) and then ends as argv[2] says:
 *   hang      waits for a signal (runGuarded)
 *   stubborn  the same, but every child ignores SIGTERM
 *   uncaught  throws from a timer: an uncaught exception (runGuarded)
 *   stuck     waits for a signal, with a closer that never finishes (a second signal must end it)
 *   exit      a bare guarded group, never closed: process.exit(3) (only the 'exit' handler can act)
 */
import { once } from 'node:events';
import { ProcessGroup, runGuarded } from './process-group.js';

const mode = process.argv[2] ?? 'hang';
const ignoreTerm = mode === 'stubborn' ? 'trap "" TERM; ' : '';

async function startChildren(group: ProcessGroup): Promise<number[]> {
  const direct = group.spawn('sh', ['-c', `${ignoreTerm}exec sleep 300`], { stdio: 'ignore' });
  const shell = group.spawn('sh', ['-c', `${ignoreTerm}sleep 300 & echo $!; wait`], { stdio: ['ignore', 'pipe', 'ignore'] });
  const [chunk] = (await once(shell.stdout!, 'data')) as [Buffer];
  const pids = [direct.pid!, shell.pid!, Number(String(chunk).trim())];
  process.stdout.write(`${JSON.stringify({ pids })}\n`);
  return pids;
}

if (mode === 'exit') {
  const group = new ProcessGroup({ name: 'fixture' });
  group.guard();
  await startChildren(group);
  process.exit(3);
} else {
  const code = await runGuarded({ verb: 'fixture', graceMs: 500, forceExitAfterMs: 2000 }, async (group) => {
    if (mode === 'stuck') group.defer('never finishes', () => new Promise(() => {}));
    await startChildren(group);
    if (mode === 'uncaught')
      setTimeout(() => {
        throw new Error('boom');
      }, 10);
    await new Promise(() => {}); // until interrupted
    return 0;
  });
  process.exitCode = code;
}
