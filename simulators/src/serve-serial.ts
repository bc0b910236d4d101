/**
 * Keeps the simulated monitor on a serial port: opens it, attaches the simulator, and reopens
 * it after it closes (the 'disconnect' fault, or the line going away) until stop().
 */
import type { Logger } from 'pino';
import type { SerialPort } from 'serialport';
import type { Duplex } from 'node:stream';
import { closeSerialLink, openSerialLink, type SerialLinkOptions } from './link/serial-link.js';

export interface SerialService {
  opened: Promise<void>;
  stop(): Promise<void>;
}
/** Anything that serves a link: GeDriSimulator, GeDriReplay. */
export interface LinkServer {
  attach(link: Duplex): void;
}

const REOPEN_DELAY_MS = 1000;
const MAX_BACKOFF_MS = 10_000;

/** `line`: the device's line settings on a real port (default DRI 19200 8E1; a pty ignores them). */
export function serveSerial(path: string, sim: LinkServer, log: Logger, line: SerialLinkOptions = {}): SerialService {
  let stopping = false;
  let port: SerialPort | null = null;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  let resolveOpened!: () => void;
  let rejectOpened!: (e: unknown) => void;
  const opened = new Promise<void>((res, rej) => {
    resolveOpened = res;
    rejectOpened = rej;
  });
  const pause = (ms: number): Promise<void> =>
    new Promise((r) => {
      wake = r;
      timer = setTimeout(r, ms);
    });
  const loop = (async () => {
    let backoff = REOPEN_DELAY_MS;
    let first = true;
    while (!stopping) {
      try {
        const p = await openSerialLink(path, line);
        port = p;
        backoff = REOPEN_DELAY_MS;
        const closed = new Promise<void>((r) => p.once('close', () => r()));
        sim.attach(p);
        log.info({ path }, 'serial port open');
        if (first) {
          first = false;
          resolveOpened();
        }
        await closed;
        port = null;
        if (!stopping) log.info({ path }, 'serial port closed; reopening');
      } catch (e) {
        if (first) {
          rejectOpened(e);
          return;
        }
        log.warn({ err: e, path }, 'serial reopen failed');
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
      }
      if (!stopping) await pause(backoff);
    }
  })();
  return {
    opened,
    stop: async () => {
      stopping = true;
      clearTimeout(timer);
      wake?.();
      if (port) await closeSerialLink(port);
      await loop;
    },
  };
}
