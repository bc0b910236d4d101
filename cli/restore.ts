/**
 * `orlink restore --config ingest.yaml --from DIR [--force]` (docs/operations-backup.md): checks the
 * manifest and every file's sha256 first, refuses a target that holds data (unless --force) or whose
 * SQLite file is open (ingest must be stopped), restores InfluxDB (`influxd restore -portable`, into
 * series.database of the config) and then the SQLite file, and verifies the restored counts against
 * the manifest.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadIngestConfig } from '../schemas/src/ingest-config.js';
import { MIGRATIONS } from '../ingest/src/registry/database.js';
import { BACKUP_ERR, BackupError } from './backup-errors.js';
import { DEFAULT_INFLUXD, InfluxHttp, checkInfluxd, checkRpc, resolveRpc, runInfluxd } from './backup-influx.js';
import { readManifest, verifyFiles, type InfluxFieldCounts, type Manifest } from './backup-manifest.js';
import { countInstalled, installCopy, probeTarget } from './backup-sqlite.js';
import { stdio, type Io } from './backup.js';
import { describeError, errorCode } from './errors.js';

const USAGE = `usage: orlink restore --config ingest.yaml --from DIR [--force]
         [--influx-rpc HOST:PORT | --influxd-config FILE] [--influxd PATH] [--timeout SECONDS]
  Restores into db.path and series.database of the config. Stop ingest first.
  --force           replace a SQLite file or InfluxDB database that holds data
  --influx-rpc      influxd's RPC (restore) address: the top-level bind-address of its config (default: series.url host:8088)
  --influxd-config  read that bind-address from influxd's config file
  See docs/operations-backup.md.
`;

const options = {
  config: { type: 'string' },
  from: { type: 'string' },
  force: { type: 'boolean' },
  'influx-rpc': { type: 'string' },
  'influxd-config': { type: 'string' },
  influxd: { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface Check {
  what: string;
  expected: string;
  got: string;
  ok: boolean;
}

/** Restored SQLite rows must equal the manifest's (they were counted in the backup file itself). */
export function checkSqlite(expected: Record<string, number>, got: Record<string, number>): Check[] {
  const names = [...new Set([...Object.keys(expected), ...Object.keys(got)])].sort();
  return names.map((t) => ({ what: `sqlite ${t}`, expected: String(expected[t] ?? '-'), got: String(got[t] ?? '-'), ok: expected[t] === got[t] }));
}

/** Restored InfluxDB values per field must lie between the counts taken before and after the backup (equal when ingest was idle). */
export function checkInflux(before: InfluxFieldCounts, after: InfluxFieldCounts, got: InfluxFieldCounts): Check[] {
  const keys = new Set<string>();
  for (const c of [before, after, got])
    for (const [rp, ms] of Object.entries(c)) for (const [m, fs] of Object.entries(ms)) for (const f of Object.keys(fs)) keys.add(JSON.stringify([rp, m, f]));
  const at = (c: InfluxFieldCounts, [rp, m, f]: string[]) => c[rp]?.[m]?.[f] ?? 0;
  return [...keys].sort().map((k) => {
    const key = JSON.parse(k) as string[];
    const lo = Math.min(at(before, key), at(after, key));
    const hi = Math.max(at(before, key), at(after, key));
    const n = at(got, key);
    return { what: `influx ${key.join('.')}`, expected: lo === hi ? String(lo) : `${lo}..${hi}`, got: String(n), ok: n >= lo && n <= hi };
  });
}

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env, io: Io = stdio): Promise<number> {
  let opts: ReturnType<typeof parseArgs<{ args: string[]; options: typeof options; strict: true }>>['values'];
  try {
    opts = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    io.err(`orlink restore: ${BACKUP_ERR.USAGE}: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    io.out(USAGE);
    return 0;
  }
  const timeoutS = Number(opts.timeout ?? 3600);
  if (!opts.config || !opts.from || !(timeoutS > 0)) {
    io.err(`orlink restore: ${BACKUP_ERR.USAGE}: --config and --from are required\n${USAGE}`);
    return 2;
  }
  try {
    const checks = await restore(
      {
        config: opts.config,
        from: path.resolve(opts.from),
        force: opts.force === true,
        env,
        rpcFlag: opts['influx-rpc'],
        influxdConfig: opts['influxd-config'],
        influxd: opts.influxd ?? DEFAULT_INFLUXD,
        timeoutMs: timeoutS * 1000,
        verifyTimeoutMs: 60_000,
      },
      io,
    );
    const bad = checks.filter((c) => !c.ok);
    for (const c of checks) io.out(`  ${c.ok ? 'ok ' : 'BAD'}  ${c.what.padEnd(36)} ${c.got.padStart(10)}  (manifest ${c.expected})\n`);
    if (bad.length) {
      const list = bad.map((c) => `${c.what} ${c.got} (manifest ${c.expected})`).join(', ');
      throw new BackupError(
        BACKUP_ERR.MISMATCH,
        `restored counts differ from the manifest: ${list}; do not start ingest on this data; check the InfluxDB log and restore again with --force`,
      );
    }
    io.out(`orlink restore: verified ${checks.length} counts against the manifest\n`);
    return 0;
  } catch (err) {
    io.err(`orlink restore: ${errorCode(err) ? describeError(err) : ((err as Error).stack ?? String(err))}\n`);
    return err instanceof BackupError && err.code === BACKUP_ERR.USAGE ? 2 : 1;
  }
}

interface RestoreOptions {
  config: string;
  from: string;
  force: boolean;
  env: NodeJS.ProcessEnv;
  rpcFlag?: string;
  influxdConfig?: string;
  influxd: string;
  timeoutMs: number;
  verifyTimeoutMs: number;
}

/**
 * InfluxDB 1.6 reopens restored shards after `influxd restore` has exited: for a moment (measured:
 * up to ~70 ms for a small shard) queries answer "engine is closed", "shard is disabled" or no rows.
 * Counts are polled until they match or `timeoutMs` passes (query errors retried until then); the
 * last counts are returned either way.
 */
async function settledInfluxChecks(
  http: InfluxHttp,
  db: string,
  c: { before: InfluxFieldCounts; after: InfluxFieldCounts },
  timeoutMs: number,
): Promise<Check[]> {
  const deadline = Date.now() + timeoutMs;
  let delay = 25;
  for (;;) {
    let checks: Check[] | undefined;
    try {
      checks = checkInflux(c.before, c.after, await http.fieldCounts(db));
    } catch (err) {
      if (!(err instanceof BackupError && err.code === BACKUP_ERR.INFLUX_QUERY) || Date.now() > deadline) throw err;
    }
    if (checks && (checks.every((x) => x.ok) || Date.now() > deadline)) return checks;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 1000);
  }
}

async function restore(o: RestoreOptions, io: Io): Promise<Check[]> {
  const config = loadIngestConfig({ file: o.config, env: o.env });
  const m: Manifest = readManifest(o.from);
  if (!m.files.some((f) => f.path === m.sqlite.file))
    throw new BackupError(BACKUP_ERR.MANIFEST, `manifest.json does not list its SQLite file ${m.sqlite.file}`);
  await verifyFiles(o.from, m);
  io.out(`orlink restore: ${o.from}: ${m.files.length} files match their sha256 (backup of ${m.createdAt}, orlink ${m.orlinkVersion})\n`);
  if (m.sqlite.schemaVersion > MIGRATIONS.length) {
    throw new BackupError(
      BACKUP_ERR.MANIFEST,
      `the backup's database has schema ${m.sqlite.schemaVersion}, this orlink knows ${MIGRATIONS.length}: restore with orlink ${m.orlinkVersion} or newer`,
    );
  }
  if (m.influx && config.series.kind !== 'influx-v1') {
    throw new BackupError(
      BACKUP_ERR.SERIES_KIND,
      `the backup holds InfluxDB database "${m.influx.database}" but series.kind is ${config.series.kind}: restore needs influx-v1`,
    );
  }
  if (config.db.path === ':memory:') throw new BackupError(BACKUP_ERR.SQLITE, 'db.path is :memory:: nothing to restore into');

  const target = path.resolve(config.db.path);
  const refusals: string[] = [];
  const state = probeTarget(target);
  if (state.exists && state.notSqlite) refusals.push(`${target} is not a SQLite database`);
  else if (state.exists && !state.notSqlite && state.rows > 0) {
    refusals.push(
      `${target} holds ${state.rows} rows (${Object.entries(state.tables)
        .filter(([, n]) => n > 0)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ')})`,
    );
  }
  const http = new InfluxHttp(config);
  const rpc = resolveRpc({ flag: o.rpcFlag, influxdConfig: o.influxdConfig, seriesUrl: config.series.url });
  const dst = config.series.database;
  let drop = false;
  if (m.influx) {
    checkInfluxd(o.influxd);
    if (await http.databaseExists(dst)) {
      const n = await http.measurementCount(dst);
      if (n > 0) refusals.push(`InfluxDB database "${dst}" at ${config.series.url} exists with ${n} measurements`);
      drop = true;
    }
    await checkRpc(rpc);
  }
  if (refusals.length && !o.force) {
    throw new BackupError(
      BACKUP_ERR.NOT_EMPTY,
      `refusing to overwrite: ${refusals.join('; ')}. Restore into an empty place (db.path and series.database of the config), or pass --force to replace them`,
    );
  }

  const checks: Check[] = [];
  if (m.influx) {
    if (drop) await http.dropDatabase(dst);
    const args = [
      'restore',
      '-portable',
      '-db',
      m.influx.database,
      ...(dst !== m.influx.database ? ['-newdb', dst] : []),
      '-host',
      rpc.addr,
      path.join(o.from, m.influx.dir),
    ];
    await runInfluxd(o.influxd, args, { rpc: rpc.addr, timeoutMs: o.timeoutMs });
    io.out(`orlink restore: InfluxDB database "${m.influx.database}" restored as "${dst}" at ${config.series.url}\n`);
    checks.push(...(await settledInfluxChecks(http, dst, m.influx.counts, o.verifyTimeoutMs)));
  }
  probeTarget(target); // once more right before the copy: ingest may have been started meanwhile
  installCopy(path.join(o.from, m.sqlite.file), target);
  io.out(`orlink restore: SQLite database restored at ${target}\n`);
  checks.unshift(...checkSqlite(m.sqlite.tables, countInstalled(target)));
  return checks;
}
