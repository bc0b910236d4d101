/**
 * Patient identifiers on the way out. A case's `externalIds` (HIS/visit ids: the link to a patient)
 * are removed from the response for viewer and metrics tokens, and every response that still
 * carries any is audited as `case.read-identifiers` (actor, role, address, case id, route) — never
 * with the identifiers themselves. Used as the `preSerialization` hook of every route that returns
 * a case (cases.ts), so no handler can forget it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/audit-log.js';
import type { Case } from '../cases/case-store.js';
import { actorOf } from '../routes/common.js';
import { NO_IDENTIFIER_ROLES } from './roles.js';

type Hook = (req: FastifyRequest, reply: FastifyReply, payload: unknown) => Promise<unknown>;

const isCase = (v: unknown): v is Case => !!v && typeof v === 'object' && 'bindings' in v && 'externalIds' in v;

export function identifierGuard(audit: AuditLog): { case: Hook; timeline: Hook } {
  const guard = (req: FastifyRequest, c: Case): Omit<Case, 'externalIds'> & { externalIds?: Case['externalIds'] } => {
    if (!req.auth || NO_IDENTIFIER_ROLES.includes(req.auth.role)) {
      const { externalIds: _withheld, ...rest } = c;
      return rest;
    }
    if (Object.keys(c.externalIds).length) {
      audit.record(actorOf(req), 'case.read-identifiers', 'case', c.id, { route: `${req.method} ${req.routeOptions.url}` });
    }
    return c;
  };
  return {
    case: async (req, reply, payload) => (reply.statusCode < 300 && isCase(payload) ? guard(req, payload) : payload),
    timeline: async (req, reply, payload) => {
      const p = payload as { case?: unknown } | null;
      return reply.statusCode < 300 && p && isCase(p.case) ? { ...p, case: guard(req, p.case) } : payload;
    },
  };
}
