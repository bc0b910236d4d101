/**
 * `orlink admin <command>` — API token management on the ingest server itself, opening its sqlite
 * file directly (no REST call, so no token needed): this is how the first admin token is made
 * (docs/api.md "Authentication"). The token goes to stdout once (so `TOKEN=$(orlink admin
 * create-token …)` works), everything else to stderr. Audited as `token.create` / `token.revoke`
 * with the actor `cli:<user>`.
 */
import os from 'node:os';
import path from 'node:path';
import { loadIngestConfig } from '../schemas/src/ingest-config.js';
import { AuditLog, type AuditActor } from '../ingest/src/audit/audit-log.js';
import { isRole } from '../ingest/src/auth/roles.js';
import { ApiTokenStore, type NewToken, type TokenInfo, type TokenLimits } from '../ingest/src/auth/token-store.js';
import { openDb } from '../ingest/src/registry/database.js';

const USAGE = `usage: orlink admin create-token (--config ingest.yaml | --db FILE) --name NAME --role ROLE [--site SITE] [--expires-days N]
       orlink admin list-tokens  (--config ingest.yaml | --db FILE)
       orlink admin revoke-token (--config ingest.yaml | --db FILE) --id ID
  roles: admin, biomed, recorder, viewer, metrics (--site: recorder and viewer only)
  the token is printed once on stdout; only its hash is stored
`;

export interface Io {
  out(s: string): void;
  err(s: string): void;
}
const stdio: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

/** The audit actor of a command run on the server. */
export const cliActor = (): AuditActor => ({ id: `cli:${os.userInfo().username}` });

/** Creates a token in an open store: the one code path of `orlink admin create-token` (the demo uses it too). */
export function createToken(tokens: ApiTokenStore, t: NewToken, actor: AuditActor = cliActor()): { token: string; info: TokenInfo } {
  return tokens.create(t, actor);
}

const describe = (i: TokenInfo) =>
  `${i.id}  ${i.name}  ${i.role}${i.site ? `@${i.site}` : ''}  expires ${new Date(i.expiresAt).toISOString()}` +
  `${i.revokedAt ? `  revoked ${new Date(i.revokedAt).toISOString()}` : ''}${i.lastUsedAt ? `  last used ${new Date(i.lastUsedAt).toISOString()}` : ''}`;

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env, io: Io = stdio): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h') {
    io.out(USAGE);
    return command ? 0 : 2;
  }
  const opts: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const m = /^--(config|db|name|role|site|expires-days|id)(?:=(.*))?$/.exec(rest[i]);
    if (!m) {
      io.err(`orlink admin: unknown argument ${rest[i]}\n${USAGE}`);
      return 2;
    }
    const v = m[2] ?? rest[++i];
    if (v === undefined) {
      io.err(`orlink admin: ${rest[i - 1]} needs a value\n`);
      return 2;
    }
    opts[m[1]] = v;
  }
  if (!opts.db === !opts.config) {
    io.err(`orlink admin: give --config or --db\n${USAGE}`);
    return 2;
  }
  let dbPath = opts.db;
  let limits: TokenLimits = { defaultExpiryDays: 90, maxExpiryDays: 365 };
  try {
    if (opts.config) {
      const c = loadIngestConfig({ file: opts.config, env });
      dbPath = path.resolve(c.db.path); // as `orlink ingest` opens it: relative to the working directory
      limits = { defaultExpiryDays: c.auth.defaultExpiryDays, maxExpiryDays: c.auth.maxExpiryDays };
    }
  } catch (err) {
    io.err(`orlink admin: ${(err as Error).message}\n`);
    return 2;
  }
  const db = openDb(dbPath as string);
  try {
    const tokens = new ApiTokenStore(db, new AuditLog(db), limits);
    switch (command) {
      case 'create-token': {
        if (!opts.name || !opts.role) {
          io.err(`orlink admin: create-token needs --name and --role\n${USAGE}`);
          return 2;
        }
        if (!isRole(opts.role)) {
          io.err(`orlink admin: unknown role ${opts.role}\n${USAGE}`);
          return 2;
        }
        const days = opts['expires-days'] === undefined ? undefined : Number(opts['expires-days']);
        const { token, info } = createToken(tokens, { name: opts.name, role: opts.role, site: opts.site ?? null, expiresDays: days });
        io.err(`created ${describe(info)}\nthe token is shown only now; send it as: Authorization: Bearer <token>\n`);
        io.out(`${token}\n`);
        return 0;
      }
      case 'list-tokens':
        for (const i of tokens.list()) io.out(`${describe(i)}\n`);
        return 0;
      case 'revoke-token':
        if (!opts.id) {
          io.err(`orlink admin: revoke-token needs --id\n${USAGE}`);
          return 2;
        }
        io.err(`revoked ${describe(tokens.revoke(opts.id, cliActor()))}\n`);
        return 0;
      default:
        io.err(`orlink admin: unknown command ${command}\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    io.err(`orlink admin: ${(err as Error).message}\n`);
    return 1;
  } finally {
    db.close();
  }
}
