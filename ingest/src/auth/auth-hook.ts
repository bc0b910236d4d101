/**
 * REST authentication and authorisation, in one place for every route (docs/api.md "Authentication"):
 * - onRequest: the bearer token is checked (401 `ING_ERR_UNAUTHENTICATED` with `WWW-Authenticate`
 *   when missing, unknown, expired or revoked — counted, logged with the client address, never the
 *   token), then the per-token rate limit (429), then the route's declared roles (403
 *   `ING_ERR_FORBIDDEN`). A route without a declaration is refused for every token (deny by default).
 *   Failed authentications are rate limited per client address (429 once over the limit).
 * - preHandler (after validation): a token limited to a site may touch only that site's beds and cases.
 * - the OpenAPI transform writes each route's declaration into the document (security, `x-roles`).
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Logger } from 'pino';
import { IngestError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { Services } from '../services.js';
import type { RouteAccess } from './roles.js';
import type { AuthFailure } from './token-store.js';

export interface RateLimits {
  windowMs: number;
  perCaller: number;
  failedAuthPerIp: number;
}

/** A registered route and its declaration, as seen when it was added (for the route-walk test). */
export interface DeclaredRoute {
  method: string;
  url: string;
  access: RouteAccess | undefined;
}

const declared = new WeakMap<FastifyInstance, DeclaredRoute[]>();
export const declaredRoutes = (app: FastifyInstance): readonly DeclaredRoute[] => declared.get(app) ?? [];

const MESSAGES: Record<AuthFailure, string> = {
  missing: 'an API token is required: Authorization: Bearer orl_<id>_<secret>',
  malformed: 'invalid API token',
  unknown: 'invalid API token',
  expired: 'API token expired',
  revoked: 'API token revoked',
};

export const forbidden = (message: string) => new IngestError('ING_ERR_FORBIDDEN', 'data', message);
const routeOf = (req: FastifyRequest) => req.routeOptions.url ?? '(not found)';

export async function installAuth(
  app: FastifyInstance,
  s: Pick<Services, 'tokens' | 'metrics' | 'registry' | 'cases'>,
  limits: RateLimits,
  logger: Logger,
): Promise<void> {
  const log = logger.child({ component: 'rest-auth' });
  const list: DeclaredRoute[] = [];
  declared.set(app, list);
  app.addHook('onRoute', (r: RouteOptions) => {
    for (const method of [r.method].flat()) list.push({ method, url: r.url, access: r.config?.access });
  });
  app.decorateRequest('auth', null);

  await app.register(rateLimit, { global: false, timeWindow: limits.windowMs, cache: 10_000 });
  const perCaller = app.createRateLimit({ max: limits.perCaller, keyGenerator: (req) => `token:${req.auth?.tokenId ?? ''}` });
  const failedPerIp = app.createRateLimit({ max: limits.failedAuthPerIp });
  /** the last time a client address over the failed-auth limit was logged (one line per window) */
  const floodLogged = new Map<string, number>();

  const tooMany = (reply: FastifyReply, ttlInSeconds: number, what: string): IngestError => {
    s.metrics.inc('rest_rate_limited_total');
    void reply.header('retry-after', ttlInSeconds);
    return new IngestError('ING_ERR_RATE_LIMITED', 'transient', `too many ${what}: retry in ${ttlInSeconds} s`);
  };

  const refuse = async (req: FastifyRequest, reply: FastifyReply, reason: AuthFailure, tokenId?: string): Promise<never> => {
    s.metrics.inc('rest_auth_failures_total');
    const limit = await failedPerIp(req);
    if (!limit.isAllowed && limit.isExceeded) {
      const now = Date.now();
      if ((floodLogged.get(req.ip) ?? 0) + limits.windowMs <= now) {
        if (floodLogged.size > 10_000) floodLogged.clear();
        floodLogged.set(req.ip, now);
        log.warn({ ip: req.ip, limit: limits.failedAuthPerIp, windowMs: limits.windowMs }, 'REST failed authentications over the limit, answering 429');
      }
      throw tooMany(reply, limit.ttlInSeconds, 'failed authentications from this address');
    }
    log.warn({ ip: req.ip, reason, tokenId, method: req.method, route: routeOf(req) }, 'REST authentication failed');
    void reply.header('www-authenticate', reason === 'missing' ? 'Bearer realm="orlink"' : 'Bearer realm="orlink", error="invalid_token"');
    throw new IngestError('ING_ERR_UNAUTHENTICATED', 'data', MESSAGES[reason]);
  };

  app.addHook('onRequest', async (req, reply) => {
    const access = req.routeOptions.config?.access;
    if (access?.public && !req.is404) return;
    const r = s.tokens.authenticate(req.headers.authorization);
    if (!r.ok) return refuse(req, reply, r.reason, r.tokenId);
    req.auth = r.auth;
    const limit = await perCaller(req);
    if (!limit.isAllowed) {
      if (limit.isExceeded) throw tooMany(reply, limit.ttlInSeconds, 'requests with this token');
      void reply.header('x-ratelimit-limit', limit.max).header('x-ratelimit-remaining', limit.remaining);
    }
    if (req.is404) return; // authenticated: the not-found handler answers
    if (!access || access.public) {
      s.metrics.inc('rest_forbidden_total');
      log.error({ method: req.method, route: routeOf(req) }, 'route declares no roles: refused (deny by default)');
      throw forbidden('this route declares no roles: refused');
    }
    if (!access.roles.includes(r.auth.role)) {
      s.metrics.inc('rest_forbidden_total');
      throw forbidden(`role ${r.auth.role} may not ${req.method} ${routeOf(req)} (allowed: ${access.roles.join(', ')})`);
    }
  });

  app.addHook('preHandler', async (req) => {
    const access = req.routeOptions.config?.access;
    const site = req.auth?.site;
    if (!site || !access || access.public || !access.touches) return;
    const touches = access.touches(req);
    const beds = new Set(touches.beds?.filter((b): b is string => !!b));
    for (const id of touches.cases ?? []) for (const b of (id && s.cases.get(id)?.bindings) || []) beds.add(b.bed);
    for (const bed of beds) {
      const other = s.registry.getBed(bed)?.siteId; // unknown beds and cases: the route answers 404
      if (other !== undefined && other !== site) {
        s.metrics.inc('rest_forbidden_total');
        throw forbidden(`this token is limited to site ${site}; bed ${bed} is in another site`);
      }
    }
  });
}

/** @fastify/swagger `transform`: the route's access declaration, written into its operation. */
export function openapiAccess({ schema, url, route }: { schema: unknown; url: string; route: RouteOptions }): { schema: Record<string, unknown>; url: string } {
  const out: Record<string, unknown> = { ...(schema as Record<string, unknown> | undefined) };
  const access = route.config?.access;
  const description = typeof out.description === 'string' ? `${out.description}\n\n` : '';
  if (access?.public) {
    out.security = [];
    out.description = `${description}Open: no token.`;
    return { schema: out, url };
  }
  const roles = access?.roles ?? [];
  out.security = [{ bearer: [] }];
  out['x-roles'] = [...roles];
  out.description = roles.length
    ? `${description}Roles: ${roles.join(', ')}.${access?.touches ? ' A token limited to a site reaches only the beds and cases of that site.' : ''}`
    : `${description}Declares no roles: refused for every token.`;
  if (out.response) {
    const ErrorBody = { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' } }, required: ['error', 'message'] };
    out.response = {
      ...(out.response as object),
      401: { ...ErrorBody, description: 'ING_ERR_UNAUTHENTICATED: no valid token (WWW-Authenticate: Bearer)' },
      403: { ...ErrorBody, description: 'ING_ERR_FORBIDDEN: the role (or the site of the token) is not allowed' },
      429: { ...ErrorBody, description: 'ING_ERR_RATE_LIMITED: too many requests (Retry-After)' },
    };
  }
  return { schema: out, url };
}
