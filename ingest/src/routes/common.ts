/** Shared route schemas and the IngestError → HTTP mapping. */
import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { IngestError } from '../errors.js';

/** ids appear in MQTT topics and InfluxDB tags: no '/', '+', '#', spaces */
export const Id = Type.String({ pattern: '^[A-Za-z0-9._:-]{1,64}$', description: 'identifier: letters, digits, . _ : - (max 64)' });
export const EpochMs = Type.Integer({ minimum: 0, description: 'UTC epoch milliseconds' });
export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });

const STATUS: Record<string, number> = {
  ING_ERR_NOT_FOUND: 404, ING_ERR_CONFLICT: 409, ING_ERR_BAD_REQUEST: 400, ING_ERR_SERIES_QUERY: 503,
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

export function notFound(what: string): IngestError {
  return new IngestError('ING_ERR_NOT_FOUND', 'data', `${what} not found`);
}

/**
 * The actor a request's changes are audited under. No REST authentication exists yet, so the actor
 * is "anonymous" with the client's address; the trust-boundary work replaces it with the token's owner.
 */
export function actorOf(req: FastifyRequest): { id: string; ip: string } {
  return { id: 'anonymous', ip: req.ip };
}
