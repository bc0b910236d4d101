/**
 * A connected pseudo-terminal pair made by Debian's socat: the simulated monitor opens
 * `devicePath`, the gateway opens `hostPath` exactly as it would a real serial port.
 *   socat -d -d pty,raw,echo=0,link=<dir>/device pty,raw,echo=0,link=<dir>/host
 * Ready when socat logs "starting data transfer loop" and both links exist (deadline applies).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SIM_ERR, SimError } from '../errors.js';

export interface PtyPair {
  devicePath: string;
  hostPath: string;
  /** socat's pid (for diagnostics). */
  pid: number;
  close(): Promise<void>;
}

export interface PtyOptions {
  /** Directory for the two links (default: a new temp dir, removed on close). */
  dir?: string;
  timeoutMs?: number;
  socatPath?: string;
  /** How to start socat (default child_process.spawn); `orlink demo`/`bench` pass one that owns it. */
  spawn?: (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;
}

export async function openPtyPair(opts: PtyOptions = {}): Promise<PtyPair> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'orlink-pty-'));
  const devicePath = join(dir, 'device');
  const hostPath = join(dir, 'host');
  const cleanup = (): void => {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  let child: ChildProcess;
  try {
    child = (opts.spawn ?? spawn)(opts.socatPath ?? 'socat', ['-d', '-d', `pty,raw,echo=0,link=${devicePath}`, `pty,raw,echo=0,link=${hostPath}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (e) {
    cleanup();
    throw new SimError(SIM_ERR.LINK_OPEN, 'cannot start socat', { kind: 'fatal', cause: e });
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new SimError(SIM_ERR.LINK_OPEN, `socat did not set up the pty pair within ${opts.timeoutMs ?? 5000} ms: ${stderr.slice(-300)}`)),
      opts.timeoutMs ?? 5000,
    );
    const fail = (e: Error): void => {
      clearTimeout(timer);
      child.kill('SIGTERM');
      cleanup();
      reject(e);
    };
    const onError = (e: Error): void => fail(new SimError(SIM_ERR.LINK_OPEN, 'socat failed to start (is it installed?)', { cause: e }));
    const onExit = (code: number | null): void => fail(new SimError(SIM_ERR.LINK_OPEN, `socat exited with ${String(code)}: ${stderr.slice(-300)}`));
    child.once('error', onError);
    child.once('exit', onExit);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => {
      if (stderr.length < 8192) stderr += s;
      if (stderr.includes('starting data transfer loop') && existsSync(devicePath) && existsSync(hostPath)) {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.off('error', onError);
        child.on('error', () => {
          /* after start: only 'exit' matters */
        });
        resolve();
      }
    });
  });
  child.stderr!.resume();
  let closing: Promise<void> | undefined;
  return {
    devicePath,
    hostPath,
    pid: child.pid!,
    close: () => {
      closing ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
        cleanup();
      })();
      return closing;
    },
  };
}
