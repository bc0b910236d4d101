/**
 * Profile `auto` for Nonin: the data format is found in the stream (rules: detect.ts, README).
 * Bytes are held in a window of the last DETECT_BUDGET bytes, each chunk with its receive time.
 *   detecting → lock: the first proof of a format with no other format's proof in the window
 *     locks it ('format-ambiguous' counts the proofs that met a rival). The window is replayed
 *     into that format's decoder chunk by chunk with the original receive times, so the frames
 *     that proved the format (for #2/#7 also those before them, while held) are decoded and timed
 *     as if the profile had been given. #8 is read from its proof on (no checksum: held noise
 *     would read as #8 seconds). Bytes that no decoder gets are counted 'format-undetermined':
 *     those that leave the window undecided, the held bytes before an #8 proof, and those still
 *     held when the link goes (flush()).
 *   locked, #8: a second is read only in a run of CONFIRM_FRAMES_8 back-to-back plausible seconds
 *     (the #8 framer checks only bit 7, and a #2/#7 stream is full of such shapes: a new format
 *     would read as many bogus seconds until its proof); others count as 'unconfirmed' bytes.
 *     A clean #8 stream is read whole, as with the profile given.
 *   locked → switch: another format proves itself on bytes after the locked format's last proof
 *     (menu changed, device swapped without a pause): 'format-changed'; the new decoder starts at
 *     the new proof and its first packet is flagged 'discontinuity'. The old one has seen the new
 *     bytes it was given before the proof completed (up to PROOF_SPAN) and counted them as garbage.
 *   locked → detecting: no valid frame of the locked format in the last DETECT_BUDGET bytes:
 *     'format-lost'; identity and profile are cleared until a format proves itself again.
 * Chunks are cut into slices of at most a quarter of the budget, so the window stays bounded.
 */
import type { Observation } from '../../../../schemas/src/observation.js';
import type { Profile } from '../../../../schemas/src/profile.js';
import type { DeviceIdentity } from '../protocol.js';
import { CONFIRM_FRAMES_8, PROOF_SPAN, ProofTracker, type Proof } from './detect.js';
import { DATA_FORMATS, FRAME_SIZE, type DataFormat } from './frame.js';
import { ByteWindow } from './byte-window.js';
import { NoninFormatDecoder } from './format-decoder.js';

export const DETECT_BUDGET = 1024;

export interface AutoFormatOptions {
  /** The profile each format is decoded with once proven; formats without one are never proposed. */
  profiles: Partial<Record<DataFormat, Profile>>;
  now?: () => number;
}

export class AutoFormat {
  private readonly win = new ByteWindow(2 * DETECT_BUDGET);
  private readonly tracker: ProofTracker;
  private readonly lastProof = new Map<DataFormat, Proof>();
  private current?: NoninFormatDecoder;
  private fedTo = 0; // stream offset the current decoder has been given bytes up to
  private undecidedFrom = 0; // bytes from here on were given to no decoder yet
  private decoders = 0;
  private bytes = 0;
  private lastFrame?: number;
  private readonly done = { frames: 0, packets: 0, errors: {} as Record<string, number>, unmapped: {} as Record<string, number> };
  private readonly counts: Record<string, number> = {};

  constructor(private readonly opts: AutoFormatOptions) {
    this.tracker = new ProofTracker(DATA_FORMATS.filter((f) => opts.profiles[f]));
    if (DETECT_BUDGET < PROOF_SPAN) throw new RangeError('the detection window must hold a whole proof');
  }

  push(chunk: Uint8Array, rxTimeMs?: number): Observation[] {
    this.bytes += chunk.length;
    const out: Observation[] = [];
    const step = DETECT_BUDGET / 4;
    for (let i = 0; i < chunk.length; i += step) this.slice(chunk.subarray(i, i + step), rxTimeMs, out);
    return out;
  }

  private slice(bytes: Uint8Array, rx: number | undefined, out: Observation[]): void {
    const from = this.win.end;
    this.win.append(bytes, rx);
    for (let e = from + 1; e <= from + bytes.length; e++) {
      const before = this.win.start;
      const gone = this.win.dropBefore(e - DETECT_BUDGET);
      if (!this.current) this.count('format-undetermined', before + gone - Math.max(before, this.undecidedFrom));
      for (const p of this.tracker.step(this.win.buf, this.win.base, e)) this.onProof(p, e, out);
      const cur = this.current;
      if (cur?.format === 8) this.confirm8(e, out);
      if (cur && e - this.tracker.lastValidEnd(cur.format) >= DETECT_BUDGET) {
        this.release(e, out);
        this.retire();
        this.count('format-lost');
        this.undecidedFrom = e;
      }
    }
    if (this.current && this.current.format !== 8) this.feed(this.win.end, out);
  }

  /** #8: the run of seconds ending at `e`, if long enough, goes to the decoder; what it skipped is counted. */
  private confirm8(e: number, out: Observation[]): void {
    const n = this.tracker.chain(8, e);
    if (n < CONFIRM_FRAMES_8) return;
    const from = Math.max(this.fedTo, e - n * FRAME_SIZE[8]);
    this.count('unconfirmed', from - this.fedTo);
    this.fedTo = from;
    this.feed(e, out);
  }

  /** The current decoder is given up at `to`: #2/#7 get the bytes up to it, #8 only what confirm8 let through. */
  private release(to: number, out: Observation[]): void {
    if (this.current!.format !== 8) this.feed(to, out);
    else {
      this.count('unconfirmed', to - this.fedTo);
      this.fedTo = to;
    }
  }

  private onProof(p: Proof, e: number, out: Observation[]): void {
    this.lastProof.set(p.format, p);
    const cur = this.current;
    if (!cur) {
      const rival = [...this.lastProof.values()].some((q) => q.format !== p.format && q.end > this.win.start);
      if (rival) {
        this.count('format-ambiguous');
        return;
      }
      // #2/#7: the held bytes are replayed (checksums and packets keep noise out, as with the profile
      // given); #8 has no checksum, so only the proof and what follows are read: held noise would
      // turn into readings
      const held = Math.max(this.win.start, this.undecidedFrom);
      const from = p.format === 8 ? p.start : Math.min(held, p.start);
      this.count('format-undetermined', from - held);
      this.lock(p.format, Math.max(this.win.start, from), e, out);
    } else if (p.format !== cur.format && p.start >= (this.lastProof.get(cur.format)?.end ?? -1)) {
      this.release(Math.max(this.fedTo, p.start), out);
      this.retire();
      this.count('format-changed');
      this.lock(p.format, p.start, e, out);
    }
  }

  private lock(f: DataFormat, from: number, e: number, out: Observation[]): void {
    this.current = new NoninFormatDecoder(this.opts.profiles[f]!, f, { now: this.opts.now, identifyModel: false, gapFirst: this.decoders > 0 });
    this.decoders++;
    this.fedTo = from;
    this.feed(e, out);
  }

  /** Gives the current decoder the held bytes up to stream offset `to`, chunk by chunk. */
  private feed(to: number, out: Observation[]): void {
    const cur = this.current!;
    for (const [b, rx] of this.win.pieces(this.fedTo, to)) out.push(...cur.push(b, rx));
    this.fedTo = to;
    this.lastFrame = cur.lastFrameAt() ?? this.lastFrame;
  }

  private retire(): void {
    const cur = this.current!;
    const s = cur.stats();
    this.done.frames += s.frames;
    this.done.packets += cur.packets;
    for (const [k, v] of Object.entries(s.errors)) this.done.errors[k] = (this.done.errors[k] ?? 0) + v;
    for (const [k, v] of Object.entries(cur.unmapped())) this.done.unmapped[k] = (this.done.unmapped[k] ?? 0) + v;
    this.current = undefined;
  }

  /** The link is going: bytes still held undecided (or, under #8, unconfirmed) will never be read. */
  flush(): void {
    if (this.current) {
      if (this.current.format === 8) this.release(this.win.end, []);
      return;
    }
    const end = this.win.end;
    this.count('format-undetermined', end - Math.max(this.win.start, this.undecidedFrom));
    this.undecidedFrom = end;
  }

  private count(kind: string, n = 1): void {
    if (n > 0) this.counts[kind] = (this.counts[kind] ?? 0) + n;
  }

  stats(): { frames: number; bytes: number; errors: Record<string, number> } {
    const s = this.current?.stats();
    const errors = { ...this.done.errors };
    for (const [k, v] of [...Object.entries(s?.errors ?? {}), ...Object.entries(this.counts)]) errors[k] = (errors[k] ?? 0) + v;
    return { frames: this.done.frames + (s?.frames ?? 0), bytes: this.bytes, errors };
  }

  packets(): number {
    return this.done.packets + (this.current?.packets ?? 0);
  }

  unmapped(): Record<string, number> {
    const u = { ...this.done.unmapped };
    for (const [k, v] of Object.entries(this.current?.unmapped() ?? {})) u[k] = (u[k] ?? 0) + v;
    return u;
  }

  get format(): DataFormat | undefined {
    return this.current?.format;
  }
  get profile(): Profile | undefined {
    return this.current?.profile;
  }
  identity(): DeviceIdentity | undefined {
    return this.current?.identity();
  }
  lastFrameAt(): number | undefined {
    return this.current?.lastFrameAt() ?? this.lastFrame;
  }
}
