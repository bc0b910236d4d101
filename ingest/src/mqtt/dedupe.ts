/**
 * Persistent dedupe on (gatewayId, bootId, seq). Keys are marked only after the series write
 * succeeded (the same step that acks); old keys are pruned by age (a gateway boot older than
 * the retention cannot replay into a fresh id space anyway: boot ids are random per process).
 */
import type { Db } from '../registry/database.js';

export interface DedupeKey {
  gatewayId: string;
  bootId: string;
  seq: number;
}

export class DedupeStore {
  private readonly hasStmt;
  private readonly insStmt;
  constructor(private readonly db: Db) {
    this.hasStmt = db.prepare('SELECT 1 FROM dedupe WHERE gateway_id = ? AND boot_id = ? AND seq = ?');
    this.insStmt = db.prepare('INSERT OR IGNORE INTO dedupe (gateway_id, boot_id, seq, received_at) VALUES (?, ?, ?, ?)');
  }

  seen(k: DedupeKey): boolean {
    return this.hasStmt.get(k.gatewayId, k.bootId, k.seq) !== undefined;
  }

  markAll(keys: readonly DedupeKey[], at = Date.now()): void {
    this.db.transaction(() => {
      for (const k of keys) this.insStmt.run(k.gatewayId, k.bootId, k.seq, at);
    })();
  }

  /** runs `fn` in one sqlite transaction (the dedupe keys and the dead letters of refused devices commit together) */
  atomically<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  prune(olderThan: number): number {
    return this.db.prepare('DELETE FROM dedupe WHERE received_at < ?').run(olderThan).changes;
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM dedupe').get() as { n: number }).n;
  }
}
