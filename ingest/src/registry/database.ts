/**
 * The ingest sqlite database (better-sqlite3): registry, cases, dedupe keys, dead letters.
 * Migrations are numbered; `schema_version` records the applied ones; each runs in a transaction.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';

export type Db = Database.Database;

export const MIGRATIONS: string[] = [
  // 1: registry
  `CREATE TABLE sites (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL);
   CREATE TABLE rooms (id TEXT PRIMARY KEY, site_id TEXT NOT NULL REFERENCES sites(id), name TEXT NOT NULL, created_at INTEGER NOT NULL);
   CREATE TABLE beds (id TEXT PRIMARY KEY, room_id TEXT NOT NULL REFERENCES rooms(id), name TEXT NOT NULL, created_at INTEGER NOT NULL);
   CREATE TABLE gateways (id TEXT PRIMARY KEY, bed_id TEXT NOT NULL REFERENCES beds(id), credential_hash TEXT NOT NULL,
     last_seen INTEGER, online INTEGER, status_json TEXT, created_at INTEGER NOT NULL);
   CREATE TABLE devices (id TEXT PRIMARY KEY, gateway_id TEXT REFERENCES gateways(id), bed_id TEXT REFERENCES beds(id),
     vendor TEXT, model TEXT, serial TEXT, firmware TEXT, profile TEXT, transport TEXT, asset_tag TEXT, created_at INTEGER NOT NULL);`,
  // 2: cases
  `CREATE TABLE cases (id TEXT PRIMARY KEY, bed_id TEXT NOT NULL REFERENCES beds(id), start INTEGER NOT NULL, end INTEGER,
     status TEXT NOT NULL CHECK (status IN ('open','closed')), external_ids TEXT NOT NULL DEFAULT '{}', created_at INTEGER NOT NULL);
   CREATE INDEX cases_bed ON cases(bed_id, start);`,
  // 3: dedupe + dead letters
  `CREATE TABLE dedupe (gateway_id TEXT NOT NULL, boot_id TEXT NOT NULL, seq INTEGER NOT NULL, received_at INTEGER NOT NULL,
     PRIMARY KEY (gateway_id, boot_id, seq)) WITHOUT ROWID;
   CREATE INDEX dedupe_age ON dedupe(received_at);
   CREATE TABLE dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, topic TEXT NOT NULL, code TEXT NOT NULL,
     reason TEXT NOT NULL, gateway_id TEXT, payload BLOB NOT NULL);`,
  // 4: Mosquitto-compatible credential (PBKDF2-SHA512 `$7$` hash) for `orlink mqtt-auth` (docs/mqtt.md)
  `ALTER TABLE gateways ADD COLUMN mqtt_hash TEXT;`,
  // 5: audit log of registry and case changes (ingest/src/audit/audit-log.ts)
  `CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, ip TEXT,
     action TEXT NOT NULL, entity TEXT NOT NULL, entity_id TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '{}');
   CREATE INDEX audit_entity ON audit_log(entity, entity_id, id);`,
  // case bindings (ingest/src/cases/bindings.ts): a case's beds over time, [from_t, to_t), at most one open case per bed.
  // Databases from before the rule may hold several open cases on a bed: the newest stays open, each older one is closed
  // where the next newer one starts (the case coveringCase() already reported from then on), and the closing is audited.
  `CREATE TABLE case_bindings (case_id TEXT NOT NULL REFERENCES cases(id), seq INTEGER NOT NULL, bed_id TEXT NOT NULL REFERENCES beds(id),
     from_t INTEGER NOT NULL, to_t INTEGER, CHECK (to_t IS NULL OR to_t >= from_t), PRIMARY KEY (case_id, seq));
   CREATE TEMP TABLE legacy_open_ends AS SELECT o.id AS id, o.bed_id AS bed_id, o.start AS start,
     (SELECT MIN(n.start) FROM cases n WHERE n.bed_id = o.bed_id AND n.status = 'open' AND n.id <> o.id
        AND (n.start > o.start OR (n.start = o.start AND (n.created_at > o.created_at OR (n.created_at = o.created_at AND n.id > o.id))))) AS new_end
     FROM cases o WHERE o.status = 'open';
   DELETE FROM legacy_open_ends WHERE new_end IS NULL;
   UPDATE cases SET end = (SELECT e.new_end FROM legacy_open_ends e WHERE e.id = cases.id), status = 'closed' WHERE id IN (SELECT id FROM legacy_open_ends);
   INSERT INTO audit_log (at, actor, ip, action, entity, entity_id, detail)
     SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'system', NULL, 'case.close', 'case', id,
       json_object('bed', bed_id, 'from', start, 'to', new_end, 'reason', 'migration: a newer open case on the same bed')
     FROM legacy_open_ends ORDER BY bed_id, start;
   DROP TABLE legacy_open_ends;
   INSERT INTO case_bindings (case_id, seq, bed_id, from_t, to_t) SELECT id, 0, bed_id, start, end FROM cases;
   CREATE UNIQUE INDEX case_bindings_open_bed ON case_bindings(bed_id) WHERE to_t IS NULL;
   CREATE INDEX case_bindings_bed ON case_bindings(bed_id, from_t);
   CREATE UNIQUE INDEX cases_open_bed ON cases(bed_id) WHERE status = 'open';`,
  // registry lifecycle (docs/api.md "Registry lifecycle"): notes, retirement, password revocation, and the identity a
  // device last reported with the fields that differ from the registry (JSON; NULL = none)
  `ALTER TABLE gateways ADD COLUMN notes TEXT;
   ALTER TABLE gateways ADD COLUMN retired_at INTEGER;
   ALTER TABLE gateways ADD COLUMN retired_reason TEXT;
   ALTER TABLE gateways ADD COLUMN password_revoked_at INTEGER;
   ALTER TABLE devices ADD COLUMN notes TEXT;
   ALTER TABLE devices ADD COLUMN retired_at INTEGER;
   ALTER TABLE devices ADD COLUMN retired_reason TEXT;
   ALTER TABLE devices ADD COLUMN reported_identity TEXT;
   ALTER TABLE devices ADD COLUMN identity_mismatch TEXT;`,
  // REST API tokens (ingest/src/auth/token-store.ts): the secret is kept only as SHA-256; every token expires.
  // The audit log records the role of the token an actor used.
  `CREATE TABLE api_tokens (id TEXT PRIMARY KEY, name TEXT NOT NULL,
     role TEXT NOT NULL CHECK (role IN ('admin','biomed','recorder','viewer','metrics')), site TEXT REFERENCES sites(id),
     secret_hash TEXT NOT NULL, created_at INTEGER NOT NULL, created_by TEXT NOT NULL, expires_at INTEGER NOT NULL,
     revoked_at INTEGER, last_used_at INTEGER);
   ALTER TABLE audit_log ADD COLUMN role TEXT;`,
  // The audit log is append-only in the database itself, not only by the absence of an UPDATE/DELETE in the code:
  // a statement that would change or remove an entry is aborted (docs/security.md "Audit log").
  `CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
   CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;`,
  // case events (ingest/src/events/event-store.ts): clinical milestones, PACU scores and notes of a case; deleting one
  // only sets deleted_at (the row stays for the audit trail).
  `CREATE TABLE case_events (id TEXT PRIMARY KEY, case_id TEXT NOT NULL REFERENCES cases(id), kind TEXT NOT NULL, t INTEGER NOT NULL,
     text TEXT, data TEXT, bed_id TEXT REFERENCES beds(id), created_at INTEGER NOT NULL, created_by TEXT NOT NULL,
     updated_at INTEGER, updated_by TEXT, deleted_at INTEGER, deleted_by TEXT);
   CREATE INDEX case_events_case ON case_events(case_id, t);`,
  // cases from the HIS (ingest/src/his/, docs/his.md): every received HL7 message (kept, applied or not, before its ACK),
  // the surgery schedule (SIU) and the visits (ADT). Patient identifiers stay in this owner-only database.
  `CREATE TABLE his_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at INTEGER NOT NULL, peer TEXT, sender TEXT,
     control_id TEXT, type TEXT, status TEXT NOT NULL CHECK (status IN ('applied','rejected')), ack_code TEXT NOT NULL,
     reason TEXT, raw BLOB NOT NULL);
   CREATE INDEX his_messages_status ON his_messages(status, id);
   CREATE INDEX his_messages_control ON his_messages(sender, control_id);
   CREATE TABLE his_schedule (id TEXT PRIMARY KEY, appointment TEXT NOT NULL UNIQUE, external_ids TEXT NOT NULL DEFAULT '{}',
     patient_key TEXT NOT NULL, site_id TEXT REFERENCES sites(id), room_id TEXT REFERENCES rooms(id), bed_id TEXT REFERENCES beds(id),
     planned_start INTEGER, planned_end INTEGER, procedure TEXT, surgeon TEXT, anesthetist TEXT,
     state TEXT NOT NULL CHECK (state IN ('scheduled','cancelled','in-progress','done')), case_id TEXT REFERENCES cases(id),
     created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
   CREATE INDEX his_schedule_patient ON his_schedule(patient_key, state);
   CREATE INDEX his_schedule_start ON his_schedule(planned_start);
   CREATE TABLE his_visits (patient_key TEXT PRIMARY KEY, external_ids TEXT NOT NULL DEFAULT '{}', location TEXT,
     state TEXT NOT NULL CHECK (state IN ('admitted','cancelled','discharged')), last_case_id TEXT, updated_at INTEGER NOT NULL);`,
  // outbound HL7 (ingest/src/hl7-out/, docs/hl7-out.md): the durable queue per endpoint (a row is committed before it is
  // sent; done rows are deleted), what each (endpoint, case, kind) has covered, and the last ACK per endpoint
  `CREATE TABLE hl7_out_queue (id INTEGER PRIMARY KEY AUTOINCREMENT, endpoint TEXT NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('pcd01','pcd04')), control_id TEXT NOT NULL UNIQUE, case_id TEXT,
     window_from INTEGER, window_to INTEGER, message TEXT NOT NULL, bytes INTEGER NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('queued','sent','dead')), attempts INTEGER NOT NULL DEFAULT 0,
     next_at INTEGER NOT NULL, created_at INTEGER NOT NULL, sent_at INTEGER, ack_code TEXT, reason TEXT, dead_at INTEGER);
   CREATE INDEX hl7_out_queue_head ON hl7_out_queue(endpoint, state, id);
   CREATE TABLE hl7_out_marks (endpoint TEXT NOT NULL, case_id TEXT NOT NULL, kind TEXT NOT NULL, covered_to INTEGER NOT NULL,
     PRIMARY KEY (endpoint, case_id, kind)) WITHOUT ROWID;
   CREATE TABLE hl7_out_endpoints (endpoint TEXT PRIMARY KEY, last_ack_at INTEGER, last_ack_code TEXT, acked INTEGER NOT NULL DEFAULT 0);`,
  // gateways configured from the registry (ingest/src/registry/config-publisher.ts, docs/mqtt.md "Config topic"): a device's
  // gateway-side settings (JSON, schemas/src/gateway-config-doc.ts; NULL = not run by its gateway) and, per gateway, the
  // version of the config document last issued with the digest of its device list
  `ALTER TABLE devices ADD COLUMN connection TEXT;
   CREATE TABLE gateway_config_versions (gateway_id TEXT PRIMARY KEY REFERENCES gateways(id), version INTEGER NOT NULL,
     digest TEXT NOT NULL, issued_at INTEGER NOT NULL);`,
];

/**
 * The database holds patient-linked data (cases, external ids): owner-only. A directory created
 * here is 0700; the file is created 0600 before SQLite opens it (SQLite gives -wal/-shm the mode
 * of the database file) and an existing one is tightened, modes set explicitly (umask untrusted).
 */
function privateDbFile(file: string): void {
  const dir = path.dirname(path.resolve(file));
  const first = mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (let d = dir; first !== undefined; d = path.dirname(d)) {
    chmodSync(d, 0o700);
    if (d === path.resolve(first) || path.dirname(d) === d) break;
  }
  try {
    closeSync(openSync(file, 'wx', 0o600));
    chmodSync(file, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      if (existsSync(f)) chmodSync(f, 0o600);
    } catch {
      /* not the owner: left as it is */
    }
  }
}

export function openDb(file: string): Db {
  if (file !== ':memory:' && file !== '') privateDbFile(file);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

export function migrate(db: Db): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null };
  let current = row.v ?? 0;
  for (let v = current + 1; v <= MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v - 1]);
      db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)').run(v, Date.now());
    })();
    current = v;
  }
  return current;
}
