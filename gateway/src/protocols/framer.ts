/**
 * The framer contract every protocol's wire framer implements: bytes of one direction of the link,
 * in any split, in → complete verified frames out, in wire order. A framer is pure (no I/O, no
 * clock), never throws on input, holds at most `maxBufferedBytes` bytes whatever it is fed, and
 * counts every byte it cannot turn into a frame under an error kind ('garbage', 'checksum',
 * 'oversize', …; the kinds of one protocol are listed in its framer's header comment).
 * The shared suite in framer.suite.ts checks all of this for every protocol.
 */

/** Counters since the framer was made (reset() keeps them). */
export interface FramerStats {
  /** Good frames delivered. */
  frames: number;
  /** Bytes pushed. */
  bytes: number;
  /** Dropped input by kind, e.g. { garbage: 4, checksum: 1, oversize: 1 }. */
  errors: Record<string, number>;
}

export interface Framer<F> {
  /** Feed one chunk (any split, the chunk may be reused by the caller); returns the frames it completed. */
  push(chunk: Uint8Array): F[];
  stats(): FramerStats;
  /** Bytes held for a frame not yet complete. */
  buffered(): number;
  /** Upper bound of buffered(): the framer never holds more, whatever it is fed. */
  readonly maxBufferedBytes: number;
  /**
   * Drop a partial frame and return to the idle state (the link reopened, the format changed);
   * counters are kept. Not an error: nothing is counted for the dropped bytes.
   */
  reset(): void;
}

export { countError } from './protocol.js';
