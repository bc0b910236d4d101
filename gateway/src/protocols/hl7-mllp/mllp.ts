/**
 * MLLP (Minimal Lower Layer Protocol): 0x0B <message> 0x1C 0x0D. One codec function and an
 * incremental framer: bytes in any split → message payloads. Buffer-capped (a block longer than
 * maxBytes is dropped and counted 'oversize'; the framer then waits for the next 0x0B), never
 * throws on input. Error kinds: garbage (bytes outside a block, whitespace between blocks is not
 * counted; one count per run of stray bytes), truncated (a new 0x0B inside an open block), trailer (0x1C not followed by 0x0D: the
 * block is still delivered), oversize.
 */
import { countError, type Framer, type FramerStats } from '../framer.js';

export const VT = 0x0b;
export const FS = 0x1c;
export const CR = 0x0d;
export const DEFAULT_MAX_MLLP_BYTES = 1 << 20;

export function mllpWrap(payload: Uint8Array | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  return Buffer.concat([Buffer.from([VT]), body, Buffer.from([FS, CR])]);
}

export type { FramerStats };

const WHITESPACE = new Set([0x0a, 0x0d, 0x20, 0x09, 0x00]);

export class MllpFramer implements Framer<Buffer> {
  private readonly max: number;
  readonly maxBufferedBytes: number;
  private parts: Buffer[] = [];
  private len = 0;
  private inBlock = false;
  private discarding = false;
  private garbageRun = false;
  private sawFs = false; // the byte after 0x1C must be 0x0D
  private frames = 0;
  private bytes = 0;
  private readonly errors: Record<string, number> = {};

  constructor(opts: { maxBytes?: number } = {}) {
    this.max = opts.maxBytes ?? DEFAULT_MAX_MLLP_BYTES;
    this.maxBufferedBytes = this.max;
  }

  push(chunk: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.bytes += buf.length;
    let start = -1; // start of the in-block run inside this chunk
    const flushRun = (end: number) => {
      if (start >= 0 && end > start && !this.discarding) this.append(buf.subarray(start, end));
      start = -1;
    };
    for (let i = 0; i < buf.length; i++) {
      const b = buf[i];
      if (this.sawFs) {
        this.sawFs = false;
        if (b === CR) continue;
        this.count('trailer');
      }
      if (b === VT) {
        flushRun(i);
        if (this.inBlock && !this.discarding && this.len > 0) this.count('truncated');
        this.clear();
        this.inBlock = true;
        this.garbageRun = false;
        start = i + 1;
        continue;
      }
      if (!this.inBlock) {
        if (!WHITESPACE.has(b) && !this.garbageRun) {
          this.garbageRun = true; // one count per run of stray bytes, however it is chunked
          this.count('garbage');
        }
        continue;
      }
      if (b === FS) {
        flushRun(i);
        this.finish(out);
        this.sawFs = true;
        continue;
      }
      if (start < 0) start = i;
      if (!this.discarding && this.len + (i - start + 1) > this.max) {
        this.count('oversize');
        this.discarding = true;
        this.parts = [];
        this.len = 0;
        start = -1;
      }
    }
    flushRun(buf.length);
    return out;
  }

  private append(b: Buffer): void {
    this.parts.push(Buffer.from(b)); // copy: the caller may reuse its chunk
    this.len += b.length;
  }

  private finish(out: Buffer[]): void {
    if (this.inBlock && !this.discarding) {
      out.push(this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.len));
      this.frames++;
    }
    this.clear();
  }

  buffered(): number {
    return this.len;
  }

  reset(): void {
    this.clear();
    this.sawFs = false;
    this.garbageRun = false;
  }

  private clear(): void {
    this.parts = [];
    this.len = 0;
    this.inBlock = false;
    this.discarding = false;
  }

  private count(kind: string): void {
    countError(this.errors, kind);
  }

  stats(): FramerStats {
    return { frames: this.frames, bytes: this.bytes, errors: { ...this.errors } };
  }
}
