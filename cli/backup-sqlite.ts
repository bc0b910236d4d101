/**
 * The SQLite half of backup and restore: SQLite's online backup of the ingest database (registry,
 * cases, audit log, dedupe keys, dead letters), row counts per table, the audit log as NDJSON, and
 * on restore the in-use probe and the copy into place.
 */
import Database from 'better-sqlite3';
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync, chmodSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../ingest/src/registry/database.js';
import { BACKUP_ERR, BackupError } from './backup-errors.js';

/** Every table but SQLite's own; `sqlite_sequence` is SQLite's (AUTOINCREMENT state, copied with the file). */
export function tableCounts(db: Db): Record<string, number> {
  const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
  const out: Record<string, number> = {};
  for (const n of names)
    out[n] = db
      .prepare(`SELECT COUNT(*) FROM "${n.replace(/"/g, '""')}"`)
      .pluck()
      .get() as number;
  return out;
}

export const schemaVersion = (db: Db): number => {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get();
  return has ? ((db.prepare('SELECT MAX(version) FROM schema_version').pluck().get() as number | null) ?? 0) : 0;
};

const sqliteCode = (err: unknown) => (err as { code?: string }).code ?? '';

/**
 * Copies the live database into `dest` (mode 0600) with SQLite's online backup API, all pages in one
 * step: one read transaction, so ingest keeps writing (WAL) and the copy is one consistent state.
 */
export async function onlineBackup(source: string, dest: string): Promise<void> {
  if (!existsSync(source)) {
    throw new BackupError(
      BACKUP_ERR.SQLITE,
      `no ingest database at ${source} (db.path of the config, relative to the working directory ingest runs in): run the backup from there or fix db.path`,
    );
  }
  let db: Db | undefined;
  try {
    db = new Database(source, { readonly: true, fileMustExist: true, timeout: 10_000 });
    await db.backup(dest, { progress: () => 0x7fffffff });
  } catch (err) {
    throw new BackupError(BACKUP_ERR.SQLITE, `SQLite online backup of ${source} failed`, { cause: err });
  } finally {
    db?.close();
  }
  chmodSync(dest, 0o600);
}

export interface SqliteFacts {
  schemaVersion: number;
  tables: Record<string, number>;
}

/**
 * Makes the copy a self-contained rollback-journal file (no -wal/-shm beside it; ingest switches it
 * back to WAL when it opens it), checks it (`PRAGMA quick_check`), counts its rows, and writes its
 * audit log as NDJSON (mode 0600).
 */
export function inspectCopy(file: string, auditFile: string): SqliteFacts & { auditRows: number } {
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE');
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok')
      throw new BackupError(
        BACKUP_ERR.SQLITE,
        `the SQLite copy fails quick_check (${String(check)}): the source database is damaged; run PRAGMA integrity_check on it`,
      );
    const facts = { schemaVersion: schemaVersion(db), tables: tableCounts(db) };
    return { ...facts, auditRows: exportAudit(db, auditFile) };
  } finally {
    db.close();
  }
}

/** One JSON object per audit_log row, oldest first, `detail` parsed (the form GET /audit returns). */
function exportAudit(db: Db, file: string): number {
  const fd = openSync(file, 'w', 0o600);
  let n = 0;
  try {
    const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'").get();
    if (!has) return 0;
    const rows = db.prepare('SELECT id, at, actor, ip, action, entity, entity_id, detail FROM audit_log ORDER BY id').iterate() as Iterable<
      Record<string, unknown>
    >;
    for (const r of rows) {
      const line = {
        id: r.id,
        at: new Date(r.at as number).toISOString(),
        actor: r.actor,
        ip: r.ip,
        action: r.action,
        entity: r.entity,
        entityId: r.entity_id,
        detail: JSON.parse(r.detail as string) as unknown,
      };
      writeSync(fd, `${JSON.stringify(line)}\n`);
      n++;
    }
    fsyncSync(fd);
    return n;
  } finally {
    closeSync(fd);
  }
}

export type TargetState =
  { exists: false } | { exists: true; notSqlite: true } | { exists: true; notSqlite: false; rows: number; tables: Record<string, number> };

/**
 * What the restore would replace. Another connection (a running ingest) holds a shared lock on a WAL
 * database for as long as it is open, even idle; `locking_mode = EXCLUSIVE` plus a read needs the
 * exclusive lock and fails at once with SQLITE_BUSY then (measured: an idle connection in another
 * process is seen; BEGIN EXCLUSIVE alone does not see it under WAL).
 */
export function probeTarget(file: string): TargetState {
  if (!existsSync(file)) return { exists: false };
  let db: Db | undefined;
  try {
    db = new Database(file, { fileMustExist: true, timeout: 0 });
    db.pragma('locking_mode = EXCLUSIVE');
    const tables = tableCounts(db);
    const rows = Object.entries(tables)
      .filter(([t]) => t !== 'schema_version')
      .reduce((s, [, n]) => s + n, 0);
    return { exists: true, notSqlite: false, rows, tables };
  } catch (err) {
    const code = sqliteCode(err);
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      throw new BackupError(
        BACKUP_ERR.IN_USE,
        `${file} is open in another process (a running orlink ingest?): stop it first (e.g. systemctl stop orlink-ingest), then restore`,
        { cause: err },
      );
    }
    if (code === 'SQLITE_NOTADB') return { exists: true, notSqlite: true };
    throw new BackupError(BACKUP_ERR.SQLITE, `cannot open ${file} to check it`, { cause: err });
  } finally {
    db?.close();
  }
}

/** Puts `from` in place of `target` (mode 0600, dir 0700 when created): copy beside it, fsync, drop stale -wal/-shm, rename. */
export function installCopy(from: string, target: string): void {
  const dir = path.dirname(target);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${target}.restore-${process.pid}`;
  try {
    copyFileSync(from, tmp);
    chmodSync(tmp, 0o600);
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    for (const s of ['-wal', '-shm', '-journal']) rmSync(`${target}${s}`, { force: true });
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new BackupError(BACKUP_ERR.SQLITE, `cannot put the restored database in place at ${target}`, { cause: err });
  }
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/** Row counts of the installed file (read-only). */
export function countInstalled(file: string): Record<string, number> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return tableCounts(db);
  } finally {
    db.close();
  }
}
