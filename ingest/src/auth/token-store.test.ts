/** The token store: format, what is stored, expiry limits, site rules, last use, audit. */
import { createHash } from 'node:crypto';
import t from 'tap';
import { AuditLog } from '../audit/audit-log.js';
import { openDb } from '../registry/database.js';
import { DAY_MS, ApiTokenStore } from './token-store.js';

function store(now = () => 1_700_000_000_000) {
  const db = openDb(':memory:');
  db.prepare('INSERT INTO sites (id, name, created_at) VALUES (?, ?, ?)').run('s1', 'S', 0);
  const audit = new AuditLog(db, now);
  return { db, audit, tokens: new ApiTokenStore(db, audit, { defaultExpiryDays: 90, maxExpiryDays: 120 }, now) };
}

t.test('orl_<id>_<secret>: only SHA-256 of the secret is stored; the token authenticates', async (t) => {
  const { db, tokens } = store();
  t.teardown(() => db.close());
  const { token, info } = tokens.create({ name: 'biomed-laptop', role: 'biomed' }, { id: 'cli:root' });
  const m = /^orl_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/.exec(token);
  t.ok(m, token.replace(/_[^_]{43}$/, '_…'));
  const [, id, secret] = m as RegExpExecArray;
  t.equal(Buffer.from(secret, 'base64url').length, 32, '32 random bytes');
  const row = db.prepare('SELECT * FROM api_tokens WHERE id = ?').get(id) as Record<string, unknown>;
  t.equal(row.secret_hash, createHash('sha256').update(secret).digest('hex'));
  t.notMatch(JSON.stringify(row), secret);
  t.same(info, {
    id,
    name: 'biomed-laptop',
    role: 'biomed',
    site: null,
    createdAt: 1_700_000_000_000,
    createdBy: 'cli:root',
    expiresAt: 1_700_000_000_000 + 90 * DAY_MS,
    revokedAt: null,
    lastUsedAt: null,
  });
  t.match(tokens.authenticate(`Bearer ${token}`), { ok: true, auth: { tokenId: id, name: 'biomed-laptop', role: 'biomed', site: null } });
  t.match(tokens.authenticate(`bearer   ${token}`), { ok: true }, 'scheme case-insensitive');
  t.match(tokens.authenticate(`Bearer ${token}x`), { ok: false });
  t.match(tokens.authenticate(`Bearer ${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`), { ok: false, reason: 'unknown', tokenId: id });
  t.match(tokens.authenticate(undefined), { ok: false, reason: 'missing' });
  t.not(tokens.create({ name: 'biomed-laptop', role: 'biomed' }, { id: 'x' }).token, token, 'every token is new');
});

t.test('expiry is required and bounded; a site only for recorder and viewer, and must exist', async (t) => {
  const { db, tokens } = store();
  t.teardown(() => db.close());
  t.equal(tokens.create({ name: 'a', role: 'viewer', expiresDays: 120 }, { id: 'x' }).info.expiresAt - 1_700_000_000_000, 120 * DAY_MS);
  t.throws(() => tokens.create({ name: 'a', role: 'viewer', expiresDays: 121 }, { id: 'x' }), /1\.\.120 days/);
  t.throws(() => tokens.create({ name: 'a', role: 'viewer', expiresDays: 0 }, { id: 'x' }), /1\.\.120 days/);
  t.throws(() => tokens.create({ name: 'a', role: 'admin', site: 's1' }, { id: 'x' }), /recorder and viewer tokens only/);
  t.throws(() => tokens.create({ name: 'a', role: 'recorder', site: 'nope' }, { id: 'x' }), /site nope not found/);
  t.throws(() => tokens.create({ name: 'bad\nname', role: 'viewer' }, { id: 'x' }), /token name/);
  t.equal(tokens.create({ name: 'or-north', role: 'recorder', site: 's1' }, { id: 'x' }).info.site, 's1');
  t.equal((db.prepare('SELECT COUNT(*) AS n FROM api_tokens').get() as { n: number }).n, 2, 'refused tokens were not stored');
});

t.test('expired and revoked tokens are refused; last use written at most once a minute; audited', async (t) => {
  let now = 1_700_000_000_000;
  const { db, tokens, audit } = store(() => now);
  t.teardown(() => db.close());
  const { token, info } = tokens.create({ name: 'r', role: 'recorder', expiresDays: 1 }, { id: 'token:aaaa:boss', role: 'admin', ip: '10.0.0.1' });
  t.match(tokens.authenticate(`Bearer ${token}`), { ok: true });
  t.equal(tokens.get(info.id)?.lastUsedAt, now);
  now += 30_000;
  tokens.authenticate(`Bearer ${token}`);
  t.equal(tokens.get(info.id)?.lastUsedAt, now - 30_000, 'not rewritten within a minute');
  now += 30_000;
  tokens.authenticate(`Bearer ${token}`);
  t.equal(tokens.get(info.id)?.lastUsedAt, now);
  now = info.expiresAt;
  t.match(tokens.authenticate(`Bearer ${token}`), { ok: false, reason: 'expired' }, 'expired at expiresAt');
  now = info.expiresAt - 1;
  tokens.revoke(info.id, { id: 'token:aaaa:boss', role: 'admin' });
  t.match(tokens.authenticate(`Bearer ${token}`), { ok: false, reason: 'revoked' });
  t.throws(() => tokens.revoke(info.id, { id: 'x' }), /already revoked/);
  const entries = audit.list({ entity: 'token' });
  t.same(
    entries.map((e) => [e.action, e.actor, e.role]),
    [
      ['token.revoke', 'token:aaaa:boss', 'admin'],
      ['token.create', 'token:aaaa:boss', 'admin'],
    ],
  );
  t.notMatch(JSON.stringify(entries), token.slice(21));
});
