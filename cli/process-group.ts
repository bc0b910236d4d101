/**
 * Ownership of everything a stack-running verb starts (`orlink demo`, `orlink bench`, the soak), so
 * that nothing it started outlives it, however it ends.
 *
 * - Child processes are started with `group.spawn` (handed to startInfluxd, openPtyPair, the fault
 *   rig, ... as their `spawn` option): each child is detached into a POSIX process group of its own
 *   and registered at once; stopping it signals the whole group (`kill(-pid)`), so whatever it
 *   started itself goes with it. Once the group is stopping, `spawn` refuses (CLI_ERR_STOPPING).
 * - In-process pieces (ingest, simulators, in-process gateways, timers) register `defer(label, close)`.
 * - `close()`: every closer, newest first, each bounded in time; then every child still running
 *   gets SIGTERM (to its group), SIGKILL after `graceMs`, and its exit is awaited. Idempotent.
 * - `guard()`: SIGINT/SIGTERM/SIGHUP, uncaughtException and unhandledRejection become the group's
 *   `interrupted` outcome (the verb stops and closes); a second signal, or the hard deadline after
 *   the first, kills every child synchronously and exits; process 'exit' synchronously SIGKILLs
 *   whatever child is still alive (the last resort).
 * - `runGuarded()` is the whole pattern for a verb: body, coded one-line error, close in `finally`.
 * Not covered: a SIGKILL of the verb's own process (nothing in the process can react to it).
 */
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { constants } from 'node:os';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import { CLI_ERR, CliError, describeError, errorCode } from './errors.js';

/** How launchers start a process; `child_process.spawn` fits, and so does `ProcessGroup.spawn`. */
export type Spawner = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export type Interruption = { kind: 'signal'; signal: NodeJS.Signals } | { kind: 'error'; error: unknown };

interface ChildEntry {
  label: string;
  pid: number;
  /** leader of its own process group (spawned detached): signals go to -pid */
  leader: boolean;
  exited: Promise<void>;
  done: boolean;
  stopping?: Promise<void>;
}

interface Closer {
  label: string;
  close: () => Promise<unknown> | unknown;
}

export interface ProcessGroupOptions {
  /** the verb, in messages */
  name: string;
  logger?: Logger;
  /** SIGTERM → SIGKILL (default 10 s) */
  graceMs?: number;
  /** longest wait for one in-process closer (default 30 s) */
  closerTimeoutMs?: number;
}

const GUARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export const signalExitCode = (sig: NodeJS.Signals): number => 128 + (constants.signals[sig] ?? 0);

function labelOf(command: string, args: readonly string[]): string {
  const cmd = basename(command);
  if (!cmd.startsWith('node')) return cmd;
  const script = args.findIndex((a) => !a.startsWith('-') && /\.[cm]?[jt]s$/.test(a));
  if (script < 0) return cmd;
  return [basename(args[script]).replace(/\.[cm]?[jt]s$/, ''), args[script + 1]].filter(Boolean).join(' ');
}

const childProcesses = (n: number): string => `${n} child process${n === 1 ? '' : 'es'}`;

const delay = (ms: number): { done: Promise<void>; cancel: () => void } => {
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((r) => {
    timer = setTimeout(r, ms);
  });
  return { done, cancel: () => clearTimeout(timer) };
};

export class ProcessGroup {
  readonly name: string;
  /** Set by a verb once a signal is its normal way to stop (the demo, after printing its URLs). */
  signalIsStop = false;
  private readonly log?: Logger;
  private readonly graceMs: number;
  private readonly closerTimeoutMs: number;
  private readonly children: ChildEntry[] = [];
  private readonly byChild = new WeakMap<ChildProcess, ChildEntry>();
  private readonly closers: Closer[] = [];
  /** closers and child stops registered while closing: close() awaits them too */
  private readonly late: Promise<void>[] = [];
  private closing?: Promise<void>;
  private interruption?: Interruption;
  private resolveInterrupted!: (i: Interruption) => void;
  /** Resolves with the first signal or uncaught error after guard(); never rejects. */
  readonly interrupted: Promise<Interruption>;

  constructor(o: ProcessGroupOptions) {
    this.name = o.name;
    this.log = o.logger?.child({ component: 'process-group' });
    this.graceMs = o.graceMs ?? 10_000;
    this.closerTimeoutMs = o.closerTimeoutMs ?? 30_000;
    this.interrupted = new Promise((r) => {
      this.resolveInterrupted = r;
    });
  }

  get stopping(): boolean {
    return this.closing !== undefined;
  }

  /** Start a child detached into its own process group and own it (see Spawner). */
  readonly spawn: Spawner = (command, args, options) => {
    if (this.closing) throw new CliError(CLI_ERR.STOPPING, `${labelOf(command, args)} not started: ${this.name} is stopping`);
    const child = nodeSpawn(command, args, { ...options, detached: true });
    this.adopt(child, labelOf(command, args), true);
    return child;
  };

  /**
   * Own a child started elsewhere. `leader`: it was spawned detached (its pid is its process
   * group). A child that failed to spawn (no pid) is ignored: its 'error' event tells the spawner.
   */
  adopt(child: ChildProcess, label: string, leader = false): ChildProcess {
    if (child.pid === undefined) return child;
    const gone = child.exitCode !== null || child.signalCode !== null;
    const e: ChildEntry = { label, pid: child.pid, leader, done: gone, exited: Promise.resolve() };
    if (!gone) {
      e.exited = new Promise<void>((r) =>
        child.once('exit', () => {
          e.done = true;
          // the leader is gone (just reaped): whatever it left in its group goes too, now, while
          // the group id cannot belong to anyone else
          if (leader) {
            try {
              process.kill(-e.pid, 'SIGKILL');
            } catch {
              /* ESRCH: nothing left */
            }
          }
          r();
        }),
      );
    }
    this.children.push(e);
    this.byChild.set(child, e);
    this.log?.info({ childPid: e.pid, label, leader }, 'child started');
    if (this.closing) this.late.push(this.stopEntry(e));
    return child;
  }

  /** Register an in-process piece; a closer registered while stopping runs at once. */
  defer(label: string, close: () => Promise<unknown> | unknown): void {
    const c = { label, close };
    if (this.closing) this.late.push(this.runCloser(c));
    else this.closers.push(c);
  }

  /** SIGTERM → grace → SIGKILL one owned child now (e.g. in the order of an orderly stop); awaits its exit. */
  async stop(child: ChildProcess): Promise<void> {
    const e = this.byChild.get(child);
    if (e) await this.stopEntry(e);
  }

  /** Owned children (pid, label) still running. */
  alive(): { pid: number; label: string }[] {
    return this.children.filter((e) => !e.done).map(({ pid, label }) => ({ pid, label }));
  }

  /** Every child ever owned, for reports and tests. */
  owned(): { pid: number; label: string; running: boolean }[] {
    return this.children.map((e) => ({ pid: e.pid, label: e.label, running: !e.done }));
  }

  /** Closers newest first, then every child still running (SIGTERM, SIGKILL after grace). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const c of this.closers.splice(0).reverse()) await this.runCloser(c);
      await Promise.all(this.children.map((e) => this.stopEntry(e)));
      for (let i = 0; this.late.length && i < 100; i++) await Promise.all(this.late.splice(0));
      const left = this.alive();
      if (left.length) this.log?.error({ left }, 'children still running after SIGKILL');
    })();
    return this.closing;
  }

  /** SIGKILL every owned child (and its process group) still running. Synchronous. */
  killAllSync(): void {
    for (const e of this.children) if (!e.done) this.signal(e, 'SIGKILL');
  }

  /**
   * Turn signals and uncaught errors into `interrupted`; install the last-resort kill on exit.
   * `hardDeadlineMs` after the first interruption the process is ended even if closing hangs.
   * Returns the function that removes the handlers (the 'exit' one stays while a child may be running).
   */
  guard(o: { hardDeadlineMs?: number; write?: (line: string) => void } = {}): () => void {
    const write =
      o.write ??
      ((line: string) => {
        try {
          process.stderr.write(`${line}\n`);
        } catch {
          /* stderr gone (SIGHUP) */
        }
      });
    let hardTimer: NodeJS.Timeout | undefined;
    const interrupt = (i: Interruption, exitCode: number): void => {
      if (this.interruption) return;
      this.interruption = i;
      hardTimer = setTimeout(() => {
        write(`orlink ${this.name}: ${CLI_ERR.LEFTOVER}: still stopping after ${(o.hardDeadlineMs ?? 120_000) / 1000} s; killing every child process now`);
        this.killAllSync();
        process.exit(exitCode);
      }, o.hardDeadlineMs ?? 120_000);
      this.resolveInterrupted(i);
    };
    const onSignal = (sig: NodeJS.Signals): void => {
      if (this.interruption) {
        write(`orlink ${this.name}: ${sig} again: killing every child process now`);
        this.killAllSync();
        process.exit(signalExitCode(sig));
      }
      interrupt({ kind: 'signal', signal: sig }, signalExitCode(sig));
    };
    const onError = (error: unknown): void => {
      if (this.interruption) {
        write(`orlink ${this.name}: while stopping: ${describeError(error)}`);
        return;
      }
      interrupt({ kind: 'error', error }, 1);
    };
    const onExit = (): void => this.killAllSync();
    for (const s of GUARDED_SIGNALS) process.on(s, onSignal);
    process.on('uncaughtException', onError);
    process.on('unhandledRejection', onError);
    process.on('exit', onExit);
    return () => {
      clearTimeout(hardTimer);
      for (const s of GUARDED_SIGNALS) process.off(s, onSignal);
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onError);
      if (!this.alive().length) process.off('exit', onExit);
    };
  }

  private signal(e: ChildEntry, sig: NodeJS.Signals): void {
    // once reaped, its pid (and group id) may be reused by another program: never signal it then
    if (e.done) return;
    try {
      process.kill(e.leader ? -e.pid : e.pid, sig);
    } catch {
      /* ESRCH: already gone */
    }
  }

  private stopEntry(e: ChildEntry): Promise<void> {
    e.stopping ??= (async () => {
      if (!e.done) {
        this.signal(e, 'SIGTERM');
        const grace = delay(this.graceMs);
        await Promise.race([e.exited, grace.done]);
        grace.cancel();
        if (!e.done) {
          this.log?.warn({ childPid: e.pid, label: e.label, graceMs: this.graceMs }, 'child ignored SIGTERM; SIGKILL');
          this.signal(e, 'SIGKILL');
          const after = delay(5_000);
          await Promise.race([e.exited, after.done]);
          after.cancel();
        }
      }
    })();
    return e.stopping;
  }

  private async runCloser(c: Closer): Promise<void> {
    const limit = delay(this.closerTimeoutMs);
    const t0 = Date.now();
    try {
      const r = await Promise.race([
        Promise.resolve()
          .then(c.close)
          .then(() => 'ok' as const),
        limit.done.then(() => 'timeout' as const),
      ]);
      if (r === 'timeout') this.log?.warn({ label: c.label, timeoutMs: this.closerTimeoutMs }, 'closer timed out; going on');
      else this.log?.debug({ label: c.label, ms: Date.now() - t0 }, 'closed');
    } catch (err) {
      this.log?.warn({ err, label: c.label }, 'closer failed; going on');
    } finally {
      limit.cancel();
    }
  }
}

export interface GuardedRunOptions {
  verb: string;
  logger?: Logger;
  graceMs?: number;
  hardDeadlineMs?: number;
  /** After the run, end the process this long later if something still holds the event loop. */
  forceExitAfterMs?: number;
  /** Status lines (default stderr). */
  write?: (line: string) => void;
}

/**
 * Run a verb's body under a guarded ProcessGroup: whatever ends it (return, throw, signal,
 * uncaught error) the group is closed in `finally` before the exit code is returned. Failures
 * are reported as one line `orlink <verb>: CODE: message...`; exit codes: the body's, 1 on an
 * error, 128+n on a signal (0 when the body set `signalIsStop`).
 */
export async function runGuarded(o: GuardedRunOptions, body: (group: ProcessGroup) => Promise<number>): Promise<number> {
  const write =
    o.write ??
    ((line: string) => {
      try {
        process.stderr.write(`${line}\n`);
      } catch {
        /* stderr gone */
      }
    });
  const say = (s: string): void => write(`orlink ${o.verb}: ${s}`);
  const group = new ProcessGroup({ name: o.verb, ...(o.logger ? { logger: o.logger } : {}), ...(o.graceMs ? { graceMs: o.graceMs } : {}) });
  const unguard = group.guard({ write, ...(o.hardDeadlineMs ? { hardDeadlineMs: o.hardDeadlineMs } : {}) });
  let code = 1;
  try {
    type Outcome = { kind: 'done'; code: number } | { kind: 'failed'; error: unknown } | Interruption;
    const running = body(group).then(
      (c): Outcome => ({ kind: 'done', code: c }),
      (error: unknown): Outcome => ({ kind: 'failed', error }),
    );
    let outcome: Outcome = await Promise.race([running, group.interrupted]);
    // a body that made signals its normal stop awaits `interrupted` itself and returns (the hard deadline bounds it)
    if (outcome.kind === 'signal' && group.signalIsStop) outcome = await running;
    if (outcome.kind === 'done') code = outcome.code;
    else if (outcome.kind === 'signal') {
      code = group.signalIsStop ? 0 : signalExitCode(outcome.signal);
      if (!group.signalIsStop) say(`${CLI_ERR.INTERRUPTED}: ${outcome.signal} before it was done`);
    } else {
      const error = outcome.kind === 'error' ? new CliError(CLI_ERR.UNCAUGHT, 'uncaught error', { cause: outcome.error }) : outcome.error;
      const coded = errorCode(error) ? error : new CliError(CLI_ERR.RUN, 'failed', { cause: error });
      say(describeError(coded));
      code = 1;
    }
    if (code !== 0 && group.alive().length) say(`stopping ${childProcesses(group.alive().length)} and everything in-process ...`);
  } finally {
    await group.close();
    unguard();
  }
  const left = group.alive();
  if (left.length) {
    say(`${CLI_ERR.LEFTOVER}: still running after SIGKILL: ${left.map((c) => `${c.label} (pid ${c.pid})`).join(', ')}`);
    code ||= 1;
  } else if (code !== 0 && group.owned().length) {
    say(`stopped: none of the ${childProcesses(group.owned().length)} it started is running`);
  }
  if (o.forceExitAfterMs !== undefined) {
    const exitCode = code;
    setTimeout(() => process.exit(exitCode), o.forceExitAfterMs).unref();
  }
  return code;
}
