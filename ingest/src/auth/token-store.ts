/**
 * REST API tokens (table `api_tokens`). A token is `orl_<id>_<secret>`: the id (16 hex digits) finds
 * the row, the secret (32 random bytes, base64url) proves possession. Only SHA-256(secret) is stored,
 * compared in constant time: the secret is random with 256 bits of entropy, so unlike a password it
 * cannot be guessed from its hash and needs no slow, salted hash — and checking it costs
 * microseconds on every request instead of tens of milliseconds (docs/security.md). The token is
 * shown once, at creation. Every token expires; revocation is immediate. Creation and revocation are
 * audited in their transaction (`token.create`, `token.revoke`), never with the secret or its hash.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuditActor, AuditLog } from '../audit/audit-log.js';
import { IngestError } from '../errors.js';
import type { Db } from '../registry/database.js';
import { isRole, SITE_ROLES, type AuthContext, type Role } from './roles.js';

export const DAY_MS = 86_400_000;

export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  site: string | null;
  createdAt: number;
  createdBy: string;
  expiresAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export interface NewToken {
  name: string;
  role: Role;
  site?: string | null;
  expiresDays?: number;
}

export interface TokenLimits {
  defaultExpiryDays: number;
  maxExpiryDays: number;
}

/** Why a request is not authenticated (logged and counted; the client gets one generic 401). */
export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'expired' | 'revoked';

export type AuthResult = { ok: true; auth: AuthContext } | { ok: false; reason: AuthFailure; tokenId?: string };

interface Row {
  id: string;
  name: string;
  role: Role;
  site: string | null;
  secret_hash: string;
  created_at: number;
  created_by: string;
  expires_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

const TOKEN_RE = /^orl_([0-9a-f]{16})_([A-Za-z0-9_-]{43,128})$/;
export const TOKEN_NAME_PATTERN = '^[A-Za-z0-9._@:+ -]{1,64}$';
const NAME_RE = new RegExp(TOKEN_NAME_PATTERN);
/** last_used_at is written at most once a minute per token: no sqlite write on every request */
const TOUCH_EVERY_MS = 60_000;

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
const bad = (msg: string) => new IngestError('ING_ERR_BAD_REQUEST', 'data', msg);
const toInfo = (r: Row): TokenInfo => ({
  id: r.id,
  name: r.name,
  role: r.role,
  site: r.site,
  createdAt: r.created_at,
  createdBy: r.created_by,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
});

export class ApiTokenStore {
  private readonly byId;
  private readonly touchStmt;
  /** compared against when the id is unknown, so that both paths do the same work */
  private readonly decoy = sha256(randomBytes(32).toString('base64url'));

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    readonly limits: TokenLimits = { defaultExpiryDays: 90, maxExpiryDays: 365 },
    private readonly now: () => number = Date.now,
  ) {
    this.byId = db.prepare('SELECT * FROM api_tokens WHERE id = ?');
    this.touchStmt = db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?');
  }

  /** Creates a token; the returned `token` is the only time the secret exists outside the caller. */
  create(t: NewToken, actor: AuditActor): { token: string; info: TokenInfo } {
    if (!NAME_RE.test(t.name)) throw bad(`token name must match ${TOKEN_NAME_PATTERN}`);
    if (!isRole(t.role)) throw bad(`unknown role ${String(t.role)}`);
    const site = t.site ?? null;
    if (site !== null && !SITE_ROLES.includes(t.role)) throw bad(`a site applies to ${SITE_ROLES.join(' and ')} tokens only`);
    const days = t.expiresDays ?? this.limits.defaultExpiryDays;
    if (!Number.isInteger(days) || days < 1 || days > this.limits.maxExpiryDays) {
      throw bad(`expiry must be 1..${this.limits.maxExpiryDays} days (auth.maxExpiryDays)`);
    }
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const at = this.now();
    const expiresAt = at + days * DAY_MS;
    this.db.transaction(() => {
      if (site !== null && !this.db.prepare('SELECT 1 FROM sites WHERE id = ?').get(site)) {
        throw new IngestError('ING_ERR_NOT_FOUND', 'data', `site ${site} not found`);
      }
      this.db
        .prepare(
          `INSERT INTO api_tokens (id, name, role, site, secret_hash, created_at, created_by, expires_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(id, t.name, t.role, site, sha256(secret).toString('hex'), at, actor.id, expiresAt);
      this.audit.record(actor, 'token.create', 'token', id, { name: t.name, role: t.role, site, expiresAt });
    })();
    return { token: `orl_${id}_${secret}`, info: this.get(id) as TokenInfo };
  }

  get(id: string): TokenInfo | null {
    const r = this.byId.get(id) as Row | undefined;
    return r ? toInfo(r) : null;
  }

  /** Newest first; never the hash. */
  list(): TokenInfo[] {
    return (this.db.prepare('SELECT * FROM api_tokens ORDER BY created_at DESC, id').all() as Row[]).map(toInfo);
  }

  /** Revokes at once: the next request with the token is refused. 404 unknown, 409 already revoked. */
  revoke(id: string, actor: AuditActor): TokenInfo {
    return this.db.transaction(() => {
      const r = this.byId.get(id) as Row | undefined;
      if (!r) throw new IngestError('ING_ERR_NOT_FOUND', 'data', `token ${id} not found`);
      if (r.revoked_at !== null) throw new IngestError('ING_ERR_CONFLICT', 'data', `token ${id} was already revoked`);
      this.db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ?').run(this.now(), id);
      this.audit.record(actor, 'token.revoke', 'token', id, { name: r.name, role: r.role });
      return this.get(id) as TokenInfo;
    })();
  }

  /** Checks an `Authorization` header value (`Bearer orl_…`). */
  authenticate(header: string | undefined): AuthResult {
    if (!header) return { ok: false, reason: 'missing' };
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    const parts = m ? TOKEN_RE.exec(m[1]) : null;
    if (!parts) return { ok: false, reason: 'malformed' };
    const [, id, secret] = parts;
    const r = this.byId.get(id) as Row | undefined;
    const presented = sha256(secret);
    const stored = r ? Buffer.from(r.secret_hash, 'hex') : this.decoy;
    const match = timingSafeEqual(presented, stored.length === presented.length ? stored : this.decoy) && !!r;
    if (!r || !match) return { ok: false, reason: 'unknown', tokenId: id };
    // only a caller holding the secret learns why a known token is refused
    const now = this.now();
    if (r.revoked_at !== null) return { ok: false, reason: 'revoked', tokenId: id };
    if (r.expires_at <= now) return { ok: false, reason: 'expired', tokenId: id };
    if (r.last_used_at === null || now - r.last_used_at >= TOUCH_EVERY_MS) {
      this.touchStmt.run(now, id);
    }
    return { ok: true, auth: { tokenId: r.id, name: r.name, role: r.role, site: r.site } };
  }
}
