/**
 * REST roles and the access declaration every route carries in its options (`config: allow([...])`,
 * docs/api.md "Authentication"). The auth hook (auth-hook.ts) enforces the declaration and refuses a
 * route that has none; the OpenAPI document is derived from the same declaration.
 */
import type { FastifyRequest } from 'fastify';

export const ROLES = ['admin', 'biomed', 'recorder', 'viewer', 'metrics'] as const;
export type Role = (typeof ROLES)[number];

/** Roles a token may be limited to one site for: the ones that reach cases and live data. */
export const SITE_ROLES: readonly Role[] = ['recorder', 'viewer'];

/** Roles that never receive a case's `externalIds` (they are removed from the response). */
export const NO_IDENTIFIER_ROLES: readonly Role[] = ['viewer', 'metrics'];

/** Beds and cases a request concerns, resolved to sites for a token limited to one site. */
export interface Touches {
  beds?: (string | undefined)[];
  cases?: (string | undefined)[];
}

export type RouteAccess = { public: true } | { public?: false; roles: readonly Role[]; touches?: (req: FastifyRequest) => Touches };

/** The authenticated caller of a request (set by the auth hook; null on the public route). */
export interface AuthContext {
  tokenId: string;
  name: string;
  role: Role;
  site: string | null;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyRequest {
    auth: AuthContext | null;
  }
}

/**
 * The route's access declaration, spread into its `config`: the roles allowed, and for routes that
 * concern a bed or a case, what they touch (a token limited to a site may touch only that site's).
 */
export function allow(roles: readonly Role[], touches?: (req: FastifyRequest) => Touches): { access: RouteAccess } {
  if (!roles.length) throw new Error('allow(): at least one role');
  return { access: touches ? { roles, touches } : { roles } };
}

/** The one open route (`/health/live`): no token. */
export const PUBLIC: { access: RouteAccess } = { access: { public: true } };

export const isRole = (v: unknown): v is Role => typeof v === 'string' && (ROLES as readonly string[]).includes(v);

/** `touches` of a route whose `:id` is a case. */
export const caseParam = (req: FastifyRequest): Touches => ({ cases: [(req.params as { id?: string }).id] });
/** `touches` of a route whose `:bed` is a bed. */
export const bedParam = (req: FastifyRequest): Touches => ({ beds: [(req.params as { bed?: string }).bed] });
