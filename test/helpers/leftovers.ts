/**
 * For tests that prove a run leaves no process behind (Linux /proc): find processes by a marker in
 * their command line (the run's own temp dir), tell running from gone (a zombie counts as gone: it
 * holds nothing but its pid entry), wait for them with a deadline, and run `node bin/orlink.js ...`
 * or a script with its output collected and the child PIDs it reports (pino `child started` lines
 * of cli/process-group.ts at log level info).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ORLINK_BIN = fileURLToPath(new URL('../../bin/orlink.js', import.meta.url));
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Live processes (not zombies) whose command line contains `marker`, this process excluded. */
export function processesMatching(marker: string): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (cmdline.includes(marker) && isRunning(Number(name))) found.push({ pid: Number(name), cmdline });
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}

/** The pid exists and is not a zombie. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Poll until none of `pids` runs or the deadline passes; returns those still running. */
export async function stillRunningAfter(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = pids.filter(isRunning);
    if (!left.length || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process with its stdout/stderr collected; `waitFor` a line, `exited`. */
export class CollectedRun {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  private readonly waiters = new Set<() => void>();

  constructor(command: string, args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(command, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const poke = () => {
      for (const w of this.waiters) w();
    };
    this.child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      this.stdout += s;
      poke();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      this.stderr += s;
      poke();
    });
    // 'exit', then the rest of its output ('close') for at most 2 s: a leaked grandchild holding the
    // pipes open must not hang the test that is about to find it
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        const done = () => {
          clearTimeout(timer);
          poke();
          resolve({ code, signal });
        };
        const timer = setTimeout(done, 2000);
        this.child.once('close', done);
      }),
    );
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Resolves when `test(stdout, stderr)` holds; rejects on exit first or after `timeoutMs`. */
  waitFor(test: (stdout: string, stderr: string) => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.waiters.delete(check);
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        if (test(this.stdout, this.stderr)) finish();
        else if (this.child.exitCode !== null || this.child.signalCode !== null) finish(new Error(`exited before ${what}:\n${this.tail()}`));
      };
      const timer = setTimeout(() => finish(new Error(`no ${what} within ${timeoutMs} ms:\n${this.tail()}`)), timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Child processes the run reported starting (`child started`, log level info). */
  reportedChildren(): { pid: number; label: string }[] {
    const out: { pid: number; label: string }[] = [];
    for (const line of this.stderr.split('\n')) {
      if (!line.includes('"child started"')) continue;
      try {
        const j = JSON.parse(line) as { childPid: number; label: string };
        out.push({ pid: j.childPid, label: j.label });
      } catch {
        /* a line cut by the exit */
      }
    }
    return out;
  }

  tail(n = 3000): string {
    return `--- stdout\n${this.stdout.slice(-n)}\n--- stderr\n${this.stderr.slice(-n)}`;
  }
}

/** `node bin/orlink.js <args>` in the repo, with `env` added to this process's environment. */
export function runOrlink(args: string[], env: NodeJS.ProcessEnv = {}): CollectedRun {
  return new CollectedRun(process.execPath, [ORLINK_BIN, ...args], { ...process.env, ...env });
}
