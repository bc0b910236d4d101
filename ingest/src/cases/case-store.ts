/**
 * Cases: a time window bound to beds (no patient data here; external ids bind the patient later).
 * A case covers the data of its bed(s) over its bindings — including data recorded before the case
 * was created (late binding). Rules (wrong-patient guard): on one bed at most one case is open and
 * no two case windows overlap; a second case on a bed is accepted only with `replaces`, which closes
 * the first where the second starts; a case moves with its patient (`move`), its earlier data stays
 * bound to the earlier bed. Every change runs in one IMMEDIATE transaction (the write lock is taken
 * before the checks, so two writers — also two processes — cannot both pass them) and is audited
 * in that transaction; listeners hear of it after the commit.
 */
import { randomUUID } from 'node:crypto';
import { SYSTEM_ACTOR, type AuditActor, type AuditLog } from '../audit/audit-log.js';
import { IngestError } from '../errors.js';
import type { Db } from '../registry/database.js';
import { BindingTable, fmtWindow, type BedBinding, type CaseBinding } from './bindings.js';
import { queryCaseIds, type CaseFilter } from './case-query.js';

export type { CaseBinding } from './bindings.js';

export interface Case {
  id: string;
  /** the bed the case is bound to now (its last binding) */
  bedId: string;
  start: number;
  /** exclusive; null while open */
  end: number | null;
  status: 'open' | 'closed';
  externalIds: Record<string, string>;
  createdAt: number;
  /** consecutive, ordered: bindings[0].from = start, last.to = end */
  bindings: CaseBinding[];
}

export type CaseChange = 'open' | 'close' | 'move' | 'transfer' | 'correct';
/** Told after a committed change: the beds whose case binding changed. */
export interface BindingChange {
  change: CaseChange;
  caseId: string;
  beds: string[];
  at: number;
}
export type BindingListener = (e: BindingChange) => void;
/** What happens to the case open on the target bed: it is closed where the new binding starts. */
export interface Replaces {
  caseId: string;
  action: 'close';
}

interface CaseRow {
  id: string;
  bed_id: string;
  start: number;
  end: number | null;
  status: 'open' | 'closed';
  external_ids: string;
  created_at: number;
}

const bad = (msg: string) => new IngestError('ING_ERR_BAD_REQUEST', 'data', msg);
const conflict = (msg: string) => new IngestError('ING_ERR_CONFLICT', 'data', msg);
const iso = (t: number) => new Date(t).toISOString();
const plain = (b: CaseBinding): CaseBinding => ({ bed: b.bed, from: b.from, to: b.to });

export class CaseStore {
  /** listener exceptions (caught: a listener cannot undo a committed change) */
  readonly stats = { listenerErrors: 0 };
  private readonly bindings: BindingTable;
  private readonly listeners = new Set<BindingListener>();

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
    private readonly audit?: AuditLog,
  ) {
    this.bindings = new BindingTable(db);
  }

  onBindingChange(listener: BindingListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Opens a case (or records a closed one with `end`); `replaces` closes the bed's open case at `start`. */
  create(
    c: { bedId: string; start?: number; end?: number; externalIds?: Record<string, string>; replaces?: Replaces },
    actor: AuditActor = SYSTEM_ACTOR,
  ): Case {
    const at = this.now();
    const start = c.start ?? at;
    const end = c.end ?? null;
    const id = randomUUID();
    this.write(c.bedId, () => {
      this.mustBed(c.bedId);
      if (end !== null && end <= start) throw bad('case end must be after its start');
      const replaced = c.replaces ? this.endReplaced(c.replaces, c.bedId, start, id, actor) : undefined;
      this.bindings.assertFree(c.bedId, start, end);
      this.db
        .prepare('INSERT INTO cases (id, bed_id, start, end, status, external_ids, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(id, c.bedId, start, end, end === null ? 'open' : 'closed', JSON.stringify(c.externalIds ?? {}), at);
      this.bindings.insert(id, 0, c.bedId, start, end);
      this.record(actor, 'case.open', id, { bed: c.bedId, from: start, to: end, ...(replaced ? { replaces: replaced } : {}) });
    });
    this.emit({ change: c.replaces ? 'transfer' : 'open', caseId: id, beds: [c.bedId], at });
    return this.get(id) as Case;
  }

  get(id: string): Case | null {
    const r = this.db.prepare('SELECT * FROM cases WHERE id = ?').get(id) as CaseRow | undefined;
    if (!r) return null;
    return {
      id: r.id,
      bedId: r.bed_id,
      start: r.start,
      end: r.end,
      status: r.status,
      externalIds: JSON.parse(r.external_ids) as Record<string, string>,
      createdAt: r.created_at,
      bindings: this.bindings.ofCase(r.id).map(plain),
    };
  }

  close(id: string, end?: number, actor: AuditActor = SYSTEM_ACTOR): Case {
    const at = this.now();
    let bed = '';
    this.write(null, () => {
      const cur = this.openBinding(id);
      const e = end ?? at;
      if (e <= cur.from) throw bad(`case end must be after its start (bound to bed ${cur.bed} since ${iso(cur.from)})`);
      this.endCase(id, cur, e);
      this.record(actor, 'case.close', id, { bed: cur.bed, from: cur.from, to: e });
      bed = cur.bed;
    });
    this.emit({ change: 'close', caseId: id, beds: [bed], at });
    return this.get(id) as Case;
  }

  /** The case follows its patient to `bedId` from `at` (default now); earlier data stays with the earlier bed. */
  move(id: string, m: { bedId: string; at?: number; replaces?: Replaces }, actor: AuditActor = SYSTEM_ACTOR): Case {
    const now = this.now();
    let from = '';
    this.write(m.bedId, () => {
      const cur = this.openBinding(id, 'only an open case moves');
      this.mustBed(m.bedId);
      const t = m.at ?? now;
      if (cur.bed === m.bedId) throw bad(`case ${id} is already on bed ${m.bedId}`);
      if (t <= cur.from) throw bad(`the move must be after ${iso(cur.from)}, when case ${id} was bound to bed ${cur.bed}`);
      if (m.replaces?.caseId === id) throw bad('a case cannot replace itself');
      const before = this.bindings.ofCase(id).map(plain);
      const replaced = m.replaces ? this.endReplaced(m.replaces, m.bedId, t, id, actor) : undefined;
      this.bindings.assertFree(m.bedId, t, null, id);
      this.bindings.setWindow(id, cur.seq, cur.from, t);
      this.bindings.insert(id, cur.seq + 1, m.bedId, t, null);
      this.db.prepare('UPDATE cases SET bed_id = ? WHERE id = ?').run(m.bedId, id);
      this.record(actor, 'case.move', id, {
        bed: m.bedId,
        from: t,
        to: null,
        before,
        after: this.bindings.ofCase(id).map(plain),
        ...(replaced ? { replaces: replaced } : {}),
      });
      from = cur.bed;
    });
    this.emit({ change: 'move', caseId: id, beds: [from, m.bedId], at: now });
    return this.get(id) as Case;
  }

  /** Corrects the case window: the first binding starts at `start`, the last (closed) one ends at `end`. */
  correct(id: string, w: { start?: number; end?: number }, actor: AuditActor = SYSTEM_ACTOR): Case {
    const at = this.now();
    const beds = new Set<string>();
    this.write(null, () => {
      const c = this.get(id);
      if (!c) throw new IngestError('ING_ERR_NOT_FOUND', 'data', `case ${id} not found`);
      if (w.end !== undefined && c.status === 'open') throw conflict(`case ${id} is open: end it with POST /cases/${id}/close`);
      const start = w.start ?? c.start;
      const end = w.end ?? c.end;
      if (end !== null && end <= start) throw bad('case end must be after its start');
      const was = this.bindings.ofCase(id);
      const next: BedBinding[] = was.map((b, i) => ({ ...b, from: i === 0 ? start : b.from, to: i === was.length - 1 ? end : b.to }));
      const changed = next.filter((b, i) => b.from !== was[i].from || b.to !== was[i].to);
      if (!changed.length) return;
      for (const b of changed) {
        const old = was.find((o) => o.seq === b.seq) as BedBinding;
        if (b.to !== null && b.to <= b.from)
          throw bad(`the corrected window leaves no time on bed ${b.bed}, where the case is bound ${fmtWindow(old.from, old.to)}`);
        this.bindings.assertFree(b.bed, b.from, b.to, id);
      }
      for (const b of changed) {
        this.bindings.setWindow(id, b.seq, b.from, b.to);
        beds.add(b.bed);
      }
      this.db.prepare('UPDATE cases SET start = ?, end = ? WHERE id = ?').run(start, end, id);
      this.record(actor, 'case.correct', id, {
        bed: c.bedId,
        from: start,
        to: end,
        before: { start: c.start, end: c.end, bindings: was.map(plain) },
        after: { start, end, bindings: next.map(plain) },
      });
    });
    if (beds.size) this.emit({ change: 'correct', caseId: id, beds: [...beds], at });
    return this.get(id) as Case;
  }

  /** The case whose binding on `bedId` holds `t` (open bindings extend to the future). */
  coveringCase(bedId: string, t: number): Case | null {
    const b = this.bindings.at(bedId, t);
    return b ? this.get(b.caseId) : null;
  }

  caseIdAt(bedId: string, t: number): string | null {
    return this.bindings.at(bedId, t)?.caseId ?? null;
  }

  /** The binding on `bedId` holding `t`: case id and since when it is bound there. */
  bindingAt(bedId: string, t: number): { caseId: string; since: number; until: number | null } | null {
    const b = this.bindings.at(bedId, t);
    return b ? { caseId: b.caseId, since: b.from, until: b.to } : null;
  }

  /**
   * The case fields of a live message (MQTT vitals): the case bound to the bed at `now` and since
   * when, and each reading labelled with the case bound at the reading's own time.
   */
  vitalsCase<N extends { t: number }>(
    bedId: string,
    now: number,
    numerics: Record<string, N>,
  ): { caseId: string | null; caseSince: number | null; numerics: Record<string, N & { caseId: string | null }> } {
    const current = this.bindingAt(bedId, now);
    const labelled: Record<string, N & { caseId: string | null }> = {};
    // Nearly every reading falls inside the bed's current binding: ask the database only for older ones.
    for (const [k, n] of Object.entries(numerics)) {
      const caseId = current && n.t >= current.since && n.t <= now ? current.caseId : this.caseIdAt(bedId, n.t);
      labelled[k] = { ...n, caseId };
    }
    return { caseId: current?.caseId ?? null, caseSince: current?.since ?? null, numerics: labelled };
  }

  /** What the bed is bound to from now on: its open case and since when, else when its last case ended. */
  bedState(bedId: string): { caseId: string | null; since: number | null } {
    const open = this.bindings.openOn(bedId);
    return open ? { caseId: open.caseId, since: open.from } : { caseId: null, since: this.bindings.lastEnd(bedId) };
  }

  /** The open case whose externalIds carry `key` = `value` (the HIS feed finds a patient's case by MRN), newest first. */
  openCaseWithExternalId(key: string, value: string): Case | null {
    const r = this.db
      .prepare("SELECT id FROM cases WHERE status = 'open' AND json_extract(external_ids, '$.' || json_quote(?)) = ? ORDER BY start DESC LIMIT 1")
      .get(key, value) as { id: string } | undefined;
    return r ? this.get(r.id) : null;
  }

  /** Cases matching a filter (GET /cases), newest first, one page; rules in case-query.ts. */
  list(filter: CaseFilter): { cases: Case[]; nextCursor?: string } {
    const page = queryCaseIds(this.db, filter, this.now());
    return { cases: page.ids.map((id) => this.get(id) as Case), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
  }

  /** beds that ever had a case */
  boundBeds(): string[] {
    return this.bindings.beds();
  }

  /** cases with a binding on the bed, by first binding there */
  listForBed(bedId: string): Case[] {
    return this.bindings.caseIdsOn(bedId).map((id) => this.get(id) as Case);
  }

  private write(bed: string | null, fn: () => void): void {
    try {
      this.db.transaction(fn).immediate();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'SQLITE_CONSTRAINT_UNIQUE') {
        const open = bed ? this.bindings.openOn(bed) : null;
        throw new IngestError('ING_ERR_CONFLICT', 'data', `bed ${bed ?? '?'} already has an open case${open ? ` ${open.caseId}` : ''}`, { cause: err });
      }
      throw err;
    }
  }

  private mustBed(bedId: string): void {
    if (!this.db.prepare('SELECT id FROM beds WHERE id = ?').get(bedId)) throw new IngestError('ING_ERR_NOT_FOUND', 'data', `bed ${bedId} not found`);
  }

  private openBinding(id: string, closedHint?: string): BedBinding {
    const bs = this.bindings.ofCase(id);
    if (!bs.length) throw new IngestError('ING_ERR_NOT_FOUND', 'data', `case ${id} not found`);
    const cur = bs[bs.length - 1];
    if (cur.to !== null) throw conflict(`case ${id} already closed${closedHint ? `: ${closedHint}` : ''}`);
    return cur;
  }

  private endCase(id: string, cur: BedBinding, end: number): void {
    this.bindings.setWindow(id, cur.seq, cur.from, end);
    this.db.prepare("UPDATE cases SET end = ?, status = 'closed' WHERE id = ?").run(end, id);
  }

  /** closes the case open on `bed` at `at` for the case `by`; returns its id */
  private endReplaced(r: Replaces, bed: string, at: number, by: string, actor: AuditActor): string {
    if (!this.bindings.ofCase(r.caseId).length) throw new IngestError('ING_ERR_NOT_FOUND', 'data', `case ${r.caseId} (replaces) not found`);
    const cur = this.openBinding(r.caseId);
    if (cur.bed !== bed) throw conflict(`case ${r.caseId} is open on bed ${cur.bed}, not on bed ${bed}`);
    if (at <= cur.from) throw conflict(`case ${r.caseId} is bound to bed ${bed} since ${iso(cur.from)}: the replacement must start later`);
    this.endCase(r.caseId, cur, at);
    this.record(actor, 'case.transfer', r.caseId, { bed, from: cur.from, to: at, replacedBy: by });
    return r.caseId;
  }

  private record(actor: AuditActor, action: string, id: string, detail: Record<string, unknown>): void {
    this.audit?.record(actor, action, 'case', id, detail);
  }

  private emit(e: BindingChange): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        this.stats.listenerErrors++;
      }
    }
  }
}
