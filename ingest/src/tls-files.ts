/**
 * A TLS section of the ingest config (`http.tls`, `broker.tls`; schemas/src/ingest-config.ts) turned
 * into Node TLS server options: the PEM files are read here, once, at start (a changed certificate
 * or CRL takes effect at the next restart, docs/tls.md). An unreadable file is an IngestConfigError
 * naming the config key.
 */
import { readFileSync } from 'node:fs';
import type tls from 'node:tls';
import { IngestConfigError, type TlsServerConfig } from '../../schemas/src/ingest-config.js';

export type ClientCertMode = TlsServerConfig['clientCerts'];

/** what tls.createServer / https.createServer get, plus the mode the caller enforces */
export interface TlsServerOptions extends tls.TlsOptions {
  clientCerts: ClientCertMode;
}

/** `at`: the config path of the section, e.g. '/broker/tls' */
export function readTlsServerFiles(c: TlsServerConfig, at: string): TlsServerOptions {
  const problems: string[] = [];
  const read = (key: 'certFile' | 'keyFile' | 'caFile' | 'crlFile'): Buffer | undefined => {
    const file = c[key];
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      problems.push(`${at}/${key}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return undefined;
    }
  };
  const cert = read('certFile');
  const key = read('keyFile');
  const ca = read('caFile');
  const crl = read('crlFile');
  if (problems.length) throw new IngestConfigError(problems);
  return {
    cert,
    key,
    minVersion: c.minVersion,
    clientCerts: c.clientCerts,
    ...(ca ? { ca } : {}),
    ...(crl ? { crl } : {}),
    // 'optional': asked for, not enforced by the handshake; the caller refuses a presented certificate that did not verify
    requestCert: c.clientCerts !== 'none',
    rejectUnauthorized: c.clientCerts === 'required',
  };
}
