/** Coded errors of the Nonin driver. Bad bytes are never errors here: they are counted (stats). */
export const GW_ERR_NONIN = {
  CONFIG: 'GW_ERR_NONIN_CONFIG', // fatal: device options the driver cannot serve (unknown dataFormat, selectFormat without a format)
} as const;

export class NoninError extends Error {
  readonly code = GW_ERR_NONIN.CONFIG;
  readonly kind = 'fatal' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'NoninError';
  }
}
