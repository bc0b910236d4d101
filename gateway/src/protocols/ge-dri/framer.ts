/**
 * Incremental DRI framer: bytes in any split → verified, unstuffed records (checksum removed).
 * Buffer-capped (a frame longer than maxRecordBytes is dropped and counted as 'oversize', the
 * framer then waits for the next 0x7E), counts every error by kind, never throws on input.
 * Error kinds: garbage (bytes outside a frame), checksum, stuffing, short, oversize.
 * `7E 7E` is an empty frame (shared or repeated flags) and is not an error.
 */
import { FLAG, unframe } from './frame.js';
import { MAX_RECORD_BYTES } from './layout.js';
import { countError, type Framer, type FramerStats } from '../framer.js';

export type { FramerStats };

export class DriFramer implements Framer<Buffer> {
  private readonly maxRecord: number;
  private readonly maxStuffed: number;
  readonly maxBufferedBytes: number;
  private buf: Buffer;
  private len = 0;
  private inFrame = false;
  private discarding = false;
  private frames = 0;
  private bytes = 0;
  private readonly errors: Record<string, number> = {};

  constructor(opts: { maxRecordBytes?: number } = {}) {
    this.maxRecord = opts.maxRecordBytes ?? MAX_RECORD_BYTES;
    // Worst case every byte stuffed, plus the checksum; the unstuffed size is checked per frame.
    this.maxStuffed = (this.maxRecord + 1) * 2;
    this.maxBufferedBytes = this.maxStuffed;
    this.buf = Buffer.allocUnsafe(Math.min(this.maxStuffed, 4096));
  }

  push(chunk: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    this.bytes += chunk.length;
    let garbage = 0;
    for (const b of chunk) {
      if (b === FLAG) {
        if (this.inFrame && !this.discarding && this.len > 0) this.finish(out);
        this.inFrame = true;
        this.discarding = false;
        this.len = 0;
        continue;
      }
      if (!this.inFrame) {
        garbage++;
        continue;
      }
      if (this.discarding) continue;
      if (this.len >= this.maxStuffed) {
        this.count('oversize');
        this.discarding = true;
        this.len = 0;
        continue;
      }
      if (this.len >= this.buf.length) {
        const next = Buffer.allocUnsafe(Math.min(this.maxStuffed, this.buf.length * 2));
        this.buf.copy(next, 0, 0, this.len);
        this.buf = next;
      }
      this.buf[this.len++] = b;
    }
    if (garbage) this.count('garbage', garbage);
    return out;
  }

  buffered(): number {
    return this.inFrame && !this.discarding ? this.len : 0;
  }

  reset(): void {
    this.inFrame = false;
    this.discarding = false;
    this.len = 0;
  }

  stats(): FramerStats {
    return { frames: this.frames, bytes: this.bytes, errors: { ...this.errors } };
  }

  private finish(out: Buffer[]): void {
    const body = this.buf.subarray(0, this.len);
    this.len = 0;
    const r = unframe(body);
    if ('error' in r) {
      this.count(r.error);
      return;
    }
    if (r.record.length > this.maxRecord) {
      this.count('oversize');
      return;
    }
    this.frames++;
    out.push(r.record);
  }

  private count(kind: string, n = 1): void {
    countError(this.errors, kind, n);
  }
}
