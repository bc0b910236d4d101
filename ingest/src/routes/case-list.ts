/**
 * GET /cases: list and search cases (docs/api.md "Case list"), newest first, in pages. Roles admin,
 * recorder, viewer; a site-limited token sees only the cases all of whose beds are in its site (and
 * 403 when it names another site or a bed of another). Each case goes through the identifier guard
 * (viewers get no externalIds; every case returned with externalIds is audited). Searching by
 * `externalId` is for roles that may read identifiers only, and is itself audited as
 * `case.search-identifiers` (the route and the number of results — never the value searched for).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { forbidden } from '../auth/auth-hook.js';
import { identifierGuard } from '../auth/identifiers.js';
import { allow, NO_IDENTIFIER_ROLES } from '../auth/roles.js';
import { CASE_LIST_LIMIT, type CaseFilter } from '../cases/case-query.js';
import type { Services } from '../services.js';
import { CaseBody } from './case-schemas.js';
import { actorOf, EpochMs, ErrorBody, Id } from './common.js';

const CaseListQuery = Type.Object({
  site: Type.Optional(Id),
  room: Type.Optional(Id),
  bed: Type.Optional(Id),
  day: Type.Optional(Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description: 'UTC day: cases overlapping [00:00Z, 24:00Z)' })),
  from: Type.Optional(EpochMs),
  to: Type.Optional(EpochMs),
  state: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed')])),
  externalId: Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, description: 'exact value of any externalIds field (not for viewer tokens; audited)' }),
  ),
  limit: Type.Integer({ minimum: 1, maximum: CASE_LIST_LIMIT.max, default: CASE_LIST_LIMIT.default }),
  cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,200}$', description: 'nextCursor of the previous page (same filters)' })),
});

const CaseListBody = Type.Object({
  cases: Type.Array(CaseBody),
  nextCursor: Type.Optional(Type.String({ description: 'present when there are more (older) cases' })),
  next: Type.Optional(Type.String({ description: 'path and query of the next page' })),
});

export function caseListRoutes(app: FastifyInstance, s: Services): void {
  const ids = identifierGuard(s.audit);
  app.get(
    '/cases',
    {
      config: allow(['admin', 'recorder', 'viewer'], (req) => ({ beds: [(req.query as { bed?: string }).bed] })),
      preSerialization: async (req, reply, payload) => {
        const p = payload as { cases?: unknown[] } | null;
        if (reply.statusCode >= 300 || !p || !Array.isArray(p.cases)) return payload;
        const cases: unknown[] = [];
        for (const c of p.cases) cases.push(await ids.case(req, reply, c));
        return { ...p, cases };
      },
      schema: {
        tags: ['cases'],
        summary: 'list and search cases, newest first (by start), in pages',
        description:
          'A case belongs to a site, room or bed if any of its bindings does; `day`, `from`/`to` select the cases whose window ' +
          '(an open case: up to now) overlaps; `externalId` matches any externalIds value exactly.',
        querystring: CaseListQuery,
        response: { 200: CaseListBody, 400: ErrorBody, 403: ErrorBody },
      },
    },
    async (req) => {
      const q = req.query as Omit<CaseFilter, 'withinSite'> & { limit: number };
      const auth = req.auth;
      const site = auth?.site ?? undefined;
      if (site && q.site !== undefined && q.site !== site) throw forbidden(`this token is limited to site ${site}`);
      if (q.externalId !== undefined && (!auth || NO_IDENTIFIER_ROLES.includes(auth.role))) {
        throw forbidden(`role ${auth?.role ?? 'none'} may not search by patient identifier`);
      }
      const page = s.cases.list({ ...q, withinSite: site });
      if (q.externalId !== undefined) {
        s.audit.record(actorOf(req), 'case.search-identifiers', 'case', 'search', { route: 'GET /cases', results: page.cases.length });
      }
      if (page.nextCursor === undefined) return page;
      const next = new URLSearchParams();
      for (const [k, v] of Object.entries(q)) if (v !== undefined && k !== 'cursor') next.set(k, String(v));
      next.set('cursor', page.nextCursor);
      return { ...page, next: `/cases?${next}` };
    },
  );
}
