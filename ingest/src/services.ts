/**
 * The stateful pieces ingest shares between the HTTP app, the subscriber and the broker.
 * Constructors only; `createServices` opens the sqlite database (migrations) and builds the rest.
 */
import type { IngestConfig } from '../../schemas/src/ingest-config.js';
import { AuditLog } from './audit/audit-log.js';
import { ApiTokenStore } from './auth/token-store.js';
import { CaseStore } from './cases/case-store.js';
import { Metrics } from './metrics.js';
import { DeadLetterStore } from './mqtt/dead-letter.js';
import { DedupeStore } from './mqtt/dedupe.js';
import { openDb, type Db } from './registry/database.js';
import type { RegistryStore } from './registry/registry-store.js';
import { SqliteRegistry } from './registry/sqlite-registry.js';
import { createSeriesStore } from './series/factory.js';
import type { SeriesStore } from './series/types.js';

export interface Services {
  db: Db;
  audit: AuditLog;
  /** REST API tokens (auth/token-store.ts) */
  tokens: ApiTokenStore;
  registry: RegistryStore;
  cases: CaseStore;
  dedupe: DedupeStore;
  deadLetters: DeadLetterStore;
  metrics: Metrics;
  series: SeriesStore;
}

/** What /health asks the running parts (absent in a bare `build()`). */
export interface RuntimeStatus {
  brokerUp?: () => boolean;
  subscriberConnected?: () => boolean;
  lastWriteError?: () => string | null;
  pending?: () => number;
}

export function createServices(config: IngestConfig, overrides: { series?: SeriesStore; registry?: RegistryStore; metrics?: Metrics } = {}): Services {
  const db = openDb(config.db.path);
  const metrics = overrides.metrics ?? new Metrics();
  const audit = new AuditLog(db);
  return {
    db,
    audit,
    tokens: new ApiTokenStore(db, audit, { defaultExpiryDays: config.auth.defaultExpiryDays, maxExpiryDays: config.auth.maxExpiryDays }),
    registry: overrides.registry ?? new SqliteRegistry(db),
    cases: new CaseStore(db, Date.now, audit),
    dedupe: new DedupeStore(db),
    deadLetters: new DeadLetterStore(db),
    metrics,
    series: overrides.series ?? createSeriesStore(config, metrics),
  };
}
