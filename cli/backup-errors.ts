/**
 * Coded errors of `orlink backup` and `orlink restore` (docs/operations-backup.md). All are fatal for
 * the verb: it stops, removes what it half-wrote, and exits 1 (2 for usage errors). Each message says
 * what to do about it.
 */
import { CodedError } from './errors.js';

export const BACKUP_ERR = {
  USAGE: 'CLI_ERR_BACKUP_USAGE', // bad or missing arguments (exit 2)
  OUT_NOT_EMPTY: 'CLI_ERR_BACKUP_OUT_NOT_EMPTY', // --out names a non-empty directory or a file
  SERIES_KIND: 'CLI_ERR_BACKUP_SERIES_KIND', // series.kind has no backup here (influx-v2), or backup and config disagree
  INCREMENTAL: 'CLI_ERR_BACKUP_INCREMENTAL', // --since: not offered (InfluxDB 1.6 measurements in the docs)
  INFLUXD_MISSING: 'CLI_ERR_BACKUP_INFLUXD_MISSING', // no influxd binary to run `influxd backup|restore`
  INFLUX_UNREACHABLE: 'CLI_ERR_BACKUP_INFLUX_UNREACHABLE', // the HTTP API or the RPC (backup/restore) service does not answer
  INFLUX_QUERY: 'CLI_ERR_BACKUP_INFLUX_QUERY', // InfluxQL refused (auth, syntax, server error)
  INFLUX_DB_MISSING: 'CLI_ERR_BACKUP_INFLUX_DB_MISSING', // series.database does not exist on the server
  INFLUXD_FAILED: 'CLI_ERR_BACKUP_INFLUXD_FAILED', // `influxd backup|restore` exited non-zero or timed out
  SQLITE: 'CLI_ERR_BACKUP_SQLITE', // the SQLite file is missing, unreadable, or fails its check
  MANIFEST: 'CLI_ERR_BACKUP_MANIFEST', // no manifest.json, or one this version cannot read
  CHECKSUM: 'CLI_ERR_BACKUP_CHECKSUM', // a file is missing, unlisted, or its size/sha256 differ
  NOT_EMPTY: 'CLI_ERR_RESTORE_NOT_EMPTY', // the target holds data and --force was not given
  IN_USE: 'CLI_ERR_RESTORE_IN_USE', // the target SQLite file is open in another process
  MISMATCH: 'CLI_ERR_RESTORE_MISMATCH', // restored counts differ from the manifest
} as const;

export type BackupErrorCode = (typeof BACKUP_ERR)[keyof typeof BACKUP_ERR];

export class BackupError extends CodedError<BackupErrorCode> {
  /** the backup file concerned (CHECKSUM), relative to the backup directory */
  readonly file?: string;
  constructor(code: BackupErrorCode, message: string, options?: { cause?: unknown; file?: string }) {
    super(code, message, options);
    if (options?.file !== undefined) this.file = options.file;
  }
}
