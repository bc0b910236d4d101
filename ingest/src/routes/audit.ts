/** GET /audit (admins only): registry, case and token changes and patient-identifier reads, newest first. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { allow } from '../auth/roles.js';
import type { Services } from '../services.js';
import { EpochMs } from './common.js';

export const AuditEntryBody = Type.Object({
  id: Type.Integer(),
  at: EpochMs,
  actor: Type.String(),
  role: Type.Union([Type.String(), Type.Null()], { description: 'the role of the API token the actor used' }),
  ip: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  entity: Type.String(),
  entityId: Type.String(),
  detail: Type.Record(Type.String(), Type.Unknown()),
});

export function auditRoutes(app: FastifyInstance, s: Services): void {
  app.get(
    '/audit',
    {
      config: allow(['admin']),
      schema: {
        tags: ['ops'],
        summary: 'audit log of registry, case and token changes and of patient-identifier reads, newest first',
        querystring: Type.Object({
          entity: Type.Optional(Type.String({ maxLength: 32 })),
          entityId: Type.Optional(Type.String({ maxLength: 64 })),
          action: Type.Optional(Type.String({ maxLength: 64 })),
          since: Type.Optional(EpochMs),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }),
        }),
        response: { 200: Type.Array(AuditEntryBody) },
      },
    },
    async (req) => s.audit.list(req.query as { entity?: string; entityId?: string; action?: string; since?: number; limit: number }),
  );
}
