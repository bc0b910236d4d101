/**
 * Coded errors of the gateway runtime. The kind decides handling: `data` errors are counted and
 * never end a stream, `transient` ones are retried with backoff, `fatal` ones stop the start.
 */
export type GatewayErrorKind = 'data' | 'transient' | 'fatal';

export const GW_ERR = {
  CONFIG: 'GW_ERR_CONFIG', // fatal: invalid or unreadable configuration
  PROTOCOL_UNKNOWN: 'GW_ERR_PROTOCOL_UNKNOWN', // fatal: device names a protocol nobody registered
  TRANSPORT_OPEN: 'GW_ERR_TRANSPORT_OPEN', // transient: port/socket could not be opened
  TRANSPORT_IO: 'GW_ERR_TRANSPORT_IO', // transient: link failed while open
  TRANSPORT_CLOSED: 'GW_ERR_TRANSPORT_CLOSED', // transient: write on a closed link
  DRIVER: 'GW_ERR_DRIVER', // data: a protocol driver threw on some input
  OUTBOX_IO: 'GW_ERR_OUTBOX_IO', // transient or fatal: disk trouble
  OUTBOX_CLOSED: 'GW_ERR_OUTBOX_CLOSED', // fatal: append after close
  OUTBOX_TOO_LARGE: 'GW_ERR_OUTBOX_TOO_LARGE', // data: one record larger than the outbox bound
  ENVELOPE_TOO_LARGE: 'GW_ERR_ENVELOPE_TOO_LARGE', // data: an envelope above mqtt.maxEnvelopeBytes (the broker's packet limit)
  OUTBOX_CORRUPT: 'GW_ERR_OUTBOX_CORRUPT', // data: bad record found on open (truncated, counted)
  MQTT: 'GW_ERR_MQTT', // transient: broker unreachable / connection lost
  RECORD_IO: 'GW_ERR_RECORD_IO', // transient: capture file write failed
} as const;

export type GatewayErrorCode = (typeof GW_ERR)[keyof typeof GW_ERR];

export class GatewayError extends Error {
  readonly code: GatewayErrorCode;
  readonly kind: GatewayErrorKind;
  /** Extra structured detail (e.g. the list of config problems). */
  readonly details?: unknown;

  constructor(code: GatewayErrorCode, kind: GatewayErrorKind, message: string, options?: { cause?: unknown; details?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'GatewayError';
    this.code = code;
    this.kind = kind;
    if (options?.details !== undefined) this.details = options.details;
  }
}

export function isGatewayError(err: unknown, code?: GatewayErrorCode): err is GatewayError {
  return err instanceof GatewayError && (code === undefined || err.code === code);
}
