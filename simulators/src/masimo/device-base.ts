/**
 * What the simulated oximeters share: one link at a time (serial port, pty end or TCP socket), a
 * clock (real or ManualClock), a periodic schedule aligned to whole device seconds, byte writes
 * with back-pressure drop, and counters. The subclass encodes one period's bytes in tick().
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { realClock, type SimClock } from '../ge-dri/clock.js';
import type { OxiProduced } from './truth.js';

export interface OxiStats {
  bytesSent: number;
  periodsSent: number;
  dropped: Record<string, number>;
  faults: Record<string, number>;
  rxBytes: number;
}

export interface DeviceBaseOptions {
  clock?: SimClock;
  clockOffsetMs?: number;
  logger?: Logger;
  onProduced?: (r: OxiProduced) => void;
  maxBufferedBytes?: number;
}

function ignore(): void {
  /* a late error of a link we let go */
}

export abstract class OxiDeviceBase extends EventEmitter {
  protected readonly clock: SimClock;
  protected readonly log: Logger | undefined;
  protected link: Duplex | null = null;
  protected readonly s: OxiStats = { bytesSent: 0, periodsSent: 0, dropped: {}, faults: {}, rxBytes: 0 };
  private started = false;
  private closed = false;
  private timer: unknown;
  private nextHost = 0;
  private k = 0;
  private readonly onData = (c: Buffer): void => {
    this.s.rxBytes += c.length;
    this.receive(c);
  };
  private readonly onLinkEnd = (): void => this.detach();

  /** @param lead true: a period is sent at its start (a line per second); false: at its end (a packet of frames). */
  constructor(
    protected readonly base: DeviceBaseOptions,
    protected periodMs: number,
    private readonly lead = false,
  ) {
    super();
    this.clock = base.clock ?? realClock;
    this.log = base.logger;
    if (base.onProduced) this.on('produced', base.onProduced);
  }

  /** Device clock, ms. */
  deviceNow(): number {
    return this.clock.now() + (this.base.clockOffsetMs ?? 0);
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    const off = this.base.clockOffsetMs ?? 0;
    this.nextHost = Math.ceil((this.clock.now() + off) / 1000) * 1000 - off;
    this.arm();
  }

  attach(link: Duplex): void {
    this.detach();
    this.link = link;
    link.on('data', this.onData);
    link.on('close', this.onLinkEnd);
    link.on('error', this.onLinkEnd);
    this.emit('attached');
  }

  detach(): void {
    const link = this.link;
    if (!link) return;
    this.link = null;
    link.off('data', this.onData);
    link.off('close', this.onLinkEnd);
    link.off('error', this.onLinkEnd);
    link.on('error', ignore);
    this.emit('detached');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.detach();
  }

  stats(): OxiStats {
    return { ...this.s, dropped: { ...this.s.dropped }, faults: { ...this.s.faults } };
  }

  /** Encode the period starting at device time `tDevice` (ms); the i-th period since start. */
  protected abstract period(tDevice: number, i: number): { bytes: Buffer; truth: OxiProduced[] };

  /** Host → device bytes (commands); default: ignored. */
  protected receive(_chunk: Buffer): void {
    /* output-only device */
  }

  protected write(bytes: Buffer): boolean {
    const link = this.link;
    if (!link || link.destroyed || !link.writable) {
      this.count(this.s.dropped, 'no-link');
      return false;
    }
    if (link.writableLength > (this.base.maxBufferedBytes ?? 1 << 20)) {
      this.count(this.s.dropped, 'overflow');
      return false;
    }
    link.write(bytes);
    this.s.bytesSent += bytes.length;
    return true;
  }

  protected count(m: Record<string, number>, k: string, n = 1): void {
    m[k] = (m[k] ?? 0) + n;
  }

  /** Restart the schedule at the next whole device second (e.g. after a format change). */
  protected realign(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    const off = this.base.clockOffsetMs ?? 0;
    this.nextHost = Math.ceil((this.clock.now() + off) / 1000) * 1000 - off;
    this.k = 0;
    this.arm();
  }

  private arm(): void {
    if (this.closed) return;
    this.timer = this.clock.setTimeout(() => this.fire(), this.due() - this.clock.now());
  }

  private due(): number {
    return this.nextHost + (this.k + (this.lead ? 0 : 1)) * this.periodMs;
  }

  private fire(): void {
    const now = this.clock.now();
    for (let guard = 0; guard < 40 && this.due() <= now; guard++) {
      const startHost = this.nextHost + this.k * this.periodMs;
      const { bytes, truth } = this.period(Math.round(startHost + (this.base.clockOffsetMs ?? 0)), this.k);
      this.k++;
      if (!bytes.length) continue;
      if (this.write(bytes)) {
        this.s.periodsSent++;
        for (const r of truth) this.emit('produced', r);
      }
    }
    if (this.due() <= now) this.realign();
    else this.arm();
  }
}
