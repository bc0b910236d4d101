/** Dead-letter store: poison messages with the reason and the raw bytes, bounded by row count. */
import type { Db } from '../registry/database.js';

export interface DeadLetter {
  id: number;
  at: number;
  topic: string;
  code: string;
  reason: string;
  gatewayId: string | null;
  payload: Buffer;
}

export class DeadLetterStore {
  constructor(
    private readonly db: Db,
    private readonly maxRows = 100_000,
  ) {}

  add(d: { topic: string; code: string; reason: string; gatewayId?: string | null; payload: Uint8Array; at?: number }): void {
    this.db
      .prepare('INSERT INTO dead_letters (at, topic, code, reason, gateway_id, payload) VALUES (?, ?, ?, ?, ?, ?)')
      .run(d.at ?? Date.now(), d.topic, d.code, d.reason.slice(0, 2000), d.gatewayId ?? null, Buffer.from(d.payload));
    this.db.prepare('DELETE FROM dead_letters WHERE id <= (SELECT MAX(id) FROM dead_letters) - ?').run(this.maxRows);
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM dead_letters').get() as { n: number }).n;
  }

  list(limit = 100): DeadLetter[] {
    const rows = this.db.prepare('SELECT id, at, topic, code, reason, gateway_id AS gatewayId, payload FROM dead_letters ORDER BY id DESC LIMIT ?').all(limit);
    return rows as DeadLetter[];
  }
}
