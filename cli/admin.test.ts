/**
 * `orlink admin create-token` against a fresh database: the printed token authenticates against an
 * ingest app on the same file; list and revoke; audited as the CLI user; bad arguments refused.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadIngestConfig } from '../schemas/src/ingest-config.js';
import { build } from '../ingest/src/app.js';
import { bearer } from '../ingest/src/auth/test-tokens.js';
import { createServices } from '../ingest/src/services.js';
import { MemorySeriesStore } from '../ingest/src/series/memory.js';
import { run } from './admin.js';

const bin = fileURLToPath(new URL('../bin/orlink.js', import.meta.url));

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      out: (s: string) => {
        out.push(s);
      },
      err: (s: string) => {
        err.push(s);
      },
    },
    out,
    err,
  };
}

t.test('the first admin token, made on the server, authenticates; list and revoke', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-admin-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'ingest.yaml');
  writeFileSync(
    file,
    `db:\n  path: ${path.join(dir, 'data', 'ingest.sqlite')}\nseries:\n  kind: memory\nlog:\n  level: silent\nauth:\n  maxExpiryDays: 30\n  defaultExpiryDays: 7\n`,
  );

  const res = await promisify(execFile)(process.execPath, [bin, 'admin', 'create-token', '--config', file, '--name', 'first-admin', '--role', 'admin'], {
    env: { ...process.env },
  });
  const token = res.stdout.trim();
  t.match(token, /^orl_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/, 'only the token on stdout');
  t.match(res.stderr, /created [0-9a-f]{16}  first-admin  admin  expires/);
  t.notMatch(res.stderr, token.slice(21), 'the secret is not repeated on stderr');

  const config = loadIngestConfig({ file, env: {} });
  const services = createServices(config, { series: new MemorySeriesStore() });
  const app = await build({ config, services });
  t.teardown(async () => {
    await app.close();
    services.db.close();
  });
  const listed = await app.inject({ url: '/tokens', headers: bearer(token) });
  t.equal(listed.statusCode, 200, 'the token authenticates against ingest on the same database');
  const [info] = listed.json();
  t.match(info, { name: 'first-admin', role: 'admin', createdBy: `cli:${os.userInfo().username}` });
  t.equal(info.expiresAt - info.createdAt, 7 * 86_400_000, 'expiry from the config (auth.defaultExpiryDays)');
  t.equal((await app.inject({ url: '/tokens' })).statusCode, 401, 'and nothing works without it');
  const audit = (await app.inject({ url: '/audit?entity=token', headers: bearer(token) })).json();
  t.match(audit, [{ action: 'token.create', actor: `cli:${os.userInfo().username}`, entityId: info.id }]);

  const long = capture();
  t.equal(await run(['create-token', '--config', file, '--name', 'x', '--role', 'viewer', '--expires-days', '31'], {}, long.io), 1);
  t.match(long.err.join(''), /1\.\.30 days/, 'auth.maxExpiryDays applies');

  const list = capture();
  t.equal(await run(['list-tokens', '--config', file], {}, list.io), 0);
  t.match(list.out.join(''), new RegExp(`^${info.id}  first-admin  admin  expires `));
  t.notMatch(list.out.join(''), token.slice(21));

  const revoke = capture();
  t.equal(await run(['revoke-token', '--db', path.join(dir, 'data', 'ingest.sqlite'), '--id', info.id], {}, revoke.io), 0);
  t.equal((await app.inject({ url: '/tokens', headers: bearer(token) })).statusCode, 401, 'revoked from the CLI: refused at once');
});

t.test('bad arguments', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-admin-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const db = path.join(dir, 'x.sqlite');
  const cases: [string[], number, RegExp][] = [
    [['create-token', '--db', db, '--name', 'a'], 2, /needs --name and --role/],
    [['create-token', '--db', db, '--name', 'a', '--role', 'root'], 2, /unknown role root/],
    [['create-token', '--name', 'a', '--role', 'admin'], 2, /give --config or --db/],
    [['create-token', '--db', db, '--name', 'a', '--role', 'admin', '--site', 's'], 1, /recorder and viewer tokens only/],
    [['create-token', '--db', db, '--name', 'a', '--role', 'recorder', '--site', 's'], 1, /site s not found/],
    [['drop-tables', '--db', db], 2, /unknown command/],
    [['create-token', '--db', db, '--bogus'], 2, /unknown argument --bogus/],
  ];
  for (const [argv, code, message] of cases) {
    const c = capture();
    t.equal(await run(argv, {}, c.io), code, argv.join(' '));
    t.match(c.err.join(''), message);
    t.equal(c.out.join(''), '', 'nothing on stdout');
  }
});
