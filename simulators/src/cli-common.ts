/** Pieces every `orlink sim <protocol>` CLI shares. */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Logger } from 'pino';
import { openPtyPair } from './link/pty.js';
import type { SerialLinkOptions } from './link/serial-link.js';
import { TcpDeviceServer } from './link/tcp-link.js';
import type { RunIo } from './main.js';
import { serveSerial, type LinkServer } from './serve-serial.js';

/** Resolves on SIGINT/SIGTERM (the signal's name) or when `signal` aborts ('abort'). */
export function waitForStop(signal?: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const onSig = (s: NodeJS.Signals): void => {
      cleanup();
      resolve(s);
    };
    const onAbort = (): void => {
      cleanup();
      resolve('abort');
    };
    const cleanup = (): void => {
      process.off('SIGINT', onSig);
      process.off('SIGTERM', onSig);
      signal?.removeEventListener('abort', onAbort);
    };
    process.once('SIGINT', onSig);
    process.once('SIGTERM', onSig);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort);
  });
}

/** Opens (appends to) the `--record-truth` file: one produced reading per line, as JSON. */
export async function openTruthFile(path: string): Promise<{ stream: WriteStream; write(r: unknown): void }> {
  const stream = createWriteStream(path, { flags: 'a' });
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  return {
    stream,
    write: (r) => {
      stream.write(`${JSON.stringify(r)}\n`);
    },
  };
}

/** Where a simulator CLI serves its device: a serial port, a pty pair it creates, or TCP. */
export type SimLinkChoice = { kind: 'serial'; path: string } | { kind: 'pty' } | { kind: 'tcp'; host: string; port: number };
export type Closer = () => Promise<void> | void;

/**
 * Serve `device` on the chosen link: a TCP server (each client attached), or a serial port kept
 * open by serveSerial (a pty pair created for `pty`). Closers are added in the order they must
 * run; returns the fields of the 'listening' event.
 */
export async function serveChosenLink(
  link: SimLinkChoice,
  device: LinkServer,
  log: Logger,
  closers: Closer[],
  line: SerialLinkOptions = {},
): Promise<Record<string, unknown>> {
  if (link.kind === 'tcp') {
    const server = new TcpDeviceServer(link.host, link.port);
    const addr = await server.listen();
    server.on('client', (sock) => {
      log.info({ remote: `${String(sock.remoteAddress)}:${String(sock.remotePort)}` }, 'host connected');
      device.attach(sock);
    });
    closers.push(() => server.close());
    return { tcp: `${addr.host}:${addr.port}`, host: addr.host, port: addr.port };
  }
  let devicePath: string;
  let hostPath: string | undefined;
  if (link.kind === 'pty') {
    const pair = await openPtyPair();
    closers.push(() => pair.close());
    devicePath = pair.devicePath;
    hostPath = pair.hostPath;
  } else devicePath = link.path;
  const serving = serveSerial(devicePath, device, log, line);
  closers.unshift(() => serving.stop());
  await serving.opened;
  return { ...(hostPath ? { hostPath } : {}), devicePath };
}

/** A simulated device as runSimCli drives it. */
export interface CliDevice {
  /** emits 'produced' (the truth) */
  on(event: 'produced', fn: (r: unknown) => void): unknown;
  start?(): void;
  close(): Promise<void> | void;
}

/**
 * The life of every `orlink sim <protocol>` run: truth file, start, serve, the 'listening' event,
 * wait for SIGINT/SIGTERM/abort, then close everything and emit 'stopped' with the device's report.
 * Returns the exit code (0 stopped cleanly, 1 failed).
 */
export async function runSimCli(o: {
  protocol: string;
  io: RunIo;
  log: Logger;
  device: CliDevice;
  recordTruth?: string | undefined;
  serve(closers: Closer[]): Promise<Record<string, unknown>>;
  /** what the stop log and the 'stopped' event carry, under `reportKey` (default 'stats') */
  report(): unknown;
  reportKey?: string;
}): Promise<number> {
  const out = o.io.stdout ?? process.stdout;
  const emit = (e: object): void => {
    out.write(`${JSON.stringify(e)}\n`);
  };
  const key = o.reportKey ?? 'stats';
  const closers: Closer[] = [];
  let truth: WriteStream | undefined;
  try {
    if (o.recordTruth) {
      const ts = await openTruthFile(o.recordTruth);
      truth = ts.stream;
      o.device.on('produced', (r) => {
        ts.write(r);
      });
    }
    o.device.start?.();
    emit({ event: 'listening', protocol: o.protocol, ...(await o.serve(closers)) });
    const why = await waitForStop(o.io.signal);
    o.log.info({ why, [key]: o.report() }, 'stopping');
    return 0;
  } catch (e) {
    const err = e as Error & { code?: string };
    o.log.error({ err, code: err.code }, 'simulator failed');
    process.stderr.write(`orlink sim: ${err.message}\n`);
    return 1;
  } finally {
    await o.device.close();
    for (const c of closers)
      await Promise.resolve()
        .then(c)
        .catch(() => undefined);
    if (truth) await new Promise<void>((resolve) => truth!.end(() => resolve()));
    emit({ event: 'stopped', [key]: o.report() });
  }
}
