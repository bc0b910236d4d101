/**
 * Which Nonin data format a stream is in, from its bytes (the device never says). A format is
 * *proven* by a run of back-to-back frames (each starting where the previous ended):
 *   #2, #7: one complete packet in sync: a SYNC frame, 24 frames without SYNC, the next SYNC frame
 *           (26 frames, 130 bytes), every checksum good;
 *   #8:     PROOF_FRAMES_8 (4) plausible frames (see plausibleFormat8: no checksum exists, so the
 *           values must be in range), 16 bytes, 4 s.
 * The tracker looks at every stream offset once, as each byte arrives, so where a chunk was split
 * never changes what is proven or where. It holds no bytes: the caller passes a buffer that still
 * holds the last PROOF_SPAN bytes.
 * Why the formats do not prove each other (the README gives the byte positions): a #2 frame starts
 * with 01 and a #7 frame with STATUS (bit 7 set), so their frames never share a start; in a #2 or
 * #7 stream every 5th byte is a STATUS byte with bit 7 set, which allows at most 2 back-to-back
 * #8-shaped frames; a #8 stream has bit 7 set only every 4th byte, so #2/#7 frames never chain.
 */
import { checkFrame, FRAME_SIZE, FRAMES_PER_PACKET, frameStatus, plausibleFormat8, STATUS, type DataFormat } from './frame.js';

export const PROOF_FRAMES_8 = 4;
/**
 * Once #8 is proven, a second is read only in a run of this many back-to-back plausible seconds:
 * one more than a #2/#7 stream can hold, so the bytes of a new format are never read as #8.
 */
export const CONFIRM_FRAMES_8 = 3;
/** Longest proof, in bytes (a #2/#7 packet plus the next SYNC frame). */
export const PROOF_SPAN = (FRAMES_PER_PACKET + 1) * FRAME_SIZE[2];

/** A proof: format and the stream offsets [start, end) of the frames that make it. */
export interface Proof {
  format: DataFormat;
  start: number;
  end: number;
}

interface Run {
  /** back-to-back valid frames ending at the last checked offset of this phase */
  frames: number;
  /** #2/#7: frames since the run's last SYNC frame; -1 = no SYNC in the run yet */
  sinceSync: number;
}

export class ProofTracker {
  private readonly runs = new Map<DataFormat, Run[]>();
  private readonly validEnd = new Map<DataFormat, number>();
  private end = 0;

  constructor(readonly formats: readonly DataFormat[]) {
    for (const f of formats)
      this.runs.set(
        f,
        Array.from({ length: FRAME_SIZE[f] }, () => ({ frames: 0, sinceSync: -1 })),
      );
  }

  /**
   * The byte before stream offset `end` has just arrived; `buf[i]` holds stream offset `base + i`.
   * Checks, per format, the frame that ends at `end`; returns the proofs completed there.
   */
  step(buf: Uint8Array, base: number, end: number): Proof[] {
    const out: Proof[] = [];
    this.end = end;
    for (const [f, runs] of this.runs) {
      const size = FRAME_SIZE[f];
      const start = end - size;
      if (start < 0) continue;
      const run = runs[start % size];
      const at = start - base;
      const ok = f === 8 ? plausibleFormat8(buf, at) : checkFrame(f, buf, at) === 'ok';
      if (!ok) {
        run.frames = 0;
        run.sinceSync = -1;
        continue;
      }
      run.frames++;
      this.validEnd.set(f, end);
      if (f === 8) {
        if (run.frames >= PROOF_FRAMES_8) out.push({ format: f, start: end - PROOF_FRAMES_8 * size, end });
      } else if (frameStatus(f, buf, at) & STATUS.SYNC) {
        if (run.sinceSync === FRAMES_PER_PACKET - 1) out.push({ format: f, start: end - (FRAMES_PER_PACKET + 1) * size, end });
        run.sinceSync = 0;
      } else if (run.sinceSync >= 0) run.sinceSync++;
    }
    return out;
  }

  /** Back-to-back valid frames of `f` ending at `end`, the offset of the last step (else 0). */
  chain(f: DataFormat, end: number): number {
    const runs = this.runs.get(f);
    if (!runs || end !== this.end || end < FRAME_SIZE[f]) return 0;
    return runs[(end - FRAME_SIZE[f]) % FRAME_SIZE[f]].frames;
  }

  /** Stream offset just after the last valid frame of `f` (plausible for #8), or -1. */
  lastValidEnd(f: DataFormat): number {
    return this.validEnd.get(f) ?? -1;
  }
}
