/**
 * The audit log: who changed what in the registry and the case store, and when. Append-only (no
 * update or delete statement exists for it); each entry names the actor, the action, the entity
 * and a JSON detail (before/after where there is one). Patient identifiers never go into `detail`:
 * callers pass the case id, not its external ids.
 */
import type { Db } from '../registry/database.js';

/**
 * Who did it: a REST request's API token (`token:<id>:<name>` with the token's role and the client
 * address), `cli:<user>` for `orlink admin`, or the system.
 */
export interface AuditActor {
  id: string;
  role?: string;
  ip?: string;
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  role: string | null;
  ip: string | null;
  action: string;
  entity: string;
  entityId: string;
  detail: Record<string, unknown>;
}

export interface AuditQuery {
  entity?: string;
  entityId?: string;
  action?: string;
  since?: number;
  limit?: number;
}

interface Row {
  id: number;
  at: number;
  actor: string;
  role: string | null;
  ip: string | null;
  action: string;
  entity: string;
  entity_id: string;
  detail: string;
}

const toEntry = (r: Row): AuditEntry => ({
  id: r.id,
  at: r.at,
  actor: r.actor,
  role: r.role,
  ip: r.ip,
  action: r.action,
  entity: r.entity,
  entityId: r.entity_id,
  detail: JSON.parse(r.detail) as Record<string, unknown>,
});

/** The system itself (MQTT intake, migrations, HIS feed) when no person is behind a change. */
export const SYSTEM_ACTOR: AuditActor = { id: 'system' };

export class AuditLog {
  private readonly insertStmt;
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    this.insertStmt = db.prepare('INSERT INTO audit_log (at, actor, role, ip, action, entity, entity_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  }

  record(actor: AuditActor, action: string, entity: string, entityId: string, detail: Record<string, unknown> = {}): AuditEntry {
    const at = this.now();
    const r = this.insertStmt.run(at, actor.id, actor.role ?? null, actor.ip ?? null, action, entity, entityId, JSON.stringify(detail));
    return { id: Number(r.lastInsertRowid), at, actor: actor.id, role: actor.role ?? null, ip: actor.ip ?? null, action, entity, entityId, detail };
  }

  /** Newest first. */
  list(q: AuditQuery = {}): AuditEntry[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.entity) {
      where.push('entity = ?');
      args.push(q.entity);
    }
    if (q.entityId) {
      where.push('entity_id = ?');
      args.push(q.entityId);
    }
    if (q.action) {
      where.push('action = ?');
      args.push(q.action);
    }
    if (q.since !== undefined) {
      where.push('at >= ?');
      args.push(q.since);
    }
    const sql = `SELECT * FROM audit_log${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, Math.min(q.limit ?? 200, 1000)) as Row[]).map(toEntry);
  }
}
