/** Shared route schemas and the IngestError → HTTP mapping. */
import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditActor } from '../audit/audit-log.js';
import { IngestError } from '../errors.js';
import type { Metrics } from '../metrics.js';

/** ids appear in MQTT topics and InfluxDB tags: no '/', '+', '#', spaces */
export const Id = Type.String({ pattern: '^[A-Za-z0-9._:-]{1,64}$', description: 'identifier: letters, digits, . _ : - (max 64)' });
export const EpochMs = Type.Integer({ minimum: 0, description: 'UTC epoch milliseconds' });
export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });

const STATUS: Record<string, number> = {
  ING_ERR_NOT_FOUND: 404,
  ING_ERR_CONFLICT: 409,
  ING_ERR_BAD_REQUEST: 400,
  ING_ERR_SERIES_QUERY: 503,
  ING_ERR_UNAUTHENTICATED: 401,
  ING_ERR_FORBIDDEN: 403,
  ING_ERR_RATE_LIMITED: 429,
};

export function errorHandler(err: FastifyError | IngestError | Error, req: FastifyRequest, reply: FastifyReply): void {
  if (err instanceof IngestError) {
    const status = STATUS[err.code] ?? (err.kind === 'transient' ? 503 : 500);
    if (status >= 500) req.log.error({ err }, 'request failed');
    void reply.status(status).send({ error: err.code, message: err.message });
    return;
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    void reply.status(400).send({ error: 'ING_ERR_BAD_REQUEST', message: fe.message });
    return;
  }
  const status = fe.statusCode && fe.statusCode >= 400 ? fe.statusCode : 500;
  if (status >= 500) req.log.error({ err }, 'request failed');
  void reply.status(status).send({ error: status >= 500 ? 'ING_ERR_INTERNAL' : 'ING_ERR_BAD_REQUEST', message: err.message });
}

/** What fastify answers before any route runs (a bad percent-escape, a path parameter over `maxParamLength`): coded and counted like the rest. */
export function frameworkErrors(metrics: Metrics) {
  return (err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void => {
    metrics.inc('rest_bad_request_total');
    const long = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
    // the URL is not echoed: it may be megabytes of anything
    void reply.status(long ? 414 : 400).send({
      error: 'ING_ERR_BAD_REQUEST',
      message: long ? 'a path parameter is longer than any orlink id (64 characters)' : 'malformed URL: invalid percent-encoding',
    });
  };
}

/** An unknown route: 404 with a code (after authentication: without a token it is a 401 first). */
export function routeNotFound(req: FastifyRequest, reply: FastifyReply): void {
  const path = req.url.split('?')[0];
  void reply.status(404).send({ error: 'ING_ERR_NOT_FOUND', message: `no route ${req.method} ${path.length > 120 ? `${path.slice(0, 120)}…` : path}` });
}

/** Client errors other than 401/403/429 (counted where they are decided), by class. */
export function countClientErrors(metrics: Metrics) {
  return async (_req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const c = reply.statusCode;
    if (c === 404) metrics.inc('rest_not_found_total');
    else if (c === 413) metrics.inc('rest_payload_too_large_total');
    else if (c === 400 || c === 414 || c === 415) metrics.inc('rest_bad_request_total');
  };
}

export function notFound(what: string): IngestError {
  return new IngestError('ING_ERR_NOT_FOUND', 'data', `${what} not found`);
}

/**
 * The actor a request's changes are audited under: its API token (`token:<id>:<name>`), the token's
 * role and the client's address. Every route but /health/live is authenticated (auth/auth-hook.ts),
 * so "anonymous" appears only if a handler of the open route ever audited something.
 */
export function actorOf(req: FastifyRequest): AuditActor & { ip: string } {
  const a = req.auth;
  return a ? { id: `token:${a.tokenId}:${a.name}`, role: a.role, ip: req.ip } : { id: 'anonymous', ip: req.ip };
}
