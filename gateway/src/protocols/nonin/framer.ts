/**
 * Incremental Nonin framer: bytes in any split → frames of the configured data format. Resyncs by
 * sliding one byte at a time until a frame's shape (and checksum, #2/#7) fits. Counts: 'garbage'
 * (bytes skipped while out of sync), 'checksum' (a frame-shaped candidate whose sum failed; candidates and
 * bytes inside it, and bytes skipped until the next good frame, are not counted again). Holds at most one frame's bytes; never throws.
 */
import { checkFrame, FRAME_SIZE, type DataFormat } from './frame.js';
import { countError, type Framer, type FramerStats } from '../framer.js';

export type NoninFramerStats = FramerStats;

export class NoninFramer implements Framer<Buffer> {
  private readonly size: number;
  /** Fewer than one frame's bytes are held between pushes. */
  readonly maxBufferedBytes: number;
  private pending: Buffer = Buffer.alloc(0);
  private frames = 0;
  private bytes = 0;
  private afterBad = false;
  private consumed = 0; // stream offset of pending[0]
  private lastBad = -Infinity; // stream offset of the last checksum failure
  private readonly errors: Record<string, number> = {};

  constructor(private readonly format: DataFormat) {
    this.size = FRAME_SIZE[format];
    this.maxBufferedBytes = this.size - 1;
  }

  /** Complete frames (each `size` bytes, verified). */
  push(chunk: Uint8Array): Buffer[] {
    this.bytes += chunk.length;
    const b = this.pending.length ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk);
    const out: Buffer[] = [];
    let i = 0;
    while (b.length - i >= this.size) {
      const r = checkFrame(this.format, b, i);
      if (r === 'ok') {
        out.push(b.subarray(i, i + this.size));
        this.frames++;
        this.afterBad = false;
        i += this.size;
        continue;
      }
      if (r === 'checksum') {
        // one bad frame is counted once: candidates inside its own bytes are not counted again
        if (this.consumed + i - this.lastBad >= this.size) this.count('checksum');
        this.lastBad = this.consumed + i;
        this.afterBad = true;
      } else if (!this.afterBad) this.count('garbage');
      i++;
    }
    this.consumed += i;
    this.pending = Buffer.from(b.subarray(i));
    return out;
  }

  buffered(): number {
    return this.pending.length;
  }

  reset(): void {
    this.consumed += this.pending.length;
    this.pending = Buffer.alloc(0);
    this.afterBad = false;
  }

  stats(): NoninFramerStats {
    return { frames: this.frames, bytes: this.bytes, errors: { ...this.errors } };
  }

  private count(kind: string): void {
    countError(this.errors, kind);
  }
}
