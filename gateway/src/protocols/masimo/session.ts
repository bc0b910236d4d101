/**
 * Masimo session: the oximeter only talks (one line per second, no requests, no handshake), so
 * the driver just listens. lastFrameAt() is the receive time of the last valid line, which the
 * runner's watchdog uses to reopen a port that went silent.
 */
import type { Observation } from '../../../../schemas/src/observation.js';
import type { SessionDriver, SessionIO, SessionOptions, StreamDecoder } from '../protocol.js';
import { MasimoStreamDecoder, type MasimoDecoderOptions } from './stream-decoder.js';

export class MasimoSession implements SessionDriver {
  private readonly dec: MasimoStreamDecoder;

  constructor(opts: SessionOptions & Pick<MasimoDecoderOptions, 'profiles'> = {}) {
    this.dec = new MasimoStreamDecoder({ ...opts, timeBase: opts.timeBase ?? 'gateway' });
  }

  start(_io: SessionIO): void {
    /* output-only device: nothing to send */
  }

  onBytes(chunk: Uint8Array, rxTimeMs: number): Observation[] {
    return this.dec.push(chunk, rxTimeMs);
  }

  tick(_nowMs: number): void {
    /* nothing to refresh */
  }

  stop(): void {
    /* nothing to stop */
  }

  decoder(): StreamDecoder {
    return this.dec;
  }

  lastFrameAt(): number | undefined {
    return this.dec.lastFrameAt();
  }
}
