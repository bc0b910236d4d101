/**
 * Coded errors of the simulators area (CONVENTIONS rule 4). `kind` decides handling:
 * data errors are counted and never end a stream, transient ones are retried, fatal ones stop
 * the simulator at start.
 */
export type SimErrorKind = 'data' | 'transient' | 'fatal';

export const SIM_ERR = {
  WFDB_HEADER: 'SIM_ERR_WFDB_HEADER', // malformed .hea text
  WFDB_FORMAT: 'SIM_ERR_WFDB_FORMAT', // storage format we do not read
  WFDB_FILE: 'SIM_ERR_WFDB_FILE', // signal file missing, short or unreadable
  WFDB_SIGNAL: 'SIM_ERR_WFDB_SIGNAL', // a requested signal is not in the record
  DATA_DIR: 'SIM_ERR_DATA_DIR', // a configured recordings directory (--data-dir, ORLINK_PHYSIONET_DIR) is missing
  PHYSIO_CONFIG: 'SIM_ERR_PHYSIO_CONFIG', // bad physiology options
  LINK_OPEN: 'SIM_ERR_LINK_OPEN', // pty/serial/tcp could not be opened
  LINK_CLOSED: 'SIM_ERR_LINK_CLOSED', // write on a closed link
  CODEC_MISSING: 'SIM_ERR_CODEC_MISSING', // the gateway's GE DRI codec is not available
  REQUEST: 'SIM_ERR_REQUEST', // a host request we could not parse (counted)
  USAGE: 'SIM_ERR_USAGE', // bad command line
} as const;

export type SimErrorCode = (typeof SIM_ERR)[keyof typeof SIM_ERR];

export class SimError extends Error {
  readonly code: SimErrorCode;
  readonly kind: SimErrorKind;
  constructor(code: SimErrorCode, message: string, opts: { kind?: SimErrorKind; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SimError';
    this.code = code;
    this.kind = opts.kind ?? 'fatal';
  }
}
