/**
 * Every route × every role. The routes are enumerated from fastify's own router (printRoutes), not
 * from the auth module's bookkeeping; each must carry an access declaration (only /health/live is
 * open), the declaration must equal the expectation table below (written independently of the
 * route files, so a wrong declaration fails here), each role must get exactly the outcome the table
 * says over HTTP (403 when not allowed, never 401/403 when allowed), and the OpenAPI document must
 * say the same (bearer scheme, `security` on every operation, `x-roles`).
 */
import t from 'tap';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { build } from '../app.js';
import { declaredRoutes } from '../auth/auth-hook.js';
import { ROLES, type Role } from '../auth/roles.js';
import { bearer, mintToken } from '../auth/test-tokens.js';
import { MemorySeriesStore } from '../series/memory.js';
import { createServices } from '../services.js';

const A: Role = 'admin',
  B: Role = 'biomed',
  R: Role = 'recorder',
  V: Role = 'viewer',
  M: Role = 'metrics';

/** who may call what (docs/api.md, "Roles"); HEAD follows GET */
const EXPECTED: Record<string, readonly Role[] | 'public'> = {
  'GET /health/live': 'public',
  'GET /health': [A, B],
  'GET /health/ready': [A, B],
  'GET /metrics': [A, M],
  'GET /dead-letters': [A, B],
  'GET /docs/json': [A, B, R, V, M],
  'POST /sites': [A, B],
  'GET /sites': [A, B, R, V],
  'PATCH /sites/:id': [A, B],
  'POST /rooms': [A, B],
  'GET /rooms': [A, B, R, V],
  'PATCH /rooms/:id': [A, B],
  'POST /beds': [A, B],
  'GET /beds': [A, B, R, V],
  'GET /beds/:bed': [A, B, R, V],
  'PATCH /beds/:id': [A, B],
  'POST /gateways': [A, B],
  'GET /gateways': [A, B, V],
  'GET /gateways/:id': [A, B, V],
  'PATCH /gateways/:id': [A, B],
  'POST /gateways/:id/move': [A, B],
  'POST /gateways/:id/retire': [A, B],
  'POST /gateways/:id/password': [A, B],
  'POST /gateways/:id/revoke': [A, B],
  'POST /devices': [A, B],
  'GET /devices': [A, B, V],
  'GET /devices/:id': [A, B, V],
  'PATCH /devices/:id': [A, B],
  'POST /devices/:id/move': [A, B],
  'POST /devices/:id/retire': [A, B],
  'PUT /devices/:id/connection': [A, B],
  'DELETE /devices/:id/connection': [A, B],
  'POST /cases': [A, R],
  'GET /cases/:id': [A, R, V],
  'PATCH /cases/:id': [A, R],
  'POST /cases/:id/close': [A, R],
  'POST /cases/:id/move': [A, R],
  'GET /cases/:id/timeline': [A, R, V],
  'GET /beds/:bed/latest': [A, R, V],
  'GET /cases': [A, R, V],
  'GET /cases/:id/chart': [A, R, V],
  'GET /cases/:id/billing': [A, R],
  'GET /qc': [A, V],
  'POST /cases/:id/events': [A, R],
  'GET /cases/:id/events': [A, R, V],
  'PATCH /cases/:id/events/:eventId': [A, R],
  'DELETE /cases/:id/events/:eventId': [A, R],
  'GET /hl7-out/status': [A, B],
  'GET /hl7-out/dead-letters': [A, B],
  'POST /hl7-out/dead-letters/:id/retry': [A],
  'GET /schedule': [A, R, V],
  'POST /schedule/:id/arrive': [A, R],
  'GET /his/messages': [A, B],
  'GET /audit': [A],
  'POST /tokens': [A],
  'GET /tokens': [A],
  'POST /tokens/:id/revoke': [A],
};

/** `/beds/:bed` and `/beds/:id` are one router node: params compare by position only */
const norm = (key: string) => key.replace(/:[^/]+/g, ':_');
const expectedFor = (key: string) => {
  const [method, url] = key.split(' ');
  const k = Object.keys(EXPECTED).find((e) => norm(e) === norm(`${method === 'HEAD' ? 'GET' : method} ${url}`));
  return k ? EXPECTED[k] : undefined;
};

/** (method, url) pairs of fastify's printRoutes tree */
function parseRoutes(tree: string): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^((?:│ {3}| {4})*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = [...m[1]].length / 4;
    stack.length = depth;
    stack.push(m[2]);
    for (const method of m[3]?.split(', ') ?? []) out.push(`${method} ${stack.join('')}`);
  }
  return out;
}

t.test('every route declares its roles; declarations, HTTP outcomes and OpenAPI agree with the table', async (t) => {
  const config = loadIngestConfig({
    input: { db: { path: ':memory:' }, series: { kind: 'memory' }, log: { level: 'silent' }, auth: { rateLimit: { failedAuthPerIp: 10_000 } } },
    env: {},
  });
  const services = createServices(config, { series: new MemorySeriesStore() });
  const app = await build({ config, services });
  t.teardown(async () => {
    await app.close();
    services.db.close();
  });
  await app.ready();

  const routes = parseRoutes(app.printRoutes({ commonPrefix: false }));
  t.ok(routes.length >= 60, `${routes.length} routes found in the router`);
  const declared = declaredRoutes(app);
  t.same(
    [...new Set(declared.map((d) => norm(`${d.method} ${d.url}`)))].sort(),
    [...new Set(routes.map(norm))].sort(),
    'the auth hook saw every route of the router',
  );

  for (const route of routes) {
    const d = declared.find((x) => norm(`${x.method} ${x.url}`) === norm(route));
    const want = expectedFor(route);
    t.ok(want, `${route} is in the expectation table`);
    if (want === 'public') {
      t.same(d?.access, { public: true }, `${route}: the only open route`);
      continue;
    }
    t.ok(d?.access && !('public' in d.access && d.access.public), `${route}: has a role declaration`);
    const roles = d?.access && 'roles' in d.access ? [...d.access.roles].sort() : [];
    t.same(roles, [...(want ?? [])].sort(), `${route}: declared roles = expected`);
  }
  for (const key of Object.keys(EXPECTED))
    t.ok(
      routes.some((r) => norm(r) === norm(key)),
      `${key} exists`,
    );

  // over HTTP: each role gets 403 exactly where the table says so; no token gets 401
  const tokens = Object.fromEntries(ROLES.map((r) => [r, mintToken(services, r)])) as Record<Role, string>;
  for (const route of routes) {
    const [method, pattern] = route.split(' ');
    const url = pattern.replace(/:[^/]+/g, 'x');
    const want = expectedFor(route);
    const send = (headers: Record<string, string>) =>
      app.inject({
        method: method as 'GET',
        url,
        headers,
        ...(method === 'POST' || method === 'PATCH' ? { payload: {} } : {}),
      });
    const anonymous = (await send({})).statusCode;
    t.equal(anonymous, want === 'public' ? 200 : 401, `${route} without a token`);
    if (want === 'public' || !want) continue;
    for (const role of ROLES) {
      const status = (await send(bearer(tokens[role]))).statusCode;
      if (want.includes(role)) t.notOk(status === 401 || status === 403, `${route} as ${role}: allowed (${status})`);
      else t.equal(status, 403, `${route} as ${role}: forbidden`);
    }
  }

  // the OpenAPI document says the same
  const doc = (await app.inject({ url: '/docs/json', headers: bearer(tokens.viewer) })).json();
  t.same(doc.components.securitySchemes.bearer, {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'orl_<id>_<secret>',
    description: 'API token (docs/api.md "Authentication")',
  });
  let operations = 0;
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { security?: unknown; 'x-roles'?: string[]; description?: string }>>)) {
    for (const [method, op] of Object.entries(ops)) {
      operations++;
      const key = `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`;
      const want = expectedFor(key);
      t.ok(op.security, `${key}: security declared`);
      if (want === 'public') {
        t.same(op.security, [], `${key}: open`);
        continue;
      }
      t.same(op.security, [{ bearer: [] }], `${key}: bearer`);
      t.same([...(op['x-roles'] ?? [])].sort(), [...(want ?? ['?'])].sort(), `${key}: x-roles`);
      t.match(op.description, `Roles: ${(op['x-roles'] ?? []).join(', ')}.`, `${key}: roles in the description`);
    }
  }
  t.equal(operations, Object.keys(EXPECTED).length - 1, 'every route but the hidden /docs/json is documented');
});
