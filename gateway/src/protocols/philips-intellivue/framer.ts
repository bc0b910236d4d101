/**
 * Incremental MIB/RS-232 framer: bytes in any split → verified Data Export messages (header 11 01 LEN
 * and FCS removed). Never throws on input; every problem is counted by kind:
 * garbage (bytes outside a frame), truncated (BOF again before EOF), aborted (7D C1), fcs,
 * header (not 11 01), length (LEN ≠ data length), short, oversize, escape (7D followed by C0).
 */
import { BOF, EOF, ESC, fcsUpdate, GOOD_FCS, MSG_TYPE, PROTOCOL_ID } from './fcs.js';
import { countError, type Framer, type FramerStats } from '../framer.js';

export type { FramerStats };

export const MAX_FRAME_BYTES = 16 * 1024;

export class MibFramer implements Framer<Buffer> {
  private readonly max: number;
  readonly maxBufferedBytes: number;
  private buf: Buffer;
  private len = 0;
  private inFrame = false;
  private escaped = false;
  private discarding = false;
  private frames = 0;
  private bytes = 0;
  private readonly errors: Record<string, number> = {};

  constructor(opts: { maxFrameBytes?: number } = {}) {
    this.max = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.maxBufferedBytes = this.max;
    this.buf = Buffer.allocUnsafe(Math.min(this.max, 4096));
  }

  push(chunk: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    this.bytes += chunk.length;
    let garbage = 0;
    for (const b of chunk) {
      if (b === BOF) {
        if (this.inFrame && !this.discarding && (this.len > 0 || this.escaped)) this.count('truncated');
        this.start();
        continue;
      }
      if (!this.inFrame) {
        garbage++;
        continue;
      }
      if (b === EOF) {
        if (this.escaped) this.count('aborted');
        else if (!this.discarding) this.finish(out);
        this.inFrame = false;
        this.escaped = false;
        continue;
      }
      if (this.discarding) continue;
      if (b === ESC) {
        if (this.escaped) {
          this.count('escape');
          this.discarding = true;
        }
        this.escaped = true;
        continue;
      }
      const v = this.escaped ? b ^ 0x20 : b;
      this.escaped = false;
      if (this.len >= this.max) {
        this.count('oversize');
        this.discarding = true;
        continue;
      }
      if (this.len >= this.buf.length) {
        const next = Buffer.allocUnsafe(Math.min(this.max, this.buf.length * 2));
        this.buf.copy(next, 0, 0, this.len);
        this.buf = next;
      }
      this.buf[this.len++] = v;
    }
    if (garbage) this.count('garbage', garbage);
    return out;
  }

  /** True while a frame is open (bytes after the last BOF without EOF). */
  pending(): boolean {
    return this.inFrame && !this.discarding && this.len > 0;
  }

  buffered(): number {
    return this.pending() ? this.len : 0;
  }

  reset(): void {
    this.start();
    this.inFrame = false;
  }

  stats(): FramerStats {
    return { frames: this.frames, bytes: this.bytes, errors: { ...this.errors } };
  }

  private start(): void {
    this.inFrame = true;
    this.escaped = false;
    this.discarding = false;
    this.len = 0;
  }

  private finish(out: Buffer[]): void {
    const n = this.len;
    if (n < 6) return this.count(n === 0 ? 'empty' : 'short');
    const body = this.buf.subarray(0, n);
    if (fcsUpdate(0xffff, body) !== GOOD_FCS) return this.count('fcs');
    if (body[0] !== PROTOCOL_ID || body[1] !== MSG_TYPE) return this.count('header');
    const declared = body.readUInt16BE(2);
    if (declared !== n - 6) return this.count('length');
    this.frames++;
    out.push(Buffer.from(body.subarray(4, n - 2)));
  }

  private count(kind: string, n = 1): void {
    countError(this.errors, kind, n);
  }
}
