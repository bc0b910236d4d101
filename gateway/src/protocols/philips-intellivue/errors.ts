/** Coded errors of the Philips IntelliVue driver. Bad bytes are never thrown: they are counted in stats. */
export const GW_ERR_INTELLIVUE = {
  CONFIG: 'GW_ERR_INTELLIVUE_CONFIG', // fatal: session options the driver cannot serve
  ENCODE: 'GW_ERR_INTELLIVUE_ENCODE', // fatal: a message too large for its length fields
} as const;

export type IntelliVueErrorCode = (typeof GW_ERR_INTELLIVUE)[keyof typeof GW_ERR_INTELLIVUE];

export class IntelliVueError extends Error {
  readonly kind = 'fatal' as const;

  constructor(
    readonly code: IntelliVueErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'IntelliVueError';
  }
}
