/**
 * Coded errors of the verbs that run a whole stack (`orlink demo`, `orlink bench`, the soak), and
 * the one-line form they are reported in. All are fatal: the verb stops everything it started and
 * exits non-zero.
 */
export const CLI_ERR = {
  START: 'CLI_ERR_START', // the stack could not be started (cause says why)
  RUN: 'CLI_ERR_RUN', // the stack failed while running
  INTERRUPTED: 'CLI_ERR_INTERRUPTED', // SIGINT/SIGTERM/SIGHUP before the verb was done
  UNCAUGHT: 'CLI_ERR_UNCAUGHT', // an uncaught exception or unhandled rejection
  INJECTED: 'CLI_ERR_INJECTED', // test-only fault injection (ORLINK_FAIL_AT, cli/fail-at.ts)
  STOPPING: 'CLI_ERR_STOPPING', // a process was to be started while everything is stopping
  LEFTOVER: 'CLI_ERR_LEFTOVER', // a child process did not exit even after SIGKILL
} as const;

export type CliErrorCode = (typeof CLI_ERR)[keyof typeof CLI_ERR];

/** The base of every CLI verb's coded error: a `CLI_ERR_*` code, a message that says what to do, a cause. */
export class CodedError<C extends string> extends Error {
  readonly code: C;
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.code = code;
  }
}

export class CliError extends CodedError<CliErrorCode> {}

/** The coded-error code (`AREA_ERR_*`) of `e`, if it has one. */
export const errorCode = (e: unknown): string | undefined => {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' && /^[A-Z]+_ERR_[A-Z0-9_]+$/.test(c) ? c : undefined;
};

/**
 * One line for a human: `CODE: message: CAUSE_CODE: cause message ...` (the cause chain, codes
 * where the error has one, no stack). A stack is only worth printing for an error without a code.
 */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const message = e instanceof Error ? e.message : String(e);
    const code = errorCode(e);
    parts.push(code ? `${code}: ${message}` : message);
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(': ').replace(/\s*\n\s*/g, ' | ');
}
