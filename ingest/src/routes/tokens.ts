/**
 * API token management for admins: create (the secret is in this one response only), list (never a
 * secret or hash), revoke. The first admin token is made on the server with `orlink admin
 * create-token`, never over REST. Audited by the token store as `token.create` / `token.revoke`.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { allow, ROLES } from '../auth/roles.js';
import { TOKEN_NAME_PATTERN, type NewToken } from '../auth/token-store.js';
import type { Services } from '../services.js';
import { actorOf, EpochMs, ErrorBody, Id } from './common.js';
import { Nullable } from './case-schemas.js';

const Role = Type.Union(
  ROLES.map((r) => Type.Literal(r)),
  { description: 'admin | biomed | recorder | viewer | metrics (docs/api.md)' },
);

export const TokenInfoBody = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    role: Role,
    site: Nullable(Type.String({ description: 'recorder and viewer tokens only: the site whose beds and cases the token reaches' })),
    createdAt: EpochMs,
    createdBy: Type.String(),
    expiresAt: EpochMs,
    revokedAt: Nullable(EpochMs),
    lastUsedAt: Nullable(Type.Integer({ minimum: 0, description: 'UTC epoch ms, updated at most once a minute' })),
  },
  { additionalProperties: false },
);

const CreateToken = Type.Object(
  {
    name: Type.String({ pattern: TOKEN_NAME_PATTERN, description: 'who or what uses the token (appears in the audit log)' }),
    role: Role,
    site: Type.Optional(Id),
    expiresDays: Type.Optional(Type.Integer({ minimum: 1, description: 'default auth.defaultExpiryDays (90), at most auth.maxExpiryDays (365)' })),
  },
  { additionalProperties: false },
);

const Created = Type.Object(
  {
    ...TokenInfoBody.properties,
    token: Type.String({ description: 'orl_<id>_<secret>: shown only in this response, send as Authorization: Bearer …' }),
  },
  { additionalProperties: false },
);

export function tokenRoutes(app: FastifyInstance, s: Services): void {
  const tags = ['auth'];
  const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };
  app.post(
    '/tokens',
    {
      config: allow(['admin']),
      schema: { tags, summary: 'create an API token; the token is returned once and never again', body: CreateToken, response: { 201: Created, ...errors } },
    },
    async (req, reply) => {
      const { token, info } = s.tokens.create(req.body as NewToken, actorOf(req));
      return reply.status(201).send({ ...info, token });
    },
  );
  app.get(
    '/tokens',
    {
      config: allow(['admin']),
      schema: { tags, summary: 'API tokens, newest first (no secrets, no hashes)', response: { 200: Type.Array(TokenInfoBody) } },
    },
    async () => s.tokens.list(),
  );
  app.post(
    '/tokens/:id/revoke',
    {
      config: allow(['admin']),
      schema: {
        tags,
        summary: 'revoke an API token: refused from the next request on',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 200: TokenInfoBody, ...errors },
      },
    },
    async (req) => s.tokens.revoke((req.params as { id: string }).id, actorOf(req)),
  );
}
