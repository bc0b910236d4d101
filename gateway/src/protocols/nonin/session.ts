/**
 * Nonin session: the oximeter streams by itself. Devices whose profile sets params.selectFormat
 * (3150 WristOx2, Onyx II 9560) are first sent the select-format command (STX 70 02 <prefix>
 * <format> ETX); it is repeated every 5 s, at most params.selectRetries times (default 5), until a
 * valid frame arrives. The first byte after a command is checked for ACK (06) / NAK (15) and
 * counted (commandReplies(); a NAK also as error 'nak'); a NAK does not stop the stream.
 * Profile `auto` never changes the device's configuration by itself: the command is sent only
 * when the options say selectFormat: true, and then for options.dataFormat (required with it).
 * Options: dataFormat 2 | 7 | 8, selectFormat boolean; anything else fails at start.
 */
import type { Observation } from '../../../../schemas/src/observation.js';
import type { SessionDriver, SessionIO, SessionOptions, StreamDecoder } from '../protocol.js';
import { NoninError } from './errors.js';
import { ACK, DATA_FORMATS, encodeSelectFormat, NAK, type DataFormat } from './frame.js';
import { NoninStreamDecoder, type NoninDecoderOptions } from './stream-decoder.js';

const RETRY_MS = 5000;

export class NoninSession implements SessionDriver {
  private readonly dec: NoninStreamDecoder;
  private readonly select: boolean;
  private readonly retries: number;
  private readonly prefix: number;
  /** The format the command selects (set whenever select is). */
  private readonly target?: DataFormat;
  private io?: SessionIO;
  private sent = 0;
  private lastSent?: number;
  private awaitReply = false;
  private readonly replies = { ack: 0, nak: 0 };
  private readonly now: () => number;

  constructor(opts: SessionOptions & Pick<NoninDecoderOptions, 'profiles'> = {}) {
    this.now = opts.now ?? Date.now;
    const fmt = opts.options?.dataFormat;
    const sel = opts.options?.selectFormat;
    if (fmt !== undefined && !DATA_FORMATS.includes(fmt as DataFormat)) throw new NoninError(`option dataFormat must be one of ${DATA_FORMATS.join(', ')}`);
    if (sel !== undefined && typeof sel !== 'boolean') throw new NoninError('option selectFormat must be true or false');
    const explicit = !!opts.profileId && opts.profileId !== 'auto';
    if (!explicit && sel === true && fmt === undefined)
      throw new NoninError('option selectFormat with profile auto needs option dataFormat (the format to select)');
    this.dec = new NoninStreamDecoder({ ...opts, timeBase: opts.timeBase ?? 'gateway', ...(fmt !== undefined ? { dataFormat: fmt as DataFormat } : {}) });
    const params = this.dec.profile?.params ?? {};
    // a profile's selectFormat param is followed only when that profile was configured, never under auto
    this.select = sel !== undefined ? sel : explicit && params.selectFormat === true;
    this.target = this.dec.format;
    this.retries = typeof params.selectRetries === 'number' ? params.selectRetries : 5;
    this.prefix = typeof params.selectFormatPrefix === 'number' ? params.selectFormatPrefix : 0x02;
  }

  start(io: SessionIO): void {
    this.io = io;
    if (this.select) this.sendSelect(this.now());
  }

  onBytes(chunk: Uint8Array, rxTimeMs: number): Observation[] {
    // the reply is the first byte after a command (diagnostic: a stream byte may look like one)
    if (this.awaitReply && chunk.length) {
      this.awaitReply = false;
      if (chunk[0] === ACK) this.replies.ack++;
      else if (chunk[0] === NAK) {
        this.replies.nak++;
        this.dec.countError('nak');
      }
    }
    return this.dec.push(chunk, rxTimeMs);
  }

  tick(nowMs: number): void {
    if (!this.select || !this.io || this.dec.lastFrameAt() !== undefined || this.lastSent === undefined) return;
    if (this.sent < this.retries && nowMs - this.lastSent >= RETRY_MS) this.sendSelect(nowMs);
  }

  stop(): void {
    this.io = undefined;
  }

  decoder(): StreamDecoder {
    return this.dec;
  }

  /** Replies to the select-format command seen before the first frame. */
  commandReplies(): { ack: number; nak: number; sent: number } {
    return { ...this.replies, sent: this.sent };
  }

  lastFrameAt(): number | undefined {
    return this.dec.lastFrameAt();
  }

  /** The link is going: bytes `auto` still held undecided are counted. */
  flush(): Observation[] {
    return this.dec.flush();
  }

  private sendSelect(nowMs: number): void {
    if (this.target === undefined) return;
    this.io?.write(encodeSelectFormat(this.target, this.prefix));
    this.sent++;
    this.lastSent = nowMs;
    this.awaitReply = true;
  }
}
