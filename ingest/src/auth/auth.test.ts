/**
 * REST authentication end to end through build() + inject: 401 for a missing, malformed, unknown,
 * wrong, expired or revoked token (WWW-Authenticate, counted, logged with the address and never the
 * token); the open /health/live; deny by default for a route without a declaration; rate limits
 * (429 per token, and per address for failed authentications); site-limited tokens; token
 * management over REST, audited under the admin token that did it.
 */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import t, { type Test } from 'tap';
import pino from 'pino';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { build } from '../app.js';
import { MemorySeriesStore } from '../series/memory.js';
import { createServices } from '../services.js';
import { bearer, mintToken } from './test-tokens.js';
import { DAY_MS } from './token-store.js';

const configWith = (auth: object = {}) =>
  loadIngestConfig({
    input: { db: { path: ':memory:' }, series: { kind: 'memory' }, log: { level: 'silent' }, auth },
    env: {},
  });

async function setup(t: Test, auth: object = {}, beforeReady?: (app: FastifyInstance) => void) {
  const config = configWith(auth);
  const services = createServices(config, { series: new MemorySeriesStore() });
  const lines: string[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    }),
  );
  const app = await build({ config, services, logger });
  beforeReady?.(app);
  t.teardown(async () => {
    await app.close();
    services.db.close();
  });
  const admin = mintToken(services, 'admin', { name: 'ops-admin' });
  const call = async (method: 'GET' | 'POST' | 'PATCH', url: string, token?: string | null, payload?: object, extra: Record<string, string> = {}) => {
    const res = await app.inject({ method, url, headers: { ...(token ? bearer(token) : {}), ...extra }, ...(payload ? { payload } : {}) });
    const json = String(res.headers['content-type']).startsWith('application/json');
    return { status: res.statusCode, body: json ? res.json() : res.body, headers: res.headers };
  };
  for (const [url, body] of [
    ['/sites', { id: 's1', name: 'North' }],
    ['/sites', { id: 's2', name: 'South' }],
    ['/rooms', { id: 'r1', siteId: 's1', name: 'OR 1' }],
    ['/rooms', { id: 'r2', siteId: 's2', name: 'OR 2' }],
    ['/beds', { id: 'b1', roomId: 'r1', name: 'B1' }],
    ['/beds', { id: 'b1x', roomId: 'r1', name: 'B1x' }],
    ['/beds', { id: 'b2', roomId: 'r2', name: 'B2' }],
  ] as const) {
    const r = await call('POST', url, admin, body);
    if (r.status !== 201) throw new Error(`${url}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return { services, app, call, admin, lines };
}

t.test('401 without a valid token, with WWW-Authenticate, counted and logged without the token', async (t) => {
  const { services, call, lines } = await setup(t);
  const good = mintToken(services, 'viewer');
  const [, id] = /^orl_([0-9a-f]+)_/.exec(good) as RegExpExecArray;
  const forged = `orl_${id}_${'A'.repeat(43)}`;
  const unknown = `orl_0123456789abcdef_${'B'.repeat(43)}`;
  const expired = mintToken(services, 'viewer', { now: () => Date.now() - 91 * DAY_MS, expiresDays: 90 });
  const cases: [string, Record<string, string>, string][] = [
    ['no header', {}, 'an API token is required'],
    ['not a bearer header', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }, 'invalid API token'],
    ['not an orlink token', { authorization: 'Bearer abc' }, 'invalid API token'],
    ['unknown id', bearer(unknown), 'invalid API token'],
    ['known id, wrong secret', bearer(forged), 'invalid API token'],
    ['expired', bearer(expired), 'API token expired'],
  ];
  for (const [what, headers, message] of cases) {
    const r = await call('GET', '/sites', null, undefined, headers);
    t.equal(r.status, 401, what);
    t.same(r.body, { error: 'ING_ERR_UNAUTHENTICATED', message: r.body.message }, `${what}: coded body`);
    t.match(r.body.message, message, what);
    t.match(r.headers['www-authenticate'], /^Bearer realm="orlink"/, `${what}: WWW-Authenticate`);
  }
  t.equal((await call('GET', '/sites', good)).status, 200, 'the real token works');
  t.equal(services.metrics.get('rest_auth_failures_total'), cases.length);
  const failures = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'REST authentication failed');
  t.equal(failures.length, cases.length, 'each failure logged');
  t.ok(
    failures.every((l) => l.ip === '127.0.0.1' && l.route === '/sites' && l.reason),
    'with address, route and reason',
  );
  t.same(
    failures.map((l) => l.reason),
    ['missing', 'malformed', 'malformed', 'unknown', 'unknown', 'expired'],
  );
  const secretOf = (tok: string) => tok.slice('orl_0123456789abcdef_'.length);
  for (const tok of [good, forged, unknown, expired]) t.notMatch(lines.join(''), secretOf(tok), 'no secret in the log');

  t.equal((await call('GET', '/nope', null)).status, 401, 'an unknown route needs a token too');
  t.equal((await call('GET', '/nope', good)).status, 404, 'and answers 404 to an authenticated caller');
});

t.test('/health/live is open; /health and everything else is not', async (t) => {
  const { call, services } = await setup(t);
  t.same((await call('GET', '/health/live', null)).body, { live: true });
  for (const url of ['/health', '/health/ready', '/metrics', '/docs/json', '/dead-letters', '/audit', '/tokens']) {
    t.equal((await call('GET', url, null)).status, 401, url);
  }
  t.equal((await call('GET', '/metrics', mintToken(services, 'metrics'))).status, 200);
});

t.test('revocation and expiry take effect at once', async (t) => {
  const { services, call, admin } = await setup(t);
  const created = await call('POST', '/tokens', admin, { name: 'anesthesia-record', role: 'recorder', expiresDays: 1 });
  t.equal(created.status, 201);
  const tok = created.body.token as string;
  t.match(tok, /^orl_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/, 'orl_<id>_<secret>, 32 random bytes');
  t.equal(created.body.expiresAt - created.body.createdAt, DAY_MS);
  t.equal((await call('GET', '/beds', tok)).status, 200);
  // the same row seen through a store whose clock is past the expiry
  const { ApiTokenStore } = await import('./token-store.js');
  let clock = created.body.expiresAt - 1;
  const later = new ApiTokenStore(services.db, services.audit, services.tokens.limits, () => clock);
  t.match(later.authenticate(`Bearer ${tok}`), { ok: true }, 'valid until its expiry');
  clock += 1;
  t.match(later.authenticate(`Bearer ${tok}`), { ok: false, reason: 'expired' }, 'refused from its expiry on');
  const revoked = await call('POST', `/tokens/${created.body.id}/revoke`, admin);
  t.equal(revoked.status, 200);
  t.type(revoked.body.revokedAt, 'number');
  const after = await call('GET', '/beds', tok);
  t.equal(after.status, 401);
  t.equal(after.body.message, 'API token revoked');
  t.equal((await call('POST', `/tokens/${created.body.id}/revoke`, admin)).status, 409, 'already revoked');
  t.equal((await call('POST', '/tokens/0000000000000000/revoke', admin)).status, 404);
});

t.test('token management: admin only, secret shown once, audited under the admin token', async (t) => {
  const { services, call, admin } = await setup(t);
  const biomed = mintToken(services, 'biomed');
  t.equal((await call('POST', '/tokens', biomed, { name: 'x', role: 'admin' })).status, 403, 'no escalation by a non-admin');
  t.equal((await call('GET', '/tokens', biomed)).status, 403);
  t.equal((await call('POST', '/tokens', admin, { name: 'x', role: 'admin', site: 's1' })).status, 400, 'a site only for recorder and viewer');
  t.equal((await call('POST', '/tokens', admin, { name: 'x', role: 'viewer', expiresDays: 366 })).status, 400, 'beyond auth.maxExpiryDays');
  t.equal((await call('POST', '/tokens', admin, { name: 'x', role: 'root' })).status, 400, 'unknown role');
  t.equal((await call('POST', '/tokens', admin, { name: 'x', role: 'recorder', site: 'nowhere' })).status, 404, 'unknown site');
  const made = await call('POST', '/tokens', admin, { name: 'north-display', role: 'viewer', site: 's1' });
  t.equal(made.status, 201);
  t.equal(made.body.expiresAt - made.body.createdAt, 90 * DAY_MS, 'default expiry');
  const secret = (made.body.token as string).slice('orl_0123456789abcdef_'.length);
  t.equal(secret.length, 43);
  const listed = await call('GET', '/tokens', admin);
  const row = listed.body.find((x: { id: string }) => x.id === made.body.id);
  t.same(Object.keys(row).sort(), ['createdAt', 'createdBy', 'expiresAt', 'id', 'lastUsedAt', 'name', 'revokedAt', 'role', 'site']);
  const hash = (services.db.prepare('SELECT secret_hash AS h FROM api_tokens WHERE id = ?').get(made.body.id) as { h: string }).h;
  t.notMatch(JSON.stringify(listed.body), secret, 'no secret in the list');
  t.notMatch(JSON.stringify(listed.body), hash, 'no hash in the list');
  t.notMatch(JSON.stringify(services.db.prepare('SELECT * FROM api_tokens').all()), secret, 'the secret is not stored');
  await call('POST', `/tokens/${made.body.id}/revoke`, admin);
  const [adminId] = /^orl_([0-9a-f]{16})_/.exec(admin)?.slice(1) ?? [];
  const audit = (await call('GET', '/audit?entity=token', admin)).body as { action: string; actor: string; role: string; entityId: string; detail: object }[];
  const mine = audit.filter((e) => e.entityId === made.body.id);
  t.same(
    mine.map((e) => e.action),
    ['token.revoke', 'token.create'],
  );
  t.ok(
    mine.every((e) => e.actor === `token:${adminId}:ops-admin` && e.role === 'admin'),
    'actor = the admin token, with its role',
  );
  t.same(mine[1].detail, { name: 'north-display', role: 'viewer', site: 's1', expiresAt: made.body.expiresAt });
  t.notMatch(JSON.stringify(audit), secret);
  t.equal(row.createdBy, `token:${adminId}:ops-admin`);
});

t.test('a route without a declaration is refused for every token, admin included', async (t) => {
  const { services, call, admin } = await setup(t, {}, (app) => app.get('/undeclared', async () => ({ leaked: true })));
  const r = await call('GET', '/undeclared', admin);
  t.equal(r.status, 403);
  t.equal(r.body.error, 'ING_ERR_FORBIDDEN');
  t.equal((await call('GET', '/undeclared', null)).status, 401);
  t.ok(services.metrics.get('rest_forbidden_total') >= 1);
});

t.test('rate limits: per token, and failed authentications per address (429 with Retry-After)', async (t) => {
  const { services, call, admin } = await setup(t, { rateLimit: { perCaller: 10, failedAuthPerIp: 3 } });
  const viewer = mintToken(services, 'viewer');
  for (let i = 0; i < 10; i++) t.equal((await call('GET', '/sites', viewer)).status, 200, `request ${i + 1} of 10`);
  const over = await call('GET', '/sites', viewer);
  t.equal(over.status, 429, 'the 11th request in the window');
  t.equal(over.body.error, 'ING_ERR_RATE_LIMITED');
  t.ok(Number(over.headers['retry-after']) > 0, 'Retry-After');
  t.equal((await call('GET', '/sites', mintToken(services, 'viewer'))).status, 200, 'another token has its own budget');

  const bad = bearer(`orl_0123456789abcdef_${'C'.repeat(43)}`);
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await call('GET', '/sites', null, undefined, bad)).status);
  t.same(statuses, [401, 401, 401, 429, 429, 429], 'a burst of failed authentications from one address gets 429');
  t.equal((await call('GET', '/health/live', null)).status, 200);
  t.equal(services.metrics.get('rest_rate_limited_total'), 4);
  t.equal((await call('GET', '/sites', admin)).status, 200, 'a valid token from that address still works (tokens cannot be guessed)');
});

t.test("a token limited to a site reaches only that site's beds and cases", async (t) => {
  const { services, call, admin } = await setup(t);
  const north = mintToken(services, 'recorder', { site: 's1' });
  const northView = mintToken(services, 'viewer', { site: 's1' });
  const southCase = (await call('POST', '/cases', admin, { bed: 'b2' })).body;
  const created = await call('POST', '/cases', north, { bed: 'b1' });
  t.equal(created.status, 201, 'own site');
  t.equal((await call('POST', '/cases', north, { bed: 'b2' })).status, 403, 'a bed of another site');
  t.equal((await call('GET', `/cases/${southCase.id}`, north)).status, 403);
  t.equal((await call('GET', `/cases/${southCase.id}/timeline`, northView)).status, 403);
  t.equal((await call('POST', `/cases/${southCase.id}/close`, north, {})).status, 403);
  t.equal((await call('GET', '/beds/b2/latest', northView)).status, 403);
  t.equal((await call('GET', '/beds/b1/latest', northView)).status, 200);
  const moved = await call('POST', `/cases/${created.body.id}/move`, north, { bed: 'b2' });
  t.equal(moved.status, 403, 'cannot move a case into another site');
  t.equal((await call('POST', `/cases/${created.body.id}/move`, north, { bed: 'b1x' })).status, 200, 'within the site');
  t.equal((await call('GET', `/cases/${created.body.id}`, northView)).status, 200);
  t.equal((await call('GET', '/cases/unknown', north)).status, 404, 'unknown case: 404, not 403');
  // after the admin moves the case into the south site, the north tokens lose it
  await call('POST', `/cases/${created.body.id}/move`, admin, { bed: 'b2', replaces: { caseId: southCase.id, action: 'close' } });
  t.equal((await call('GET', `/cases/${created.body.id}`, northView)).status, 403, 'a case that touched another site is out of reach');
});
