/** GET /audit: the audit log of registry and case changes, newest first. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';
import { EpochMs } from './common.js';

export const AuditEntryBody = Type.Object({
  id: Type.Integer(), at: EpochMs, actor: Type.String(), ip: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(), entity: Type.String(), entityId: Type.String(),
  detail: Type.Record(Type.String(), Type.Unknown()),
});

export function auditRoutes(app: FastifyInstance, s: Services): void {
  app.get('/audit', {
    schema: {
      tags: ['ops'], summary: 'audit log of registry and case changes, newest first',
      querystring: Type.Object({
        entity: Type.Optional(Type.String({ maxLength: 32 })), entityId: Type.Optional(Type.String({ maxLength: 64 })),
        action: Type.Optional(Type.String({ maxLength: 64 })), since: Type.Optional(EpochMs),
        limit: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }),
      }),
      response: { 200: Type.Array(AuditEntryBody) },
    },
  }, async (req) => s.audit.list(req.query as { entity?: string; entityId?: string; action?: string; since?: number; limit: number }));
}
