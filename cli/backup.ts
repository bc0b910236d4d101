/**
 * `orlink backup --config ingest.yaml --out DIR` (docs/operations-backup.md), safe while ingest runs:
 * DIR/ingest.sqlite (SQLite online backup of registry, cases, audit log, dedupe keys, dead letters),
 * DIR/audit-log.ndjson (the audit log, readable without SQLite), DIR/influx/ (`influxd backup
 * -portable` of series.database), DIR/manifest.json (written last) and DIR/SHA256SUMS. Files 0600,
 * directories 0700.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadIngestConfig } from '../schemas/src/ingest-config.js';
import { BACKUP_ERR, BackupError } from './backup-errors.js';
import { DEFAULT_INFLUXD, InfluxHttp, checkInfluxd, checkRpc, resolveRpc, runInfluxd } from './backup-influx.js';
import { describeFiles, listFiles, writeManifest, type Manifest } from './backup-manifest.js';
import { inspectCopy, onlineBackup } from './backup-sqlite.js';
import { describeError, errorCode } from './errors.js';

export const SQLITE_FILE = 'ingest.sqlite';
export const AUDIT_FILE = 'audit-log.ndjson';
export const INFLUX_DIR = 'influx';

const USAGE = `usage: orlink backup --config ingest.yaml --out DIR
         [--influx-rpc HOST:PORT | --influxd-config FILE] [--influxd PATH] [--timeout SECONDS]
  --influx-rpc      influxd's RPC (backup) address: the top-level bind-address of its config (default: series.url host:8088)
  --influxd-config  read that bind-address from influxd's config file
  --influxd         the influxd binary (default ${DEFAULT_INFLUXD})
  --timeout         give up on influxd backup after this long (default 3600)
  Works while ingest runs. See docs/operations-backup.md.
`;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}
export const stdio: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

export const ORLINK_VERSION: string = String((JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version);

/** Directories 0700, files 0600, whatever umask influxd ran with. */
export function tighten(dir: string): void {
  chmodSync(dir, 0o700);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) tighten(p);
    else chmodSync(p, 0o600);
  }
}

/** A URL as it may appear in a manifest: user and password removed. */
export function withoutUserinfo(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

export const mib = (bytes: number) => `${(bytes / 1048576).toFixed(2)} MiB`;

const options = {
  config: { type: 'string' },
  out: { type: 'string' },
  'influx-rpc': { type: 'string' },
  'influxd-config': { type: 'string' },
  influxd: { type: 'string' },
  timeout: { type: 'string' },
  since: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env, io: Io = stdio): Promise<number> {
  let opts: ReturnType<typeof parseArgs<{ args: string[]; options: typeof options; strict: true }>>['values'];
  try {
    opts = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    io.err(`orlink backup: ${BACKUP_ERR.USAGE}: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    io.out(USAGE);
    return 0;
  }
  if (opts.since !== undefined) {
    io.err(
      `orlink backup: ${BACKUP_ERR.INCREMENTAL}: --since (incremental) is not offered: InfluxDB 1.6's \`backup -portable -start\` ` +
        'selects whole shards by point time, returns wrong data without -end, and misses late points (gateway outbox replays); ' +
        'take full backups (docs/operations-backup.md, "Incremental backups")\n',
    );
    return 2;
  }
  const timeoutS = Number(opts.timeout ?? 3600);
  if (!opts.config || !opts.out || !(timeoutS > 0)) {
    io.err(`orlink backup: ${BACKUP_ERR.USAGE}: --config and --out are required\n${USAGE}`);
    return 2;
  }

  const out = path.resolve(opts.out);
  let owned: 'created' | 'was-empty' | null = null; // what to clean up on failure: never a directory we did not check
  const oldUmask = process.umask(0o077);
  try {
    const started = Date.now();
    const config = loadIngestConfig({ file: opts.config, env });
    if (config.series.kind === 'influx-v2') {
      throw new BackupError(
        BACKUP_ERR.SERIES_KIND,
        'series.kind influx-v2: back up InfluxDB 2 with its own `influx backup`; orlink backup covers InfluxDB 1.x (influx-v1)',
      );
    }
    if (existsSync(out) && (!statSync(out).isDirectory() || readdirSync(out).length > 0)) {
      throw new BackupError(
        BACKUP_ERR.OUT_NOT_EMPTY,
        `${out} exists and is not an empty directory: give a new directory per backup (e.g. one named by the date)`,
      );
    }
    const influxd = opts.influxd ?? DEFAULT_INFLUXD;
    const http = new InfluxHttp(config);
    const rpc = resolveRpc({ flag: opts['influx-rpc'], influxdConfig: opts['influxd-config'], seriesUrl: config.series.url });
    const withInflux = config.series.kind === 'influx-v1';
    if (withInflux) {
      checkInfluxd(influxd);
      if (!(await http.databaseExists(config.series.database))) {
        throw new BackupError(
          BACKUP_ERR.INFLUX_DB_MISSING,
          `InfluxDB at ${config.series.url} has no database "${config.series.database}" (series.database): check the config; ingest creates it at its first start`,
        );
      }
      await checkRpc(rpc);
    }

    if (config.db.path === ':memory:') throw new BackupError(BACKUP_ERR.SQLITE, 'db.path is :memory:: there is no database file to back up');

    owned = existsSync(out) ? 'was-empty' : 'created';
    mkdirSync(out, { recursive: true, mode: 0o700 });
    const dbPath = path.resolve(config.db.path);
    await onlineBackup(dbPath, path.join(out, SQLITE_FILE));
    const sqlite = inspectCopy(path.join(out, SQLITE_FILE), path.join(out, AUDIT_FILE));

    let influx: Manifest['influx'] = null;
    if (withInflux) {
      const db = config.series.database;
      const countsBefore = await http.fieldCounts(db);
      const seriesBefore = await http.seriesCounts(db);
      mkdirSync(path.join(out, INFLUX_DIR), { mode: 0o700 });
      await runInfluxd(influxd, ['backup', '-portable', '-db', db, '-host', rpc.addr, path.join(out, INFLUX_DIR)], {
        rpc: rpc.addr,
        timeoutMs: timeoutS * 1000,
      });
      influx = {
        dir: INFLUX_DIR,
        database: db,
        rpc: rpc.addr,
        retentionPolicies: await http.retentionPolicies(db),
        counts: { before: countsBefore, after: await http.fieldCounts(db) },
        series: { before: seriesBefore, after: await http.seriesCounts(db) },
      };
    }

    tighten(out);
    const files = await describeFiles(out, listFiles(out));
    const { db: d, series: s } = config;
    const manifest: Manifest = {
      format: 'orlink-backup/1',
      orlinkVersion: ORLINK_VERSION,
      createdAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      config: {
        db: { path: dbPath, dedupeRetentionDays: d.dedupeRetentionDays },
        series: { kind: s.kind, url: withoutUserinfo(s.url), database: s.database, retentionPolicy: s.retentionPolicy, retentionDuration: s.retentionDuration },
      },
      sqlite: { file: SQLITE_FILE, schemaVersion: sqlite.schemaVersion, tables: sqlite.tables },
      auditExport: { file: AUDIT_FILE, rows: sqlite.auditRows },
      influx,
      files,
    };
    const manifestSha = await writeManifest(out, manifest);
    io.out(summary(out, manifest, manifestSha));
    return 0;
  } catch (err) {
    if (owned === 'created') rmSync(out, { recursive: true, force: true });
    else if (owned === 'was-empty') for (const e of readdirSync(out)) rmSync(path.join(out, e), { recursive: true, force: true });
    io.err(`orlink backup: ${errorCode(err) ? describeError(err) : ((err as Error).stack ?? String(err))}\n`);
    return err instanceof BackupError && err.code === BACKUP_ERR.USAGE ? 2 : 1;
  } finally {
    process.umask(oldUmask);
  }
}

function summary(out: string, m: Manifest, manifestSha: string): string {
  const bytes = (pred: (p: string) => boolean) => m.files.filter((f) => pred(f.path)).reduce((n, f) => n + f.bytes, 0);
  const rows = Object.values(m.sqlite.tables).reduce((a, b) => a + b, 0);
  const lines = [
    `orlink backup: ${out} (${(m.durationMs / 1000).toFixed(2)} s)`,
    `  sqlite    ${SQLITE_FILE}: ${mib(bytes((p) => p === SQLITE_FILE))}, schema ${m.sqlite.schemaVersion}, ${Object.keys(m.sqlite.tables).length} tables, ${rows} rows`,
    `  audit     ${AUDIT_FILE}: ${m.auditExport.rows} entries`,
  ];
  if (m.influx) {
    const after = m.influx.counts.after;
    const points = Object.values(after)
      .flatMap((ms) => Object.values(ms))
      .reduce((n, f) => n + Math.max(...Object.values(f)), 0);
    const stable = JSON.stringify(m.influx.counts.before) === JSON.stringify(after);
    const size = mib(bytes((p) => p.startsWith(`${INFLUX_DIR}/`)));
    // points: the largest field count per measurement (a lower bound where no field is in every point)
    lines.push(
      `  influx    ${INFLUX_DIR}/: ${size}, database ${m.influx.database}, at least ${points} points` +
        `${stable ? '' : ' (ingest wrote during the backup: counts are a range)'}`,
    );
  } else lines.push('  influx    none (series.kind memory)');
  lines.push(`  manifest  manifest.json sha256 ${manifestSha}`);
  return `${lines.join('\n')}\n`;
}
