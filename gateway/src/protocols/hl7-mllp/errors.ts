/**
 * Coded errors of the HL7/MLLP driver. Bad bytes and bad messages are never thrown: they are
 * counted (framer/decoder stats) and answered with a NAK. Only configuration problems throw.
 */
export const GW_ERR_HL7 = {
  CONFIG: 'GW_ERR_HL7_CONFIG', // fatal: device options the driver cannot serve (bad time zone, bad role)
} as const;

export class Hl7Error extends Error {
  readonly code = GW_ERR_HL7.CONFIG;
  readonly kind = 'fatal' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'Hl7Error';
  }
}
