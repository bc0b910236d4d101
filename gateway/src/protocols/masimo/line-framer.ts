/**
 * Incremental ASCII line framer (Masimo "ASCII 1" serial output): bytes in any split → complete
 * lines without their terminator. CR, LF and CR LF all end a line; empty lines are skipped.
 * Buffer-capped: a line longer than maxLineBytes is dropped up to the next terminator and counted
 * 'oversize'. A line holding bytes outside printable ASCII (line noise, a wrong baud rate) is
 * dropped and counted 'garbage'. Never throws on input.
 */
import { countError, type Framer, type FramerStats } from '../framer.js';

export type LineFramerStats = FramerStats;

export const DEFAULT_MAX_LINE_BYTES = 512;

export class LineFramer implements Framer<string> {
  private readonly max: number;
  readonly maxBufferedBytes: number;
  private readonly buf: Buffer;
  private len = 0;
  private discarding = false;
  private dirty = false;
  private lines = 0;
  private bytes = 0;
  private readonly errors: Record<string, number> = {};

  constructor(opts: { maxLineBytes?: number } = {}) {
    this.max = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.maxBufferedBytes = this.max;
    this.buf = Buffer.allocUnsafe(this.max);
  }

  push(chunk: Uint8Array): string[] {
    const out: string[] = [];
    this.bytes += chunk.length;
    for (const b of chunk) {
      if (b === 0x0d || b === 0x0a) {
        this.end(out);
        continue;
      }
      if (this.discarding) continue;
      if (this.len >= this.max) {
        this.count('oversize');
        this.discarding = true;
        this.len = 0;
        this.dirty = false;
        continue;
      }
      if ((b < 0x20 && b !== 0x09) || b > 0x7e) this.dirty = true;
      this.buf[this.len++] = b;
    }
    return out;
  }

  buffered(): number {
    return this.len;
  }

  reset(): void {
    this.len = 0;
    this.dirty = false;
    this.discarding = false;
  }

  stats(): LineFramerStats {
    return { frames: this.lines, bytes: this.bytes, errors: { ...this.errors } };
  }

  private end(out: string[]): void {
    const len = this.len;
    const dirty = this.dirty;
    this.len = 0;
    this.dirty = false;
    if (this.discarding) {
      this.discarding = false;
      return;
    }
    if (len === 0) return;
    if (dirty) {
      this.count('garbage');
      return;
    }
    this.lines++;
    out.push(this.buf.toString('latin1', 0, len));
  }

  private count(kind: string, n = 1): void {
    countError(this.errors, kind, n);
  }
}
