/**
 * A serial cable between a simulated device (test process) and the gateway: a socat pty pair
 * whose device end the test opens, with a pass-through stream in between that the simulator is
 * attached to. The pass-through is what makes the truth honest across a pull:
 *   waiting  plugged, but the gateway has not taken the line yet: the device's bytes go nowhere
 *            (a port nobody reads) and its truth is `undeliverable`
 *   live     bytes pass both ways; truth counts
 *   out      pulled: nothing passes either way; truth is `undeliverable`
 * The state only changes in a turn of its own (the test's, or the arrival of host bytes), and every
 * simulator emits a reading's truth in the same synchronous turn as it writes its bytes, so a
 * reading is never counted on one side of a change and written on the other.
 * `live` begins when the gateway first speaks on the line (`host-speaks`: request/response
 * protocols, and Nonin's select-format command) or holds its end of the pty open
 * (`host-opens`: output-only devices such as a Masimo in ASCII mode; /proc/<pid>/fd, Linux).
 * pull(): state `out`, then after `drainMs` (bytes already written reach the gateway) the pty pair
 * is destroyed (socat killed): both ports see the line die. replug(): a new pair at the same paths.
 */
import { readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import type { SerialPort } from 'serialport';
import { closeSerialLink, openPtyPair, openSerialLink, type PtyPair } from '../../../simulators/src/index.js';

export type CableState = 'waiting' | 'live' | 'out';

/** The simulator's end of the cable: a Duplex whose writes the cable forwards (or drops). */
class CableEnd extends Duplex {
  constructor(private readonly onWrite: (c: Buffer) => void) {
    super();
  }
  override _read(): void {
    /* pushed by the cable */
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.onWrite(chunk);
    cb();
  }
}

export interface CableOptions {
  dir: string;
  /** the simulator (GeDriSimulator, MedibusSimulator, an oximeter, IntelliVue's SerialMonitorLink) */
  device: { attach(link: Duplex): void };
  liveWhen: 'host-speaks' | 'host-opens';
  /** the gateway's pid (host-opens) */
  hostPid?: () => number | undefined;
}

/** Does process `pid` hold `path` open (a /dev/pts/N)? */
function holdsOpen(pid: number, path: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === path;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

export class SerialCable {
  state: CableState = 'waiting';
  pty!: PtyPair;
  /** plugs, pulls; bytes the device wrote that could not pass (waiting/out); when the line last went live */
  readonly stats = { plugs: 0, pulls: 0, droppedBytes: 0, droppedHostBytes: 0, liveAt: 0, pulledAt: 0 };
  private port: SerialPort | null = null;
  private end: CableEnd | null = null;
  private timer: NodeJS.Timeout | undefined;
  private readonly onLive: (() => void)[] = [];

  constructor(private readonly o: CableOptions) {}

  get hostPath(): string {
    return join(this.o.dir, 'host');
  }
  get live(): boolean {
    return this.state === 'live';
  }

  /** A new pty pair at the cable's paths, the simulator attached to it; `waiting` until the gateway takes the line. */
  async plug(): Promise<void> {
    this.pty = await openPtyPair({ dir: this.o.dir });
    const port = await openSerialLink(this.pty.devicePath);
    this.port = port;
    port.on('data', (c: Buffer) => this.fromHost(c));
    port.on('error', () => {
      /* the line died: pull() closes it */
    });
    const end = new CableEnd((c) => this.toHost(c));
    end.on('error', () => undefined);
    this.end = end;
    this.state = 'waiting';
    this.stats.plugs++;
    this.o.device.attach(end);
    if (this.o.liveWhen === 'host-opens') this.watchHostOpen();
  }

  /** Resolves when the line is live (at once if it is). */
  whenLive(): Promise<void> {
    if (this.live) return Promise.resolve();
    return new Promise((r) => this.onLive.push(r));
  }

  /** Pull the cable: nothing passes from now; after `drainMs` the pty pair goes away. */
  async pull(drainMs: number): Promise<void> {
    this.state = 'out';
    clearTimeout(this.timer);
    this.stats.pulls++;
    this.stats.pulledAt = Date.now();
    await new Promise((r) => setTimeout(r, drainMs));
    await this.pty.close();
    const port = this.port;
    this.port = null;
    if (port) await closeSerialLink(port);
    const end = this.end;
    this.end = null;
    end?.destroy(); // 'close': the simulator detaches, as from a port that went away
  }

  async replug(): Promise<void> {
    await this.plug();
  }

  async close(): Promise<void> {
    this.state = 'out';
    clearTimeout(this.timer);
    const port = this.port;
    this.port = null;
    if (port) await closeSerialLink(port);
    this.end?.destroy();
    this.end = null;
    await this.pty?.close();
  }

  private goLive(): void {
    this.state = 'live';
    this.stats.liveAt = Date.now();
    for (const r of this.onLive.splice(0)) r();
  }

  private toHost(c: Buffer): void {
    if (this.state === 'live' && this.port?.isOpen) this.port.write(c);
    else this.stats.droppedBytes += c.length;
  }

  private fromHost(c: Buffer): void {
    if (this.state === 'out') {
      this.stats.droppedHostBytes += c.length;
      return;
    }
    if (this.state === 'waiting' && this.o.liveWhen === 'host-speaks') this.goLive();
    this.end?.push(c);
  }

  private watchHostOpen(): void {
    let target: string;
    try {
      target = realpathSync(this.hostPath);
    } catch {
      return;
    }
    const check = (): void => {
      if (this.state !== 'waiting') return;
      const pid = this.o.hostPid?.();
      if (pid !== undefined && holdsOpen(pid, target)) {
        this.goLive();
        return;
      }
      this.timer = setTimeout(check, 20);
    };
    check();
  }
}
