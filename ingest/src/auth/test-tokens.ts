/**
 * The one way tests get an API token: minted for a role directly in ingest's database (an open
 * `Db`, the `Services` of an app, or the sqlite file of an ingest running in another process),
 * through the token store — the same code path as `orlink admin create-token`. Test code only.
 */
import { AuditLog } from '../audit/audit-log.js';
import { openDb, type Db } from '../registry/database.js';
import type { Role } from './roles.js';
import { ApiTokenStore } from './token-store.js';

export interface MintOptions {
  site?: string;
  name?: string;
  expiresDays?: number;
  /** the clock of the minting store (e.g. in the past, for an already expired token) */
  now?: () => number;
}

/** Mints a token; returns `orl_<id>_<secret>`. */
export function mintToken(target: Db | { db: Db } | string, role: Role, o: MintOptions = {}): string {
  const own = typeof target === 'string' ? openDb(target) : null;
  const db: Db = own ?? (typeof target === 'object' && 'db' in target ? target.db : (target as Db));
  try {
    const store = new ApiTokenStore(db, new AuditLog(db), { defaultExpiryDays: 90, maxExpiryDays: 3650 }, o.now);
    return store.create({ name: o.name ?? `test-${role}`, role, site: o.site ?? null, expiresDays: o.expiresDays }, { id: 'test' }).token;
  } finally {
    own?.close();
  }
}

/** `{ authorization: 'Bearer …' }` for fetch / inject headers. */
export const bearer = (token: string): { authorization: string } => ({ authorization: `Bearer ${token}` });
