/**
 * The boundary between the generic gateway runtime (transports, device session runner, outbox,
 * publisher) and one vendor protocol. A protocol folder exports one `DeviceProtocol`; the
 * runtime never knows vendor terms. Everything here is pure except the byte writer the session
 * runner hands to a driver.
 */
import type { Observation } from '../../../schemas/src/observation.js';

/** Error counters by kind, e.g. { checksum: 2, oversize: 1, garbage: 5, decode: 1 }. */
export interface DecodeStats {
  frames: number;
  bytes: number;
  errors: Record<string, number>;
}

/** Who the device says it is, when the protocol tells (used to pick a firmware profile). */
export interface DeviceIdentity {
  vendor: string;
  model?: string;
  firmware?: string;
  protocolLevel?: string;   // e.g. DRI level "2003"
  serial?: string;
}

export interface DecoderOptions {
  /** Firmware profile id to use, or undefined/'auto' to choose from the device's identity. */
  profileId?: string;
  /** Gateway clock for receive stamps (ms); tests inject it. */
  now?: () => number;
  /**
   * 'device': t is the device's own clock (what `orlink decode` uses on captures).
   * 'gateway': t is the device clock corrected by the tracked offset to the gateway clock,
   * used as is while |offset| <= clockToleranceMs (flag 'clock-offset' when corrected).
   */
  timeBase?: 'device' | 'gateway';
  clockToleranceMs?: number;
}

/** Passive decoding of device→host bytes: framer + decoder + profile mapping. */
export interface StreamDecoder {
  /** Feed one chunk as it arrived (any split); returns the observations completed by it. */
  push(chunk: Uint8Array, rxTimeMs?: number): Observation[];
  stats(): DecodeStats;
  identity(): DeviceIdentity | undefined;
  /** Profile in use (after auto-selection), e.g. "ge/s5/dri-2003". */
  profileId(): string | undefined;
  /** Device clock minus gateway clock, ms, when known. */
  clockOffsetMs(): number | undefined;
  /**
   * End of the stream (link going, end of a capture): returns what the decoder still holds for a
   * later frame and counts what it can never decode. Called once, after the last push.
   */
  flush?(): Observation[];
}

/** What a session driver may do to the link. */
export interface SessionIO {
  write(bytes: Uint8Array): void;
}

/**
 * Active side of a protocol: handshake, requests, keep-alive. The runner calls start() after the
 * transport opened, onBytes() for every received chunk, tick() about once a second, stop() before
 * closing. `healthy()` false for longer than the watchdog allows makes the runner reopen the link.
 */
export interface SessionDriver {
  start(io: SessionIO): void;
  onBytes(chunk: Uint8Array, rxTimeMs: number): Observation[];
  tick(nowMs: number): void;
  stop(): void;
  decoder(): StreamDecoder;
  /** ms timestamp of the last valid frame, for the watchdog. */
  lastFrameAt(): number | undefined;
  /**
   * The link is going away (closed by the peer, watchdog, gateway stop): hand out what the driver
   * holds for a later frame (an open wave block, a realtime cycle in progress) instead of
   * dropping readings that already arrived. Called once, before the driver is discarded.
   */
  flush?(): Observation[];
}

export interface SessionOptions extends DecoderOptions {
  /** Protocol-specific options from the device's config block (e.g. waves, intervals). */
  options?: Record<string, unknown>;
}

export interface DeviceProtocol {
  readonly name: string;  // 'ge-dri'
  /** Default link settings for serial ports (profile may override). */
  readonly serialDefaults: { baudRate: number; dataBits: 7 | 8; parity: 'none' | 'even' | 'odd'; stopBits: 1 | 2; rtscts: boolean };
  createDecoder(opts?: DecoderOptions): StreamDecoder;
  createSession(opts?: SessionOptions): SessionDriver;
}
