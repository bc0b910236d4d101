/**
 * Child processes of the fault rig (`node bin/orlink.js ingest|gateway --config FILE`), logs to a
 * file in the rig's temp dir, SIGKILL-able, always reaped in teardown; plus polling helpers.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../../bin/orlink.js', import.meta.url));

export class OrlinkChild {
  child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  starts = 0;

  constructor(
    readonly verb: 'ingest' | 'gateway',
    readonly configPath: string,
    readonly logPath: string,
    private readonly env: Record<string, string>,
    private readonly nodeArgs: string[] = [],
    /** how to start the child (default child_process.spawn; the soak passes its ProcessGroup's) */
    private readonly spawner: (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess = spawn,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }
  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.running) throw new Error(`${this.verb} already running`);
    const fd = openSync(this.logPath, 'a');
    let child: ChildProcess;
    try {
      child = this.spawner(process.execPath, [...this.nodeArgs, BIN, this.verb, '--config', this.configPath], {
        env: { ...process.env, ...this.env },
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    this.starts++;
    this.child = child;
    this.exited = new Promise<void>((r) => child.once('exit', () => r()));
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child!.kill(sig);
  }

  async kill(sig: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running) return;
    this.child!.kill(sig);
    await this.exited;
  }

  /** SIGTERM, SIGKILL after `graceMs`. Idempotent. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) {
      await this.exited;
      return;
    }
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  logTail(n = 3000): string {
    try {
      return readFileSync(this.logPath, 'utf8').slice(-n);
    } catch {
      return '';
    }
  }
}

/** Poll `fn` until it returns a truthy value or the deadline passes (then returns the last value). */
export async function pollUntil<T>(fn: () => Promise<T> | T, opts: { timeoutMs: number; intervalMs?: number }): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: T;
  for (let i = 0; ; i++) {
    last = await fn();
    if (last || Date.now() > deadline || i > 100_000) return last;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}

/** A fixed observation window: the scenario lets the system run for `ms` (not waiting for an event). */
export function runFor(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export const LONG = process.env.ORLINK_FAULTS === 'long';
