/**
 * `orlink sim ge-dri --replay CAPTURE`: a monitor that plays real recorded records. Like the
 * simulator it stays silent until a valid request; then it sends the capture's records (re-framed
 * by the codec) paced by their r_time, with r_time (and PHDB subrecord times) shifted so the first
 * record is "now" on the device clock, looping with time moving on. No truth is emitted (the values
 * are the device's; `orlink decode` on the same capture gives them).
 * Capture: raw device→host bytes, or a hexlog (`RX <hex>` lines; `TX` lines and `#` comments skipped).
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { SIM_ERR, SimError } from '../errors.js';
import { realClock, type SimClock } from './clock.js';
import { DriFramer, frameRecord, parseRequest } from './codec.js';

const MAX_STEP_MS = 5000;

/** Device→host bytes of a capture file (raw, or the RX lines of a hexlog). */
export function captureBytes(data: Buffer): Buffer {
  const text = data.toString('latin1');
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const isHexlog = lines.length > 0 && lines.every((l) => /^(RX|TX)\s+[0-9a-fA-F\s]*$/.test(l));
  if (!isHexlog) return data;
  return Buffer.concat(lines.filter((l) => l.startsWith('RX')).map((l) => Buffer.from(l.slice(2).replace(/\s+/g, ''), 'hex')));
}

export function loadCapture(path: string): Buffer[] {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (e) {
    throw new SimError(SIM_ERR.WFDB_FILE, `cannot read capture ${path}`, { cause: e });
  }
  const records = new DriFramer().push(captureBytes(data)).filter((r) => r.length >= 40);
  if (records.length === 0) throw new SimError(SIM_ERR.USAGE, `no DRI records in ${path}`);
  return records;
}

export class GeDriReplay extends EventEmitter {
  private readonly clock: SimClock;
  private link: Duplex | null = null;
  private framer = new DriFramer();
  private playing = false;
  private timer: unknown;
  private i = 0;
  private loop = 0;
  private nextAt = 0;
  private shiftS = 0;
  private closed = false;
  private readonly offsetMs: number;
  sent = 0;
  private readonly onData = (c: Buffer): void => this.receive(c);
  private readonly onEnd = (): void => this.detach();

  constructor(
    private readonly records: Buffer[],
    opts: { clock?: SimClock; clockOffsetMs?: number } = {},
  ) {
    super();
    this.clock = opts.clock ?? realClock;
    this.offsetMs = opts.clockOffsetMs ?? 0;
  }

  start(): void {
    /* nothing to arm: playback starts on the first valid request */
  }

  attach(link: Duplex): void {
    this.detach();
    this.link = link;
    this.framer = new DriFramer();
    link.on('data', this.onData);
    link.on('close', this.onEnd);
    link.on('error', this.onEnd);
    this.emit('attached');
  }

  detach(): void {
    this.stop();
    const link = this.link;
    if (!link) return;
    this.link = null;
    link.off('data', this.onData);
    link.off('close', this.onEnd);
    link.off('error', this.onEnd);
    link.on('error', () => {
      /* a late error of a released link */
    });
    this.emit('detached');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.detach();
  }

  stats(): { sent: number; loops: number; rxErrors: Record<string, number> } {
    return { sent: this.sent, loops: this.loop, rxErrors: this.framer.stats().errors };
  }

  private receive(chunk: Buffer): void {
    for (const rec of this.framer.push(chunk)) {
      const req = parseRequest(rec);
      if (req.kind === 'other' || this.playing || this.closed) continue;
      this.playing = true;
      this.i = 0;
      this.nextAt = this.clock.now();
      this.shiftS = Math.floor((this.clock.now() + this.offsetMs) / 1000) - this.time(0);
      this.arm();
    }
  }

  private time(i: number): number {
    return this.records[i]!.readUInt32LE(6);
  }

  private arm(): void {
    this.timer = this.clock.setTimeout(() => this.fire(), this.nextAt - this.clock.now());
  }

  private stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.playing = false;
  }

  private fire(): void {
    // send every record of the current second, then wait for the next r_time
    const t = this.time(this.i);
    while (this.i < this.records.length && this.time(this.i) === t) this.send(this.records[this.i++]!);
    let step = 1000;
    if (this.i >= this.records.length) {
      this.shiftS += t - this.time(0) + 1; // time moves on across loops
      this.i = 0;
      this.loop++;
    } else step = Math.max(0, Math.min(MAX_STEP_MS, (this.time(this.i) - t) * 1000));
    this.nextAt += step;
    if (this.playing) this.arm();
  }

  private send(rec: Buffer): void {
    const link = this.link;
    if (!link || !link.writable) return;
    const out = Buffer.from(rec);
    out.writeUInt32LE((rec.readUInt32LE(6) + this.shiftS) >>> 0, 6);
    if (out.readInt16LE(14) === 0) {
      for (let k = 0; k < 8; k++) {
        const type = out.readUInt8(18 + 3 * k);
        if (type === 0xff) break;
        const base = 40 + out.readInt16LE(16 + 3 * k);
        if (base + 4 <= out.length) out.writeUInt32LE((out.readUInt32LE(base) + this.shiftS) >>> 0, base);
      }
    }
    link.write(frameRecord(out));
    this.sent++;
  }
}
