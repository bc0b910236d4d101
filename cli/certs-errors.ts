/**
 * Coded errors of `orlink certs` and of cli/certs.ts (createTestPki, issueClientCert,
 * revokeClientCert). All are fatal for the call: nothing is retried.
 */
import { CodedError } from './errors.js';

export const CERTS_ERR = {
  USAGE: 'CLI_ERR_CERTS_USAGE', // bad or missing arguments (exit 2)
  EXISTS: 'CLI_ERR_CERTS_EXISTS', // the directory already holds a CA and nothing asks to reuse it
  NO_CA: 'CLI_ERR_CERTS_NO_CA', // a CA was to be reused but the directory holds none
  BAD_NAME: 'CLI_ERR_CERTS_BAD_NAME', // a client CN or a host name that is not allowed
  UNKNOWN_CLIENT: 'CLI_ERR_CERTS_UNKNOWN_CLIENT', // --revoke names a client this CA never issued
  OPENSSL: 'CLI_ERR_CERTS_OPENSSL', // the openssl binary is missing, failed or timed out
  FS: 'CLI_ERR_CERTS_FS', // the directory or a file could not be created or read
} as const;

export type CertsErrorCode = (typeof CERTS_ERR)[keyof typeof CERTS_ERR];

export class CertsError extends CodedError<CertsErrorCode> {}
