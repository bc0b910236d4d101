/**
 * The durable outbound queue (sqlite, table hl7_out_queue). A message is committed before it is
 * sent. States: queued → sent (awaiting its ACK) → deleted when ACKed (AA/CA), or dead (with a
 * reason). Per endpoint the head is the lowest id not dead: messages go out one at a time, in
 * order; after a restart a `sent` head is simply sent again with the same MSH-10. The pending
 * bytes (queued + sent) are bounded: an enqueue beyond the bound is refused (QueueFullError),
 * together with the coverage mark of the same transaction, so the producer retries it later.
 */
import type { Db } from '../registry/database.js';
import { Hl7OutError } from './errors.js';

export type MessageKind = 'pcd01' | 'pcd04';

export interface QueuedMessage {
  id: number;
  endpoint: string;
  kind: MessageKind;
  controlId: string;
  caseId: string | null;
  windowFrom: number | null;
  windowTo: number | null;
  message: string;
  bytes: number;
  state: 'queued' | 'sent' | 'dead';
  attempts: number;
  nextAt: number;
  createdAt: number;
  sentAt: number | null;
  ackCode: string | null;
  reason: string | null;
  deadAt: number | null;
}

export interface NewMessage {
  endpoint: string;
  kind: MessageKind;
  caseId: string;
  window?: { from: number; to: number };
  build: (controlId: string) => string;
}

export interface Mark {
  endpoint: string;
  caseId: string;
  kind: MessageKind;
  coveredTo: number;
}

export interface EndpointStatus {
  endpoint: string;
  queued: number;
  queuedBytes: number;
  oldestAt: number | null;
  lastAckAt: number | null;
  lastAckCode: string | null;
  acked: number;
  dead: number;
}

interface Row {
  id: number;
  endpoint: string;
  kind: MessageKind;
  control_id: string;
  case_id: string | null;
  window_from: number | null;
  window_to: number | null;
  message: string;
  bytes: number;
  state: QueuedMessage['state'];
  attempts: number;
  next_at: number;
  created_at: number;
  sent_at: number | null;
  ack_code: string | null;
  reason: string | null;
  dead_at: number | null;
}

const toMessage = (r: Row): QueuedMessage => ({
  id: r.id,
  endpoint: r.endpoint,
  kind: r.kind,
  controlId: r.control_id,
  caseId: r.case_id,
  windowFrom: r.window_from,
  windowTo: r.window_to,
  message: r.message,
  bytes: r.bytes,
  state: r.state,
  attempts: r.attempts,
  nextAt: r.next_at,
  createdAt: r.created_at,
  sentAt: r.sent_at,
  ackCode: r.ack_code,
  reason: r.reason,
  deadAt: r.dead_at,
});

export class OutboundQueue {
  /** enqueues refused because the queue was full (this process) */
  refusedFull = 0;

  constructor(
    private readonly db: Db,
    private readonly maxBytes: number,
    private readonly now: () => number = Date.now,
  ) {}

  pendingBytes(): number {
    return (this.db.prepare("SELECT COALESCE(SUM(bytes), 0) AS b FROM hl7_out_queue WHERE state <> 'dead'").get() as { b: number }).b;
  }

  /**
   * Enqueues the messages and sets the marks in one transaction; all or nothing. The control id is
   * `OL<row id>`: unique in this database, fixed for every resend. Throws QueueFullError (nothing written).
   */
  enqueue(msgs: readonly NewMessage[], marks: readonly Mark[] = []): QueuedMessage[] {
    const at = this.now();
    const ins = this.db
      .prepare(`INSERT INTO hl7_out_queue (endpoint, kind, control_id, case_id, window_from, window_to, message, bytes, state, next_at, created_at)
      VALUES (?, ?, ?, ?, ?, ?, '', 0, 'queued', ?, ?)`);
    const upd = this.db.prepare('UPDATE hl7_out_queue SET control_id = ?, message = ?, bytes = ? WHERE id = ?');
    const ids: number[] = [];
    try {
      this.db.transaction(() => {
        let bytes = this.pendingBytes();
        for (const m of msgs) {
          const tmp = `tmp-${at}-${ids.length}-${Math.random()}`;
          const id = Number(ins.run(m.endpoint, m.kind, tmp, m.caseId, m.window?.from ?? null, m.window?.to ?? null, at, at).lastInsertRowid);
          const controlId = `OL${id}`;
          const text = m.build(controlId);
          const size = Buffer.byteLength(text);
          bytes += size;
          if (bytes > this.maxBytes) throw new QueueFullError(this.maxBytes);
          upd.run(controlId, text, size, id);
          ids.push(id);
        }
        for (const k of marks) this.setMark(k);
      })();
    } catch (err) {
      if (err instanceof QueueFullError) this.refusedFull++;
      throw err;
    }
    return ids.map((id) => this.get(id) as QueuedMessage);
  }

  mark(endpoint: string, caseId: string, kind: MessageKind): number | null {
    const r = this.db.prepare('SELECT covered_to FROM hl7_out_marks WHERE endpoint = ? AND case_id = ? AND kind = ?').get(endpoint, caseId, kind) as
      { covered_to: number } | undefined;
    return r ? r.covered_to : null;
  }

  setMark(k: Mark): void {
    this.db
      .prepare(
        `INSERT INTO hl7_out_marks (endpoint, case_id, kind, covered_to) VALUES (?, ?, ?, ?)
      ON CONFLICT (endpoint, case_id, kind) DO UPDATE SET covered_to = excluded.covered_to`,
      )
      .run(k.endpoint, k.caseId, k.kind, k.coveredTo);
  }

  /** cases the endpoint has coverage marks for (closed ones are finished from them) */
  markedCases(endpoint: string): string[] {
    return (this.db.prepare('SELECT DISTINCT case_id FROM hl7_out_marks WHERE endpoint = ?').all(endpoint) as { case_id: string }[]).map((r) => r.case_id);
  }

  /** a closed case fully covered: its marks go */
  dropMarks(endpoint: string, caseId: string): void {
    this.db.prepare('DELETE FROM hl7_out_marks WHERE endpoint = ? AND case_id = ?').run(endpoint, caseId);
  }

  get(id: number): QueuedMessage | null {
    const r = this.db.prepare('SELECT * FROM hl7_out_queue WHERE id = ?').get(id) as Row | undefined;
    return r ? toMessage(r) : null;
  }

  /** the endpoint's next message to send (queued or awaiting its ACK), lowest id first */
  head(endpoint: string): QueuedMessage | null {
    const r = this.db.prepare("SELECT * FROM hl7_out_queue WHERE endpoint = ? AND state IN ('queued','sent') ORDER BY id LIMIT 1").get(endpoint) as
      Row | undefined;
    return r ? toMessage(r) : null;
  }

  markSent(id: number): void {
    this.db.prepare("UPDATE hl7_out_queue SET state = 'sent', sent_at = ? WHERE id = ?").run(this.now(), id);
  }

  /** positive ACK: the row goes, the endpoint's last ACK is recorded */
  done(m: QueuedMessage, ackCode: string): void {
    const at = this.now();
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM hl7_out_queue WHERE id = ?').run(m.id);
      this.db
        .prepare(
          `INSERT INTO hl7_out_endpoints (endpoint, last_ack_at, last_ack_code, acked) VALUES (?, ?, ?, 1)
        ON CONFLICT (endpoint) DO UPDATE SET last_ack_at = excluded.last_ack_at, last_ack_code = excluded.last_ack_code, acked = acked + 1`,
        )
        .run(m.endpoint, at, ackCode);
    })();
  }

  /** to be sent again from `nextAt`; `countAttempt` for application errors (AE), not for transport failures */
  retryLater(id: number, nextAt: number, reason: string, countAttempt: boolean, ackCode: string | null = null): void {
    this.db
      .prepare(
        `UPDATE hl7_out_queue SET state = 'queued', next_at = ?, reason = ?, ack_code = COALESCE(?, ack_code),
      attempts = attempts + ? WHERE id = ?`,
      )
      .run(nextAt, reason, ackCode, countAttempt ? 1 : 0, id);
  }

  dead(id: number, reason: string, ackCode: string | null, countAttempt = true): void {
    this.db
      .prepare(`UPDATE hl7_out_queue SET state = 'dead', reason = ?, ack_code = ?, dead_at = ?, attempts = attempts + ? WHERE id = ?`)
      .run(reason, ackCode, this.now(), countAttempt ? 1 : 0, id);
  }

  /** a dead letter back in its endpoint's queue (attempts reset); it is sent next (lowest id). False when not dead. */
  retryDead(id: number): boolean {
    return (
      this.db
        .prepare(`UPDATE hl7_out_queue SET state = 'queued', attempts = 0, next_at = ?, dead_at = NULL WHERE id = ? AND state = 'dead'`)
        .run(this.now(), id).changes === 1
    );
  }

  deadLetters(limit = 100): QueuedMessage[] {
    return (this.db.prepare("SELECT * FROM hl7_out_queue WHERE state = 'dead' ORDER BY id DESC LIMIT ?").all(limit) as Row[]).map(toMessage);
  }

  status(endpoints: readonly string[]): EndpointStatus[] {
    const q = this.db.prepare(`SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b, MIN(created_at) AS oldest,
      SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END) AS dead FROM hl7_out_queue WHERE endpoint = ?`);
    const pend = this.db.prepare(
      `SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b, MIN(created_at) AS oldest FROM hl7_out_queue WHERE endpoint = ? AND state <> 'dead'`,
    );
    const ack = this.db.prepare('SELECT last_ack_at, last_ack_code, acked FROM hl7_out_endpoints WHERE endpoint = ?');
    return endpoints.map((e) => {
      const all = q.get(e) as { dead: number | null };
      const p = pend.get(e) as { n: number; b: number; oldest: number | null };
      const a = ack.get(e) as { last_ack_at: number; last_ack_code: string; acked: number } | undefined;
      return {
        endpoint: e,
        queued: p.n,
        queuedBytes: p.b,
        oldestAt: p.oldest,
        lastAckAt: a?.last_ack_at ?? null,
        lastAckCode: a?.last_ack_code ?? null,
        acked: a?.acked ?? 0,
        dead: all.dead ?? 0,
      };
    });
  }
}

export class QueueFullError extends Hl7OutError {
  constructor(maxBytes: number) {
    super('ING_ERR_HL7OUT_QUEUE_FULL', 'transient', `outbound HL7 queue full (hl7Out.queueMaxBytes ${maxBytes})`);
    this.name = 'QueueFullError';
  }
}
