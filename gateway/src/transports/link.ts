/**
 * Types-only boundary between the session runner and a byte link (serial port, TCP socket, test
 * double). A link reports an I/O `error` and its `close` as distinct events: `close` fires
 * exactly once per successful open(), with `byUs` telling a requested close from a lost link.
 */
import type { Logger } from 'pino';
import type { AnyTransportConfig } from '../../../schemas/src/gateway-config.js';
import type { DeviceProtocol } from '../protocols/protocol.js';

export interface LinkCloseInfo {
  byUs: boolean;
  error?: Error;
}

export interface LinkEvents {
  data: (chunk: Buffer) => void;
  error: (err: Error) => void;
  close: (info: LinkCloseInfo) => void;
}

export interface Link {
  /** For logs and status, e.g. "serial:/dev/ttyUSB0@19200-8E1" or "tcp:127.0.0.1:4001". */
  readonly description: string;
  /** Rejects with GW_ERR_TRANSPORT_OPEN (transient). */
  open(): Promise<void>;
  /** Fire and forget; failures surface as `error` (and usually `close`). */
  write(bytes: Uint8Array): void;
  /** Idempotent; resolves once the link is closed. */
  close(): Promise<void>;
  /** Events of the link itself counted by kind (e.g. refused senders); the session adds them to errorsByKind. */
  counts?(): Record<string, number>;
  on<E extends keyof LinkEvents>(event: E, listener: LinkEvents[E]): this;
  off<E extends keyof LinkEvents>(event: E, listener: LinkEvents[E]): this;
}

/**
 * What the session hands a link factory: its logger (child with the device's bindings) and the
 * device's firmware profile (`profile` of the device config; `profilesDir` of the gateway config),
 * whose `link` block fills the serial settings the transport leaves out (createLink, index.ts).
 */
export interface LinkContext {
  logger?: Logger;
  profileId?: string;
  profilesDir?: string;
}

/** Creates a fresh link for each (re)connection attempt. */
export type LinkFactory = (transport: AnyTransportConfig, protocol: DeviceProtocol, ctx?: LinkContext) => Link;
