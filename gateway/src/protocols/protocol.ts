/**
 * The boundary between the generic gateway runtime (transports, device session runner, outbox,
 * publisher) and one vendor protocol. A protocol folder exports one `DeviceProtocol`; the
 * runtime never knows vendor terms. Everything here is pure except the byte writer the session
 * runner hands to a driver.
 */
import type { TSchema } from '@sinclair/typebox';
import type { Observation } from '../../../schemas/src/observation.js';
import type { Link, LinkContext } from '../transports/link.js';

/** Error counters by kind, e.g. { checksum: 2, oversize: 1, garbage: 5, decode: 1 }. */
export interface DecodeStats {
  frames: number;
  bytes: number;
  errors: Record<string, number>;
}

/** The shared error counter: adds n to one kind (framers, decoders and sessions count this way). */
export function countError(errors: Record<string, number>, kind: string, n = 1): void {
  errors[kind] = (errors[kind] ?? 0) + n;
}

/** Adds every kind of `from` into `into` (framer + decoder + session counters → one stats()). */
export function addErrors(into: Record<string, number>, from: Readonly<Record<string, number>>, prefix = ''): Record<string, number> {
  for (const [k, v] of Object.entries(from)) countError(into, `${prefix}${k}`, v);
  return into;
}

/** Who the device says it is, when the protocol tells (used to pick a firmware profile). */
export interface DeviceIdentity {
  vendor: string;
  model?: string;
  firmware?: string;
  protocolLevel?: string; // e.g. DRI level "2003"
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
  /**
   * Folder of firmware profiles (default firmware-profiles/ of the package): the gateway config's
   * `profilesDir`, `orlink decode --profiles DIR`. Read once per folder (profiles/load.ts).
   */
  profilesDir?: string;
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
  /** Host → device bytes (the TX lines of a capture); see ProtocolDecoder.pushTx. */
  pushTx?(chunk: Uint8Array): Observation[];
  /** Link freshness; see ProtocolDecoder.lastFrameAt. */
  lastFrameAt?(): number | undefined;
  /** Decoded records by vendor kind; see ProtocolDecoder.recordCounts. */
  recordCounts?(): Record<string, number>;
  /** Vendor codes the profile could not map; see ProtocolDecoder.unmapped. */
  unmapped?(): Record<string, number>;
}

/**
 * The decoder of a vendor protocol: what `createDecoder()` of every protocol folder returns and
 * what gateway/src/protocols/stream-decoder.suite.ts checks. Everything `orlink decode`, the
 * session driver and the status page read is declared here; nothing is reached by a cast.
 */
export interface ProtocolDecoder extends StreamDecoder {
  flush(): Observation[];
  /**
   * Host → device bytes of a capture. A protocol whose answers need the request (MEDIBUS: which
   * realtime code is stream 1 comes from the host's ESC T) learns from them; the others ignore
   * them. Never counted in stats() (those are device → host bytes).
   */
  pushTx(chunk: Uint8Array): Observation[];
  /**
   * Link freshness: gateway ms (the receive time given to push, else the decoder's clock) of the
   * last good frame; undefined before the first. Garbage and frames that fail their check do not
   * move it. The session watchdog and the status page read this, and only this.
   */
  lastFrameAt(): number | undefined;
  /** Decoded records by the protocol's own kind (record types, message types, packets). */
  recordCounts(): Record<string, number>;
  /** Observations the profile could not map, by vendor code. */
  unmapped(): Record<string, number>;
}

/**
 * The one channel from a decoder to its own session driver, beside observations: what the decoder
 * learned that the session must act on (HL7: the ACKs to write; IntelliVue: association and poll
 * events; MEDIBUS: the verified frames, commands to answer and answers that pace the polling).
 * `E` is the protocol's own type. The runtime never reads it; a decoder without a session
 * (`orlink decode`) simply never takes.
 */
export interface SessionChannel<E> {
  /**
   * What push() produced for the session since the last take; emptied by the call. At most
   * SESSION_CHANNEL_MAX items are kept (the oldest go first), so a decoder nobody takes from
   * does not grow.
   */
  takeForSession(): E[];
}

export const SESSION_CHANNEL_MAX = 4096;

/** Appends to a session channel's queue, keeping at most SESSION_CHANNEL_MAX items. */
export function offerToSession<E>(queue: E[], ...items: E[]): void {
  queue.push(...items);
  if (queue.length > SESSION_CHANNEL_MAX) queue.splice(0, queue.length - SESSION_CHANNEL_MAX);
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

/**
 * How a protocol's devices announce themselves on the LAN, one UDP datagram each: declared by the
 * protocol (pure parsing); the sockets are gateway/src/discovery/ (protocol folders open none).
 */
export interface DiscoverySpec<T> {
  /** Well-known UDP port of the announcements on a real network. */
  readonly port: number;
  /** One datagram → the announcement, or undefined when it is none. Never throws on input. */
  parse(datagram: Buffer): T | undefined;
  /** What identifies one announcing device (a change of anything else is reported again). */
  key(a: T, from: string): string;
}

/**
 * A transport kind a protocol brings beside the vendor-neutral ones (serial, tcp, tcp-server, udp):
 * the config of a device of THIS protocol may name it (`transport.kind`); other protocols may not.
 */
export interface ProtocolTransport {
  /** TypeBox schema of the whole `transport` block (its `kind` literal included), checked at config load. */
  readonly schema: TSchema;
  /** A fresh link per connection attempt; `transport` is valid against `schema`. */
  create(transport: { kind: string; [field: string]: unknown }, ctx?: LinkContext): Link;
}

/** `D`: what createDecoder returns; every registered vendor protocol returns a ProtocolDecoder. */
export interface DeviceProtocol<D extends StreamDecoder = StreamDecoder> {
  readonly name: string; // 'ge-dri'
  /** Default link settings for serial ports (profile may override). */
  readonly serialDefaults: { baudRate: number; dataBits: 7 | 8; parity: 'none' | 'even' | 'odd'; stopBits: 1 | 2; rtscts: boolean };
  createDecoder(opts?: DecoderOptions): D;
  createSession(opts?: SessionOptions): SessionDriver;
  /** How the protocol's devices announce themselves, when they do (see DiscoverySpec). */
  readonly discovery?: DiscoverySpec<unknown>;
  /** Folder of firmware profiles it maps with when not the default (set by registry.ts withProfilesDir); createLink reads a profile's `link` there. */
  readonly profilesDir?: string;
  /** Transport kinds of its own, by kind (e.g. `intellivue-lan`); see ProtocolTransport. */
  readonly transports?: Readonly<Record<string, ProtocolTransport>>;
}
