/**
 * The HIS tables (migration "cases from the HIS" in registry/database.ts): the surgery schedule
 * (SIU), the visits (ADT) and every received message. Statements only; the feed (his-feed.ts)
 * runs them inside its transaction and audits. Patient identifiers (`externalIds`, `patient_key`)
 * stay in this database; the message listing returns the raw text only when asked to.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../registry/database.js';

export type ScheduleState = 'scheduled' | 'cancelled' | 'in-progress' | 'done';
export const SCHEDULE_STATES: readonly ScheduleState[] = ['scheduled', 'cancelled', 'in-progress', 'done'];

export interface ScheduledCase {
  id: string;
  /** the HIS appointment id (SCH-2, else SCH-1) */
  appointment: string;
  externalIds: Record<string, string>;
  siteId: string | null;
  roomId: string | null;
  /** the bed the schedule's location maps to (the case opens where the patient actually arrives) */
  bedId: string | null;
  plannedStart: number | null;
  plannedEnd: number | null;
  procedure: string | null;
  surgeon: string | null;
  anesthetist: string | null;
  state: ScheduleState;
  caseId: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface ScheduleFields {
  externalIds: Record<string, string>;
  patientKey: string;
  siteId: string | null;
  roomId: string | null;
  bedId: string | null;
  plannedStart: number | null;
  plannedEnd: number | null;
  procedure: string | null;
  surgeon: string | null;
  anesthetist: string | null;
}

interface Row {
  id: string;
  appointment: string;
  external_ids: string;
  patient_key: string;
  site_id: string | null;
  room_id: string | null;
  bed_id: string | null;
  planned_start: number | null;
  planned_end: number | null;
  procedure: string | null;
  surgeon: string | null;
  anesthetist: string | null;
  state: ScheduleState;
  case_id: string | null;
  created_at: number;
  updated_at: number;
}

const toEntry = (r: Row): ScheduledCase => ({
  id: r.id,
  appointment: r.appointment,
  externalIds: JSON.parse(r.external_ids) as Record<string, string>,
  siteId: r.site_id,
  roomId: r.room_id,
  bedId: r.bed_id,
  plannedStart: r.planned_start,
  plannedEnd: r.planned_end,
  procedure: r.procedure,
  surgeon: r.surgeon,
  anesthetist: r.anesthetist,
  state: r.state,
  caseId: r.case_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export type MessageStatus = 'applied' | 'rejected';
export interface HisMessage {
  id: number;
  receivedAt: number;
  peer: string | null;
  sender: string | null;
  controlId: string | null;
  type: string | null;
  status: MessageStatus;
  ackCode: string;
  reason: string | null;
  raw?: string;
}

export interface ScheduleQuery {
  site?: string;
  room?: string;
  from?: number;
  to?: number;
  state?: ScheduleState;
  limit?: number;
}

/** how far from a scheduled start an arrival still picks that scheduled case */
export const ARRIVAL_WINDOW_MS = 24 * 3_600_000;

export class ScheduleStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  get(id: string): ScheduledCase | null {
    const r = this.db.prepare('SELECT * FROM his_schedule WHERE id = ?').get(id) as Row | undefined;
    return r ? toEntry(r) : null;
  }

  byAppointment(appointment: string): ScheduledCase | null {
    const r = this.db.prepare('SELECT * FROM his_schedule WHERE appointment = ?').get(appointment) as Row | undefined;
    return r ? toEntry(r) : null;
  }

  byCase(caseId: string): ScheduledCase | null {
    const r = this.db.prepare('SELECT * FROM his_schedule WHERE case_id = ?').get(caseId) as Row | undefined;
    return r ? toEntry(r) : null;
  }

  /** The patient's scheduled (unbound) case whose planned start is nearest `at`, within ARRIVAL_WINDOW_MS. */
  pendingFor(patientKey: string, at: number): ScheduledCase | null {
    const r = this.db
      .prepare(
        `SELECT * FROM his_schedule WHERE patient_key = ? AND state = 'scheduled'
      AND (planned_start IS NULL OR ABS(planned_start - ?) <= ?) ORDER BY planned_start IS NULL, ABS(planned_start - ?) LIMIT 1`,
      )
      .get(patientKey, at, ARRIVAL_WINDOW_MS, at) as Row | undefined;
    return r ? toEntry(r) : null;
  }

  insert(appointment: string, f: ScheduleFields): ScheduledCase {
    const id = randomUUID();
    const at = this.now();
    this.db
      .prepare(
        `INSERT INTO his_schedule (id, appointment, external_ids, patient_key, site_id, room_id, bed_id, planned_start, planned_end,
      procedure, surgeon, anesthetist, state, case_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'scheduled', NULL, ?, ?)`,
      )
      .run(
        id,
        appointment,
        JSON.stringify(f.externalIds),
        f.patientKey,
        f.siteId,
        f.roomId,
        f.bedId,
        f.plannedStart,
        f.plannedEnd,
        f.procedure,
        f.surgeon,
        f.anesthetist,
        at,
        at,
      );
    return this.get(id) as ScheduledCase;
  }

  /** Overwrites the given fields (undefined = keep). */
  update(id: string, f: Partial<ScheduleFields>): ScheduledCase {
    const cols: Record<keyof ScheduleFields, string> = {
      externalIds: 'external_ids',
      patientKey: 'patient_key',
      siteId: 'site_id',
      roomId: 'room_id',
      bedId: 'bed_id',
      plannedStart: 'planned_start',
      plannedEnd: 'planned_end',
      procedure: 'procedure',
      surgeon: 'surgeon',
      anesthetist: 'anesthetist',
    };
    const sets: string[] = [];
    const args: (string | number | null)[] = [];
    for (const [k, col] of Object.entries(cols) as [keyof ScheduleFields, string][]) {
      const v = f[k];
      if (v === undefined) continue;
      sets.push(`${col} = ?`);
      args.push(k === 'externalIds' ? JSON.stringify(v) : (v as string | number | null));
    }
    this.db.prepare(`UPDATE his_schedule SET ${[...sets, 'updated_at = ?'].join(', ')} WHERE id = ?`).run(...args, this.now(), id);
    return this.get(id) as ScheduledCase;
  }

  setState(id: string, state: ScheduleState, caseId?: string): ScheduledCase {
    if (caseId !== undefined) this.db.prepare('UPDATE his_schedule SET state = ?, case_id = ?, updated_at = ? WHERE id = ?').run(state, caseId, this.now(), id);
    else this.db.prepare('UPDATE his_schedule SET state = ?, updated_at = ? WHERE id = ?').run(state, this.now(), id);
    return this.get(id) as ScheduledCase;
  }

  /** unbound scheduled cases of a patient: new identifiers from ADT A08 */
  pendingOfPatient(patientKey: string): ScheduledCase[] {
    return (this.db.prepare("SELECT * FROM his_schedule WHERE patient_key = ? AND state = 'scheduled'").all(patientKey) as Row[]).map(toEntry);
  }

  /** By planned start (unplanned last). */
  list(q: ScheduleQuery = {}): ScheduledCase[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.site) {
      where.push('site_id = ?');
      args.push(q.site);
    }
    if (q.room) {
      where.push('room_id = ?');
      args.push(q.room);
    }
    if (q.state) {
      where.push('state = ?');
      args.push(q.state);
    }
    if (q.from !== undefined) {
      where.push('planned_start >= ?');
      args.push(q.from);
    }
    if (q.to !== undefined) {
      where.push('planned_start < ?');
      args.push(q.to);
    }
    const sql = `SELECT * FROM his_schedule${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
      ORDER BY planned_start IS NULL, planned_start, appointment LIMIT ?`;
    return (this.db.prepare(sql).all(...args, Math.min(q.limit ?? 500, 2000)) as Row[]).map(toEntry);
  }

  // visits (ADT)

  visit(patientKey: string): { externalIds: Record<string, string>; location: string | null; state: string; lastCaseId: string | null } | null {
    const r = this.db.prepare('SELECT * FROM his_visits WHERE patient_key = ?').get(patientKey) as
      { external_ids: string; location: string | null; state: string; last_case_id: string | null } | undefined;
    return r ? { externalIds: JSON.parse(r.external_ids) as Record<string, string>, location: r.location, state: r.state, lastCaseId: r.last_case_id } : null;
  }

  upsertVisit(
    patientKey: string,
    v: { externalIds?: Record<string, string>; location?: string | null; state?: 'admitted' | 'cancelled' | 'discharged'; lastCaseId?: string | null },
  ): void {
    const cur = this.visit(patientKey);
    const ids = { ...(cur?.externalIds ?? {}), ...(v.externalIds ?? {}) };
    this.db
      .prepare(
        `INSERT INTO his_visits (patient_key, external_ids, location, state, last_case_id, updated_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT(patient_key) DO UPDATE SET external_ids = excluded.external_ids, location = excluded.location, state = excluded.state,
      last_case_id = excluded.last_case_id, updated_at = excluded.updated_at`,
      )
      .run(
        patientKey,
        JSON.stringify(ids),
        v.location !== undefined ? v.location : (cur?.location ?? null),
        v.state ?? cur?.state ?? 'admitted',
        v.lastCaseId !== undefined ? v.lastCaseId : (cur?.lastCaseId ?? null),
        this.now(),
      );
  }

  // messages

  recordMessage(m: Omit<HisMessage, 'id' | 'raw'> & { raw: Uint8Array }): number {
    const r = this.db
      .prepare(
        `INSERT INTO his_messages (received_at, peer, sender, control_id, type, status, ack_code, reason, raw)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(m.receivedAt, m.peer, m.sender, m.controlId, m.type, m.status, m.ackCode, m.reason, Buffer.from(m.raw));
    return Number(r.lastInsertRowid);
  }

  /** An earlier message of the same sender and control id that was applied (a resend after a lost ACK). */
  appliedBefore(sender: string, controlId: string): boolean {
    return !!this.db.prepare("SELECT 1 FROM his_messages WHERE sender = ? AND control_id = ? AND status = 'applied' LIMIT 1").get(sender, controlId);
  }

  /** Newest first; `withRaw` adds the message text (it holds patient data). */
  messages(q: { status?: MessageStatus; limit?: number; withRaw?: boolean } = {}): HisMessage[] {
    const rows = this.db
      .prepare(`SELECT * FROM his_messages${q.status ? ' WHERE status = ?' : ''} ORDER BY id DESC LIMIT ?`)
      .all(...(q.status ? [q.status] : []), Math.min(q.limit ?? 200, 1000)) as {
      id: number;
      received_at: number;
      peer: string | null;
      sender: string | null;
      control_id: string | null;
      type: string | null;
      status: MessageStatus;
      ack_code: string;
      reason: string | null;
      raw: Buffer;
    }[];
    return rows.map((r) => ({
      id: r.id,
      receivedAt: r.received_at,
      peer: r.peer,
      sender: r.sender,
      controlId: r.control_id,
      type: r.type,
      status: r.status,
      ackCode: r.ack_code,
      reason: r.reason,
      ...(q.withRaw ? { raw: r.raw.toString('utf8') } : {}),
    }));
  }

  countMessages(status: MessageStatus): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM his_messages WHERE status = ?').get(status) as { n: number }).n;
  }
}
