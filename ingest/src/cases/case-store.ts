/**
 * Cases: a time window on a bed (no patient data here). A case covers its bed's data from start
 * to end (or now) — including data recorded before the case was created (late binding).
 */
import { randomUUID } from 'node:crypto';
import { IngestError } from '../errors.js';
import type { Db } from '../registry/database.js';

export interface Case {
  id: string;
  bedId: string;
  start: number;
  end: number | null;
  status: 'open' | 'closed';
  externalIds: Record<string, string>;
  createdAt: number;
}

interface CaseRow { id: string; bed_id: string; start: number; end: number | null; status: 'open' | 'closed'; external_ids: string; created_at: number }

const toCase = (r: CaseRow): Case => ({
  id: r.id, bedId: r.bed_id, start: r.start, end: r.end, status: r.status,
  externalIds: JSON.parse(r.external_ids) as Record<string, string>, createdAt: r.created_at,
});

export class CaseStore {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  create(c: { bedId: string; start?: number; end?: number; externalIds?: Record<string, string> }): Case {
    const bed = this.db.prepare('SELECT id FROM beds WHERE id = ?').get(c.bedId);
    if (!bed) throw new IngestError('ING_ERR_NOT_FOUND', 'data', `bed ${c.bedId} not found`);
    const start = c.start ?? this.now();
    if (c.end !== undefined && c.end < start) throw new IngestError('ING_ERR_BAD_REQUEST', 'data', 'case end before start');
    const id = randomUUID();
    this.db.prepare('INSERT INTO cases (id, bed_id, start, end, status, external_ids, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(id, c.bedId, start, c.end ?? null, c.end !== undefined ? 'closed' : 'open', JSON.stringify(c.externalIds ?? {}), this.now());
    return this.get(id) as Case;
  }

  get(id: string): Case | null {
    const r = this.db.prepare('SELECT * FROM cases WHERE id = ?').get(id) as CaseRow | undefined;
    return r ? toCase(r) : null;
  }

  close(id: string, end?: number): Case {
    const c = this.get(id);
    if (!c) throw new IngestError('ING_ERR_NOT_FOUND', 'data', `case ${id} not found`);
    if (c.status === 'closed') throw new IngestError('ING_ERR_CONFLICT', 'data', `case ${id} already closed`);
    const e = end ?? this.now();
    if (e < c.start) throw new IngestError('ING_ERR_BAD_REQUEST', 'data', 'case end before start');
    this.db.prepare("UPDATE cases SET end = ?, status = 'closed' WHERE id = ?").run(e, id);
    return this.get(id) as Case;
  }

  /** The newest case on `bedId` whose window covers `t` (open cases extend to now). */
  coveringCase(bedId: string, t: number): Case | null {
    const r = this.db.prepare(
      'SELECT * FROM cases WHERE bed_id = ? AND start <= ? AND (end IS NULL OR end >= ?) ORDER BY start DESC LIMIT 1',
    ).get(bedId, t, t) as CaseRow | undefined;
    return r ? toCase(r) : null;
  }

  listForBed(bedId: string): Case[] {
    return (this.db.prepare('SELECT * FROM cases WHERE bed_id = ? ORDER BY start').all(bedId) as CaseRow[]).map(toCase);
  }
}
