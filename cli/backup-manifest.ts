/**
 * The manifest of an orlink backup directory: what was backed up, from which configuration (never a
 * secret), the counts to verify a restore against, and the size and sha256 of every file. Written
 * last, so a directory without it is an incomplete backup. `SHA256SUMS` repeats the checksums in
 * coreutils format (`sha256sum -c SHA256SUMS`) and adds manifest.json itself.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, lstatSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { BACKUP_ERR, BackupError } from './backup-errors.js';

export const MANIFEST_FORMAT = 'orlink-backup/1';
export const MANIFEST_FILE = 'manifest.json';
export const SUMS_FILE = 'SHA256SUMS';

const Count = Type.Integer({ minimum: 0 });
/** retention policy → measurement → field → number of values (InfluxQL COUNT(*)) */
const FieldCounts = Type.Record(Type.String(), Type.Record(Type.String(), Type.Record(Type.String(), Count)));

export const ManifestSchema = Type.Object({
  format: Type.Literal(MANIFEST_FORMAT),
  orlinkVersion: Type.String(),
  createdAt: Type.String(),
  durationMs: Type.Number({ minimum: 0 }),
  config: Type.Object({
    db: Type.Object({ path: Type.String(), dedupeRetentionDays: Type.Number() }),
    series: Type.Object({
      kind: Type.String(),
      url: Type.String(),
      database: Type.String(),
      retentionPolicy: Type.String(),
      retentionDuration: Type.String(),
    }),
  }),
  sqlite: Type.Object({ file: Type.String(), schemaVersion: Count, tables: Type.Record(Type.String(), Count) }),
  auditExport: Type.Object({ file: Type.String(), rows: Count }),
  /** null when series.kind is memory (nothing persistent to back up) */
  influx: Type.Union([
    Type.Null(),
    Type.Object({
      dir: Type.String(),
      database: Type.String(),
      rpc: Type.String(),
      retentionPolicies: Type.Array(Type.Object({ name: Type.String(), duration: Type.String(), default: Type.Boolean() })),
      /** counted just before and just after `influxd backup`: equal unless ingest wrote meanwhile */
      counts: Type.Object({ before: FieldCounts, after: FieldCounts }),
      /** measurement → series (SHOW SERIES EXACT CARDINALITY), before and after */
      series: Type.Object({ before: Type.Record(Type.String(), Count), after: Type.Record(Type.String(), Count) }),
    }),
  ]),
  files: Type.Array(Type.Object({ path: Type.String(), bytes: Count, sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }) })),
});

export type Manifest = Static<typeof ManifestSchema>;
export type FileEntry = Manifest['files'][number];
export type InfluxFieldCounts = Static<typeof FieldCounts>;

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('error', reject)
      .on('data', (c) => h.update(c))
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** Every regular file under `dir`, relative POSIX paths, sorted; anything else (symlink, socket) is refused. */
export function listFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(dir, p));
    else if (e.isFile()) out.push(p);
    else throw new BackupError(BACKUP_ERR.CHECKSUM, `${p}: not a regular file (a backup holds only files and directories)`, { file: p });
  }
  return out.sort();
}

export async function describeFiles(dir: string, files: readonly string[]): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  for (const p of files) out.push({ path: p, bytes: statSync(path.join(dir, p)).size, sha256: await sha256File(path.join(dir, p)) });
  return out;
}

/** manifest.json and SHA256SUMS, both mode 0600; the manifest lists every other file. */
export async function writeManifest(dir: string, m: Manifest): Promise<string> {
  const text = `${JSON.stringify(m, null, 2)}\n`;
  writeFileSync(path.join(dir, MANIFEST_FILE), text, { mode: 0o600 });
  const manifestSha = createHash('sha256').update(text).digest('hex');
  const sums = [...m.files.map((f) => `${f.sha256}  ${f.path}`), `${manifestSha}  ${MANIFEST_FILE}`].join('\n');
  writeFileSync(path.join(dir, SUMS_FILE), `${sums}\n`, { mode: 0o600 });
  return manifestSha;
}

const safeRelative = (p: string) => p !== '' && !path.isAbsolute(p) && !p.split('/').some((s) => s === '..' || s === '.' || s === '');

/** Reads manifest.json (checked against SHA256SUMS when present) and validates its shape. */
export function readManifest(dir: string): Manifest {
  const file = path.join(dir, MANIFEST_FILE);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new BackupError(BACKUP_ERR.MANIFEST, `${dir}: no such backup directory`);
  if (!existsSync(file)) {
    throw new BackupError(
      BACKUP_ERR.MANIFEST,
      `${dir} has no ${MANIFEST_FILE}: not an orlink backup, or an incomplete one (the backup writes it last); use another backup`,
    );
  }
  const text = readFileSync(file);
  const sums = path.join(dir, SUMS_FILE);
  if (existsSync(sums)) {
    const line = readFileSync(sums, 'utf8')
      .split('\n')
      .find((l) => l.endsWith(`  ${MANIFEST_FILE}`));
    const want = line?.slice(0, 64);
    if (want !== createHash('sha256').update(text).digest('hex')) {
      throw new BackupError(BACKUP_ERR.CHECKSUM, `${MANIFEST_FILE}: sha256 differs from ${SUMS_FILE}: the backup is corrupted; use another backup`, {
        file: MANIFEST_FILE,
      });
    }
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text.toString('utf8'));
  } catch (err) {
    throw new BackupError(BACKUP_ERR.MANIFEST, `${MANIFEST_FILE} is not JSON: the backup is corrupted; use another backup`, { cause: err });
  }
  const format = (raw as { format?: unknown } | null)?.format;
  if (format !== MANIFEST_FORMAT) {
    throw new BackupError(BACKUP_ERR.MANIFEST, `${MANIFEST_FILE}: format ${JSON.stringify(format)}, this orlink reads ${MANIFEST_FORMAT}`);
  }
  const problems = [...Value.Errors(ManifestSchema, raw)].map((e) => `${e.path || '/'}: ${e.message}`);
  if (problems.length) throw new BackupError(BACKUP_ERR.MANIFEST, `${MANIFEST_FILE} is invalid: ${problems.slice(0, 5).join('; ')}`);
  const m = raw as Manifest;
  for (const f of m.files) {
    if (!safeRelative(f.path)) throw new BackupError(BACKUP_ERR.MANIFEST, `${MANIFEST_FILE} lists a path outside the backup: ${f.path}`);
  }
  return m;
}

/** Every listed file is there with its size and sha256, and no other file is (besides manifest.json and SHA256SUMS). */
export async function verifyFiles(dir: string, m: Manifest): Promise<void> {
  for (const f of m.files) {
    const p = path.join(dir, f.path);
    if (!existsSync(p) || !lstatSync(p).isFile()) {
      throw new BackupError(BACKUP_ERR.CHECKSUM, `${f.path}: missing from the backup: it is incomplete; use another backup`, { file: f.path });
    }
    const bytes = statSync(p).size;
    if (bytes !== f.bytes) {
      throw new BackupError(BACKUP_ERR.CHECKSUM, `${f.path}: ${bytes} bytes, the manifest says ${f.bytes}: the backup is corrupted; use another backup`, {
        file: f.path,
      });
    }
    if ((await sha256File(p)) !== f.sha256) {
      throw new BackupError(BACKUP_ERR.CHECKSUM, `${f.path}: sha256 differs from the manifest: the backup is corrupted; use another backup`, { file: f.path });
    }
  }
  const listed = new Set([...m.files.map((f) => f.path), MANIFEST_FILE, SUMS_FILE]);
  for (const p of listFiles(dir)) {
    if (!listed.has(p))
      throw new BackupError(BACKUP_ERR.CHECKSUM, `${p}: not listed in the manifest: the backup was altered; remove the file or use another backup`, {
        file: p,
      });
  }
}
