/** Coded errors of the GE DRI driver. Bad bytes are never errors here: they are counted (framer/decoder stats). */
export const GW_ERR_GE_DRI = {
  CONFIG: 'GW_ERR_GE_DRI_CONFIG', // fatal: session options the monitor cannot serve (> 8 waves, > 600 samples/s, unknown wave)
} as const;

export class GeDriError extends Error {
  readonly code = GW_ERR_GE_DRI.CONFIG;
  readonly kind = 'fatal' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'GeDriError';
  }
}
