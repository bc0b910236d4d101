/**
 * Coded errors of the outbound HL7 area (`ING_ERR_HL7OUT_*`, cause kept). transient: the queue is
 * full or the endpoint unreachable / silent (retried); data: the endpoint refused a message (AE/AR,
 * dead-lettered); fatal: configuration.
 */
export type Hl7OutErrorCode =
  'ING_ERR_HL7OUT_QUEUE_FULL' | 'ING_ERR_HL7OUT_CONNECT' | 'ING_ERR_HL7OUT_ACK_TIMEOUT' | 'ING_ERR_HL7OUT_CLOSED' | 'ING_ERR_HL7OUT_CONFIG';

export class Hl7OutError extends Error {
  constructor(
    readonly code: Hl7OutErrorCode,
    readonly kind: 'data' | 'transient' | 'fatal',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'Hl7OutError';
  }
}
