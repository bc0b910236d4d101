/**
 * Coded ingest errors (one errors.ts per area, `ING_ERR_*`, cause kept). `kind` decides the handling:
 * data → counted/dead-lettered, never ends a stream; transient → retried with backoff; fatal → fail start / health.
 */
export type IngestErrorKind = 'data' | 'transient' | 'fatal';

export type IngestErrorCode =
  | 'ING_ERR_CONFIG'
  | 'ING_ERR_INFLUXD_START'
  | 'ING_ERR_SERIES_TRANSIENT'
  | 'ING_ERR_SERIES_PARTIAL'
  | 'ING_ERR_SERIES_FATAL'
  | 'ING_ERR_SERIES_QUERY'
  | 'ING_ERR_ENVELOPE'
  | 'ING_ERR_TOPIC'
  | 'ING_ERR_UNKNOWN_GATEWAY'
  | 'ING_ERR_NOT_FOUND'
  | 'ING_ERR_CONFLICT'
  | 'ING_ERR_BAD_REQUEST'
  | 'ING_ERR_BROKER'
  | 'ING_ERR_CLOSED'
  | 'ING_ERR_GATEWAY_RETIRED'
  | 'ING_ERR_DEVICE_WRONG_GATEWAY'
  | 'ING_ERR_DEVICE_RETIRED'
  // intake integrity (mqtt/intake-integrity.ts): dead-letter codes of data errors
  | 'ING_ERR_ENVELOPE_OVER_CAP'
  | 'ING_ERR_SERIES_BUDGET'
  | 'ING_ERR_READING_CONFLICT'
  | 'ING_ERR_UNAUTHENTICATED'
  | 'ING_ERR_FORBIDDEN'
  | 'ING_ERR_RATE_LIMITED';

export class IngestError extends Error {
  readonly code: IngestErrorCode;
  readonly kind: IngestErrorKind;
  constructor(code: IngestErrorCode, kind: IngestErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IngestError';
    this.code = code;
    this.kind = kind;
  }
}

export const isTransient = (err: unknown): boolean => err instanceof IngestError && err.kind === 'transient';
