/**
 * Incremental MEDIBUS framer for one direction of the line. Bytes in any split → events in wire
 * order: verified frames (commands and responses) and runs of realtime bytes (bit 7 set, which
 * never belong to a frame and may arrive anywhere, even inside a frame).
 * A command (ESC …) may arrive in the middle of a response (SOH …): the response is suspended,
 * the command completes at its CR, then the response continues (real Atlan, README §Quirks handled).
 * Capped: a frame longer than maxFrameBytes is dropped ('oversize') and the framer waits for the
 * next ESC/SOH. Error kinds: garbage (7-bit bytes outside a frame), checksum, short, bad-char,
 * oversize, truncated (a frame restarted before its CR). Never throws on input.
 */
import { CR, ESC, SOH, unframe, type Frame } from './frame.js';
import { countError, type Framer, type FramerStats } from '../framer.js';

export const MAX_FRAME_BYTES = 4096;

export type FramerEvent = { kind: 'frame'; frame: Frame } | { kind: 'rt'; bytes: Buffer };

export type { FramerStats };

class Acc {
  buf: number[] = [];
  discarding = false;
  active = false;
  begin(b: number): void {
    this.buf = [b];
    this.active = true;
    this.discarding = false;
  }
  reset(): void {
    this.buf = [];
    this.active = false;
    this.discarding = false;
  }
}

export class MedibusFramer implements Framer<FramerEvent> {
  private readonly max: number;
  /** A command may be open inside a response: two frames' worth. */
  readonly maxBufferedBytes: number;
  private readonly resp = new Acc();
  private readonly cmd = new Acc();
  private frames = 0;
  private bytes = 0;
  private readonly errors: Record<string, number> = {};

  constructor(opts: { maxFrameBytes?: number } = {}) {
    this.max = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.maxBufferedBytes = 2 * this.max;
  }

  push(chunk: Uint8Array): FramerEvent[] {
    const out: FramerEvent[] = [];
    this.bytes += chunk.length;
    let rt: number[] = [];
    const flushRt = (): void => {
      if (rt.length) out.push({ kind: 'rt', bytes: Buffer.from(rt) });
      rt = [];
    };
    for (const b of chunk) {
      if (b >= 0x80) {
        rt.push(b);
        continue;
      }
      if (b === ESC) {
        if (this.cmd.active) this.count('truncated');
        this.cmd.begin(b);
        continue;
      }
      if (b === SOH) {
        if (this.cmd.active) {
          this.count('truncated');
          this.cmd.reset();
        }
        if (this.resp.active) this.count('truncated');
        this.resp.begin(b);
        continue;
      }
      const acc = this.cmd.active ? this.cmd : this.resp.active ? this.resp : undefined;
      if (!acc) {
        this.count('garbage');
        continue;
      }
      if (b === CR) {
        flushRt();
        if (!acc.discarding) this.finish(acc.buf, out);
        acc.reset();
        continue;
      }
      if (acc.discarding) continue;
      if (acc.buf.length >= this.max) {
        this.count('oversize');
        acc.discarding = true;
        acc.buf = [];
        continue;
      }
      acc.buf.push(b);
    }
    flushRt();
    return out;
  }

  buffered(): number {
    return this.resp.buf.length + this.cmd.buf.length;
  }

  reset(): void {
    this.resp.reset();
    this.cmd.reset();
  }

  stats(): FramerStats {
    return { frames: this.frames, bytes: this.bytes, errors: { ...this.errors } };
  }

  private finish(body: number[], out: FramerEvent[]): void {
    const r = unframe(Uint8Array.from(body));
    if ('error' in r) {
      this.count(r.error);
      return;
    }
    this.frames++;
    out.push({ kind: 'frame', frame: r.frame });
  }

  private count(kind: string, n = 1): void {
    countError(this.errors, kind, n);
  }
}
