/** Coded errors of the Dräger MEDIBUS driver. Bad bytes are never errors here: they are counted (stats). */
export const GW_ERR_MEDIBUS = {
  CONFIG: 'GW_ERR_MEDIBUS_CONFIG', // fatal: session options the device cannot serve (unknown realtime code, bad period)
} as const;

export class MedibusError extends Error {
  readonly code = GW_ERR_MEDIBUS.CONFIG;
  readonly kind = 'fatal' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'MedibusError';
  }
}
