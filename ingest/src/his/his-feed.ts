/**
 * Applies HIS messages (his-message.ts) to the schedule and the case store, and decides the ACK.
 * - SIU^S12 new / S13 reschedule / S14 modify / S15 cancel: the scheduled case (his_schedule).
 * - ADT^A01/A04/A08: the visit (identifiers, location); A08 also refreshes the identifiers of the
 *   patient's scheduled (not yet bound) cases.
 * - ADT^A02 to a mapped bed: the patient's open case moves there at the event time (OR → PACU), or,
 *   without one, a case opens there at the event time, bound to the patient's scheduled case
 *   (late binding: the bed's data from that time on is the case's, also what arrived before the
 *   message). A02 repeating the patient's last location with another time corrects the case start.
 *   A02 to a location outside the map's units closes the open case (the patient left the monitored area).
 * - ADT^A03: the open case closes at the discharge time. A11 marks the visit cancelled (A01 opens no
 *   case, so nothing else to undo); A13 re-admits the visit but never reopens a case: if A03 closed
 *   one it is answered AE and kept for review.
 * Everything a message changes, and the message itself, is written in one transaction before its
 * ACK is built; a message that is not applied is stored too (status rejected, with the reason).
 * Case changes are audited by the case store under the actor `his:<MSH-3^MSH-4>`; schedule changes
 * here. Logs carry the control id, type and outcome only — never a PID field.
 */
import type { Logger } from 'pino';
import type { IngestConfig } from '../../../schemas/src/ingest-config.js';
import type { AuditActor, AuditLog } from '../audit/audit-log.js';
import type { Case, CaseStore } from '../cases/case-store.js';
import { IngestError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { Db } from '../registry/database.js';
import type { Bed, RegistryStore } from '../registry/registry-store.js';
import { buildHisAck, type HisAckCode } from './his-ack.js';
import { fmtLocation, headerOf, HisReject, parseText, toEvent, type Header, type HisEvent, type Location, type Patient } from './his-message.js';
import { ScheduleStore, type MessageStatus, type ScheduledCase, type ScheduleFields } from './schedule-store.js';
import { Hl7ParseError, type Hl7Message } from '../../../gateway/src/protocols/hl7-mllp/hl7.js';

export type HisConfig = IngestConfig['his'];

export type Resolved = { kind: 'bed'; bed: Bed } | { kind: 'outside' } | { kind: 'unknown' };

export interface HandleResult {
  ack: string;
  code: HisAckCode;
  status: MessageStatus;
  reason: string | null;
  note: string;
  messageId: number;
  header: Header;
}

export interface HisFeedOptions {
  db: Db;
  cases: CaseStore;
  registry: RegistryStore;
  audit: AuditLog;
  config: HisConfig;
  metrics?: Metrics;
  logger?: Logger;
  now?: () => number;
}

const COUNTER = { AA: 'his_messages_applied_total', AE: 'his_messages_error_total', AR: 'his_messages_rejected_total' } as const;

export class HisFeed {
  readonly schedule: ScheduleStore;
  private readonly now: () => number;
  private ackSeq = 0;

  constructor(private readonly o: HisFeedOptions) {
    this.now = o.now ?? Date.now;
    this.schedule = new ScheduleStore(o.db, this.now);
  }

  /** One MLLP payload → its ACK; the message is stored (applied or rejected) before this returns. */
  handle(raw: Uint8Array, peer: string | null): HandleResult {
    const receivedAt = this.now();
    let msg: Hl7Message | undefined;
    let header: Header = { controlId: '', sender: '', type: '', version: '' };
    let code: HisAckCode = 'AA';
    let reason: string | null = null;
    let note = '';
    let fail: HisReject | null = null;
    let messageId = 0;
    try {
      msg = parseText(raw);
      header = headerOf(msg);
    } catch (err) {
      // the kind only: a parser message may quote a fragment of the text (patient data in a broken segment)
      fail = new HisReject('AR', '100', `unparseable HL7 (${err instanceof Hl7ParseError ? err.kind : 'error'})`);
    }
    if (msg && !fail) {
      try {
        if (header.controlId && this.schedule.appliedBefore(header.sender, header.controlId)) {
          note = 'duplicate of an applied message: not applied again';
          messageId = this.store(receivedAt, peer, header, 'applied', 'AA', note, raw);
        } else {
          const event = toEvent(msg, this.o.config.timeZone);
          const actor: AuditActor = { id: `his:${header.sender || 'unknown'}` };
          this.o.db
            .transaction(() => {
              note = this.apply(event, actor);
              messageId = this.store(receivedAt, peer, header, 'applied', 'AA', null, raw);
            })
            .immediate();
        }
      } catch (err) {
        fail = asReject(err);
      }
    }
    if (fail) {
      code = fail.ack;
      reason = fail.message;
      messageId = this.store(receivedAt, peer, header, 'rejected', code, reason, raw);
    }
    this.o.metrics?.inc(COUNTER[code]);
    const ack = buildHisAck(msg, code, {
      nowMs: this.now(),
      controlId: `ORL${receivedAt.toString(36)}${(++this.ackSeq % 1296).toString(36)}`.toUpperCase().slice(0, 20),
      ...(fail ? { text: fail.message, errCode: fail.errCode, location: fail.location } : {}),
    });
    // control id, type and outcome only: never PID fields
    this.o.logger?.[code === 'AA' ? 'info' : 'warn'](
      { controlId: header.controlId, type: header.type, ack: code, messageId, ...(reason ? { reason } : {}) },
      'HIS message',
    );
    return { ack, code, status: fail ? 'rejected' : 'applied', reason, note, messageId, header };
  }

  /**
   * Where a PL points: an entry of `locationMap` (`poc^room^bed`, then `poc^room`), else with
   * `matchRegistryNames` a registry room named like PL.2 with a bed named like PL.3 (or its only
   * bed). A point of care that appears in the map but with no entry for this room/bed is
   * `unknown`; any other point of care is `outside` the monitored area.
   */
  resolve(loc: Location): Resolved {
    const map = this.o.config.locationMap;
    const keys = [fmtLocation(loc), `${loc.poc}^${loc.room}^${loc.bed}`, `${loc.poc}^${loc.room}`];
    for (const k of keys) {
      const id = map[k];
      if (!id) continue;
      const bed = this.o.registry.getBed(id);
      return bed ? { kind: 'bed', bed } : { kind: 'unknown' };
    }
    if (this.o.config.matchRegistryNames && loc.room) {
      const eq = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();
      const rooms = this.o.registry.listRooms().filter((r) => eq(r.name, loc.room) || eq(r.id, loc.room));
      if (rooms.length === 1) {
        const beds = this.o.registry.listBeds(rooms[0].id);
        const bed = loc.bed ? beds.find((b) => eq(b.name, loc.bed) || eq(b.id, loc.bed)) : beds.length === 1 ? beds[0] : undefined;
        return bed ? { kind: 'bed', bed } : { kind: 'unknown' };
      }
      if (rooms.length > 1) return { kind: 'unknown' };
    }
    const units = new Set(Object.keys(map).map((k) => k.split('^')[0]));
    return units.has(loc.poc) ? { kind: 'unknown' } : { kind: 'outside' };
  }

  /**
   * The `in-room` of a scheduled case from the record system (POST /schedule/:id/arrive): the
   * patient's open case moves to `bedId` (or a case opens there) at `at`, bound to the schedule.
   */
  arrive(scheduleId: string, bedId: string, at: number, actor: AuditActor): { schedule: ScheduledCase; case: Case } {
    let out: { schedule: ScheduledCase; case: Case } | undefined;
    this.o.db
      .transaction(() => {
        const s = this.schedule.get(scheduleId);
        if (!s) throw new IngestError('ING_ERR_NOT_FOUND', 'data', `scheduled case ${scheduleId} not found`);
        if (s.state !== 'scheduled')
          throw new IngestError('ING_ERR_CONFLICT', 'data', `scheduled case ${scheduleId} is ${s.state}${s.caseId ? ` (case ${s.caseId})` : ''}`);
        let c: Case;
        try {
          c = this.bindArrival(patientOf(s), s, bedId, at, actor);
        } catch (err) {
          if (err instanceof HisReject) throw new IngestError('ING_ERR_CONFLICT', 'data', err.message);
          throw err;
        }
        out = { schedule: this.schedule.get(scheduleId) as ScheduledCase, case: c };
      })
      .immediate();
    return out as { schedule: ScheduledCase; case: Case };
  }

  private store(at: number, peer: string | null, h: Header, status: MessageStatus, ack: HisAckCode, reason: string | null, raw: Uint8Array): number {
    return this.schedule.recordMessage({
      receivedAt: at,
      peer,
      sender: h.sender || null,
      controlId: h.controlId || null,
      type: h.type || null,
      status,
      ackCode: ack,
      reason,
      raw,
    });
  }

  private apply(e: HisEvent, actor: AuditActor): string {
    if (e.kind === 'siu') return this.applySchedule(e, actor);
    const p = e.patient;
    switch (e.trigger) {
      case 'A01':
      case 'A04':
      case 'A08': {
        this.schedule.upsertVisit(p.key, {
          externalIds: p.ids,
          location: e.location ? fmtLocation(e.location) : undefined,
          ...(e.trigger === 'A08' ? {} : { state: 'admitted' }),
        });
        if (e.trigger === 'A08')
          for (const s of this.schedule.pendingOfPatient(p.key)) this.schedule.update(s.id, { externalIds: { ...s.externalIds, ...p.ids } });
        return 'visit updated';
      }
      case 'A11': {
        this.schedule.upsertVisit(p.key, { state: 'cancelled' });
        return 'visit cancelled';
      }
      case 'A13': {
        const v = this.schedule.visit(p.key);
        const closed = v?.lastCaseId ? this.o.cases.get(v.lastCaseId) : null;
        if (closed && closed.status === 'closed' && v?.state === 'discharged') {
          throw new HisReject(
            'AE',
            '207',
            `cancel discharge: the discharge closed case ${closed.id}; it is not reopened automatically (review: correct or open a case in the record system)`,
          );
        }
        this.schedule.upsertVisit(p.key, { state: 'admitted' });
        return 'visit re-admitted';
      }
      case 'A03': {
        const open = this.o.cases.openCaseWithExternalId(p.keyName, p.key);
        if (open) this.closeCase(open, e.at, actor);
        this.schedule.upsertVisit(p.key, { state: 'discharged', ...(open ? { lastCaseId: open.id } : {}) });
        return open ? `case ${open.id} closed` : 'no open case';
      }
      case 'A02': {
        if (!e.location) throw new HisReject('AE', '101', 'PV1-3 (assigned patient location) is empty', 'PV1^1^3');
        const where = this.resolve(e.location);
        if (where.kind === 'unknown') throw new HisReject('AE', '204', `unknown location ${fmtLocation(e.location)}: not in his.locationMap`, 'PV1^1^3');
        // the same location as the patient's last one: a corrected transfer time (another HIS bed mapped to
        // the same registry bed is not a correction: it would move the case start)
        const repeat = this.schedule.visit(p.key)?.location === fmtLocation(e.location);
        this.schedule.upsertVisit(p.key, { externalIds: p.ids, location: fmtLocation(e.location) });
        if (where.kind === 'outside') {
          const open = this.o.cases.openCaseWithExternalId(p.keyName, p.key);
          if (!open) return 'transfer outside the monitored area';
          this.closeCase(open, e.at, actor);
          this.schedule.upsertVisit(p.key, { lastCaseId: open.id });
          return `case ${open.id} closed: transfer outside the monitored area`;
        }
        const c = this.bindArrival(p, null, where.bed.id, e.at, actor, repeat);
        return `case ${c.id} on bed ${c.bedId}`;
      }
    }
  }

  /** the patient arrives on `bedId` at `at`: move their open case there, correct its start, or open one bound to the schedule */
  private bindArrival(p: Patient, scheduled: ScheduledCase | null, bedId: string, at: number, actor: AuditActor, correct = true): Case {
    const open = this.o.cases.openCaseWithExternalId(p.keyName, p.key);
    const boundTo = open ? this.schedule.byCase(open.id) : null;
    // checked before any change: the case store announces a change to its listeners when it is made
    if (scheduled && boundTo && boundTo.id !== scheduled.id) {
      throw new IngestError('ING_ERR_CONFLICT', 'data', `the patient's open case ${open?.id} is bound to another scheduled case`);
    }
    let c: Case;
    if (open && open.bedId === bedId) {
      c = open;
      if (open.start !== at && correct) {
        if (open.bindings.length !== 1)
          throw new HisReject(
            'AE',
            '207',
            `case ${open.id} is already on bed ${bedId} since ${new Date(open.bindings[open.bindings.length - 1].from).toISOString()} after a move: a corrected time is not applied automatically`,
          );
        c = this.o.cases.correct(open.id, { start: at }, actor);
      }
    } else if (open) {
      c = this.o.cases.move(open.id, { bedId, at }, actor);
    } else {
      const s = scheduled ?? this.schedule.pendingFor(p.key, at);
      c = this.o.cases.create({ bedId, start: at, externalIds: { ...(s?.externalIds ?? {}), ...p.ids, ...(s ? { appointment: s.appointment } : {}) } }, actor);
      if (s) {
        this.schedule.setState(s.id, 'in-progress', c.id);
        this.o.audit.record(actor, 'schedule.arrive', 'schedule', s.id, { caseId: c.id, bed: bedId, at });
      }
      return c;
    }
    // an open case that is not bound to a schedule yet picks the explicit one (or the patient's pending one)
    if (!boundTo) {
      const s = scheduled ?? this.schedule.pendingFor(p.key, at);
      if (s) {
        this.schedule.setState(s.id, 'in-progress', c.id);
        this.o.audit.record(actor, 'schedule.arrive', 'schedule', s.id, { caseId: c.id, bed: bedId, at });
      }
    }
    return c;
  }

  private closeCase(open: Case, at: number, actor: AuditActor): void {
    this.o.cases.close(open.id, at, actor);
    const s = this.schedule.byCase(open.id);
    if (s && s.state === 'in-progress') {
      this.schedule.setState(s.id, 'done');
      this.o.audit.record(actor, 'schedule.done', 'schedule', s.id, { caseId: open.id, at });
    }
  }

  private applySchedule(e: Extract<HisEvent, { kind: 'siu' }>, actor: AuditActor): string {
    const existing = this.schedule.byAppointment(e.appointment);
    if (e.trigger === 'S15') {
      if (!existing) throw new HisReject('AE', '204', `unknown appointment ${e.appointment}`, 'SCH^1^2');
      if (existing.state === 'cancelled') return 'already cancelled';
      if (existing.state !== 'scheduled')
        throw new HisReject(
          'AE',
          '207',
          `appointment ${e.appointment} is ${existing.state} (case ${existing.caseId}): close or correct the case instead`,
          'SCH^1^2',
        );
      this.schedule.setState(existing.id, 'cancelled');
      this.o.audit.record(actor, 'schedule.cancel', 'schedule', existing.id, { appointment: e.appointment });
      return 'cancelled';
    }
    let place: Pick<ScheduleFields, 'siteId' | 'roomId' | 'bedId'> | undefined;
    if (e.location) {
      const where = this.resolve(e.location);
      if (where.kind !== 'bed') throw new HisReject('AE', '204', `unknown location ${fmtLocation(e.location)}: not in his.locationMap`, 'AIL^1^3');
      place = { siteId: where.bed.siteId, roomId: where.bed.roomId, bedId: where.bed.id };
    }
    const fields: Partial<ScheduleFields> = {
      externalIds: { ...(existing?.externalIds ?? {}), ...e.patient.ids },
      patientKey: e.patient.key,
      ...(place ?? {}),
      ...(e.start !== null ? { plannedStart: e.start } : {}),
      ...(e.end !== null ? { plannedEnd: e.end } : {}),
      ...(e.procedure !== null ? { procedure: e.procedure } : {}),
      ...(e.surgeon !== null ? { surgeon: e.surgeon } : {}),
      ...(e.anesthetist !== null ? { anesthetist: e.anesthetist } : {}),
    };
    const detail = (s: ScheduledCase) => ({
      appointment: s.appointment,
      room: s.roomId,
      bed: s.bedId,
      plannedStart: s.plannedStart,
      plannedEnd: s.plannedEnd,
      state: s.state,
    });
    if (!existing) {
      if (e.trigger !== 'S12') throw new HisReject('AE', '204', `unknown appointment ${e.appointment}`, 'SCH^1^2');
      if (!place) throw new HisReject('AE', '101', 'no location (AIL-3 or PV1-3)', 'AIL^1^3');
      const s = this.schedule.insert(e.appointment, {
        externalIds: e.patient.ids,
        patientKey: e.patient.key,
        ...place,
        plannedStart: e.start,
        plannedEnd: e.end,
        procedure: e.procedure,
        surgeon: e.surgeon,
        anesthetist: e.anesthetist,
      });
      this.o.audit.record(actor, 'schedule.create', 'schedule', s.id, detail(s));
      return 'scheduled';
    }
    if (existing.state === 'cancelled') throw new HisReject('AE', '207', `appointment ${e.appointment} is cancelled`, 'SCH^1^2');
    if (patientOf(existing).key !== e.patient.key) throw new HisReject('AE', '207', `appointment ${e.appointment} belongs to another patient`, 'PID^1^3');
    const s = this.schedule.update(existing.id, fields);
    this.o.audit.record(actor, 'schedule.update', 'schedule', s.id, { before: detail(existing), after: detail(s), trigger: e.trigger });
    return 'schedule updated';
  }
}

/** the patient of a scheduled case, from its identifiers (the same rule as PID-3: the MRN, else the first id) */
function patientOf(s: ScheduledCase): Patient {
  const ids = s.externalIds;
  const keyName = ids.mrn ? 'mrn' : (Object.keys(ids).find((k) => k !== 'visit' && k !== 'appointment') ?? 'mrn');
  return { key: ids[keyName] ?? '', keyName, ids };
}

function asReject(err: unknown): HisReject {
  if (err instanceof HisReject) return err;
  if (err instanceof IngestError && err.kind === 'data') {
    return new HisReject('AE', err.code === 'ING_ERR_NOT_FOUND' ? '204' : '207', `${err.code}: ${err.message}`.slice(0, 250));
  }
  // e.g. the database busy or full: AE, and the message is kept (if it can be stored) for a person to resend
  return new HisReject('AE', '207', `internal error: ${(err as Error).message ?? String(err)}`.slice(0, 250));
}
