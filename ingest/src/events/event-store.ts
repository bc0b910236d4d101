/**
 * Case events: what the anesthesia record system reports about a case (in-room, induction, incision,
 * …, PACU in/out, PACU scores, free-text notes), each at its own time `t`. Rules:
 * - `t` lies in the case window: start ≤ t ≤ end (an open case: ≤ now + EVENT_CLOCK_SKEW_MS).
 * - `pacu-in` or `in-room` with a `bed` other than the case's current bed moves the case there at
 *   `t` (CaseStore.move, nested in the event's transaction: if the move is refused, nothing is stored
 *   and the move's error is the answer). The `t` and `bed` of such an event are fixed afterwards:
 *   they record a binding (correct the binding, not the event).
 * - Deleting is soft (`deleted_at`): the row stays for the audit trail, lists skip it unless asked.
 * - Every add, correction and delete is audited in its transaction (`event.add|correct|delete`,
 *   entity `case`, the case id) with before/after; `text` is stored and audited as sent, never logged.
 */
import { randomUUID } from 'node:crypto';
import { SYSTEM_ACTOR, type AuditActor, type AuditLog } from '../audit/audit-log.js';
import type { CaseStore } from '../cases/case-store.js';
import { IngestError } from '../errors.js';
import type { Db } from '../registry/database.js';
import { checkEventData, EVENT_KINDS, EVENT_TEXT_MAX, type EventData, type EventKind } from './event-kinds.js';

export { EVENT_KINDS, type EventData, type EventKind } from './event-kinds.js';

/** How far past now the event of an open case may lie (clocks of the record system and ingest differ). */
export const EVENT_CLOCK_SKEW_MS = 60_000;

export interface CaseEvent {
  id: string;
  caseId: string;
  kind: EventKind;
  t: number;
  text?: string;
  data?: EventData;
  /** the bed the event names (pacu-in, in-room): the case was moved there at t unless already on it */
  bed?: string;
  createdAt: number;
  createdBy: string;
  updatedAt?: number;
  updatedBy?: string;
  deletedAt?: number;
  deletedBy?: string;
}

export interface NewEvent {
  kind: EventKind;
  t: number;
  text?: string;
  data?: EventData;
  bed?: string;
}
export interface EventCorrection {
  t?: number;
  text?: string | null;
  data?: EventData | null;
}

interface Row {
  id: string;
  case_id: string;
  kind: EventKind;
  t: number;
  text: string | null;
  data: string | null;
  bed_id: string | null;
  created_at: number;
  created_by: string;
  updated_at: number | null;
  updated_by: string | null;
  deleted_at: number | null;
  deleted_by: string | null;
}

const bad = (msg: string) => new IngestError('ING_ERR_BAD_REQUEST', 'data', msg);
const conflict = (msg: string) => new IngestError('ING_ERR_CONFLICT', 'data', msg);
const notFound = (msg: string) => new IngestError('ING_ERR_NOT_FOUND', 'data', msg);
const iso = (t: number) => new Date(t).toISOString();

function toEvent(r: Row): CaseEvent {
  const e: CaseEvent = { id: r.id, caseId: r.case_id, kind: r.kind, t: r.t, createdAt: r.created_at, createdBy: r.created_by };
  if (r.text !== null) e.text = r.text;
  if (r.data !== null) e.data = JSON.parse(r.data) as EventData;
  if (r.bed_id !== null) e.bed = r.bed_id;
  if (r.updated_at !== null) {
    e.updatedAt = r.updated_at;
    e.updatedBy = r.updated_by ?? undefined;
  }
  if (r.deleted_at !== null) {
    e.deletedAt = r.deleted_at;
    e.deletedBy = r.deleted_by ?? undefined;
  }
  return e;
}

/** the audited state of an event: what it says, not who or when */
const state = (e: CaseEvent) => ({ kind: e.kind, t: e.t, text: e.text ?? null, data: e.data ?? null, bed: e.bed ?? null });

export class EventStore {
  constructor(
    private readonly db: Db,
    private readonly cases: CaseStore,
    private readonly audit?: AuditLog,
    private readonly now: () => number = Date.now,
  ) {}

  add(caseId: string, n: NewEvent, actor: AuditActor = SYSTEM_ACTOR): CaseEvent {
    if (!(EVENT_KINDS as readonly string[]).includes(n.kind)) throw bad(`unknown event kind ${n.kind}`);
    if (n.bed !== undefined && n.kind !== 'pacu-in' && n.kind !== 'in-room') throw bad(`only pacu-in and in-room events name a bed, not ${n.kind}`);
    const id = randomUUID();
    const at = this.now();
    this.db
      .transaction(() => {
        const c = this.cases.get(caseId);
        if (!c) throw notFound(`case ${caseId} not found`);
        this.checkTime(c, n.t, at);
        this.checkContent(n.kind, n.text, n.data);
        if (n.bed !== undefined && !this.db.prepare('SELECT id FROM beds WHERE id = ?').get(n.bed)) throw notFound(`bed ${n.bed} not found`);
        this.db
          .prepare('INSERT INTO case_events (id, case_id, kind, t, text, data, bed_id, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
          .run(id, caseId, n.kind, n.t, n.text ?? null, n.data === undefined ? null : JSON.stringify(n.data), n.bed ?? null, at, actor.id);
        // last: CaseStore.move runs as a savepoint of this transaction, and its listeners hear of it only if nothing after it can fail
        const moved = n.bed !== undefined && c.bedId !== n.bed;
        this.audit?.record(actor, 'event.add', 'case', caseId, {
          eventId: id,
          after: state(this.get(caseId, id) as CaseEvent),
          ...(moved ? { movedTo: n.bed } : {}),
        });
        if (moved) this.cases.move(caseId, { bedId: n.bed as string, at: n.t }, actor);
      })
      .immediate();
    return this.get(caseId, id) as CaseEvent;
  }

  get(caseId: string, eventId: string): CaseEvent | null {
    const r = this.db.prepare('SELECT * FROM case_events WHERE id = ? AND case_id = ?').get(eventId, caseId) as Row | undefined;
    return r ? toEvent(r) : null;
  }

  /** The case's events ordered by t (then by when they were added); deleted ones only with `includeDeleted`. */
  list(caseId: string, o: { from?: number; to?: number; includeDeleted?: boolean; limit?: number } = {}): CaseEvent[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM case_events WHERE case_id = ? AND t >= ? AND t <= ?${o.includeDeleted ? '' : ' AND deleted_at IS NULL'}
       ORDER BY t, created_at, id LIMIT ?`,
      )
      .all(caseId, o.from ?? 0, o.to ?? Number.MAX_SAFE_INTEGER, Math.min(o.limit ?? 10_000, 10_000)) as Row[];
    return rows.map(toEvent);
  }

  /** Corrects t, text or data (null removes text or data); kind and bed are fixed (delete and add instead). */
  correct(caseId: string, eventId: string, w: EventCorrection, actor: AuditActor = SYSTEM_ACTOR): CaseEvent {
    const at = this.now();
    this.db
      .transaction(() => {
        const e = this.mustLive(caseId, eventId);
        const t = w.t ?? e.t;
        const text = w.text === undefined ? e.text : (w.text ?? undefined);
        const data = w.data === undefined ? e.data : (w.data ?? undefined);
        if (t !== e.t) {
          if (e.bed !== undefined)
            throw conflict(`event ${eventId} bound the case to bed ${e.bed} at ${iso(e.t)}: its time is that binding's; correct the case instead`);
          this.checkTime(this.cases.get(caseId) as NonNullable<ReturnType<CaseStore['get']>>, t, at);
        }
        this.checkContent(e.kind, text, data);
        this.db
          .prepare('UPDATE case_events SET t = ?, text = ?, data = ?, updated_at = ?, updated_by = ? WHERE id = ?')
          .run(t, text ?? null, data === undefined ? null : JSON.stringify(data), at, actor.id, eventId);
        this.audit?.record(actor, 'event.correct', 'case', caseId, { eventId, before: state(e), after: state(this.get(caseId, eventId) as CaseEvent) });
      })
      .immediate();
    return this.get(caseId, eventId) as CaseEvent;
  }

  /** Soft delete: hidden from lists and timelines, kept (and audited) with who deleted it when. A move it caused stays. */
  delete(caseId: string, eventId: string, actor: AuditActor = SYSTEM_ACTOR): CaseEvent {
    const at = this.now();
    this.db
      .transaction(() => {
        const e = this.mustLive(caseId, eventId);
        this.db.prepare('UPDATE case_events SET deleted_at = ?, deleted_by = ? WHERE id = ?').run(at, actor.id, eventId);
        this.audit?.record(actor, 'event.delete', 'case', caseId, { eventId, before: state(e), after: null });
      })
      .immediate();
    return this.get(caseId, eventId) as CaseEvent;
  }

  private mustLive(caseId: string, eventId: string): CaseEvent {
    if (!this.cases.get(caseId)) throw notFound(`case ${caseId} not found`);
    const e = this.get(caseId, eventId);
    if (!e) throw notFound(`event ${eventId} of case ${caseId} not found`);
    if (e.deletedAt !== undefined) throw conflict(`event ${eventId} was deleted at ${iso(e.deletedAt)}`);
    return e;
  }

  private checkTime(c: { id: string; start: number; end: number | null }, t: number, now: number): void {
    const last = c.end ?? now + EVENT_CLOCK_SKEW_MS;
    if (t < c.start || t > last) {
      throw bad(`event time ${iso(t)} is outside case ${c.id} [${iso(c.start)}, ${c.end === null ? `open (now ${iso(now)})` : iso(c.end)}]`);
    }
  }

  private checkContent(kind: EventKind, text: string | undefined, data: EventData | undefined): void {
    if (text !== undefined && text.length > EVENT_TEXT_MAX) throw bad(`text longer than ${EVENT_TEXT_MAX} characters`);
    if (kind === 'note' && !text?.trim()) throw bad('a note needs text');
    const problem = checkEventData(kind, data);
    if (problem) throw bad(problem);
  }
}
