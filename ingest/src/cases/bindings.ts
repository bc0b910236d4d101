/**
 * Case bindings: which bed a case is bound to over which time. Half-open windows `[from, to)`,
 * `to` null while the case is open. A case's bindings are consecutive (each starts where the
 * previous ended) and together span the case window. On one bed no two bindings overlap and at
 * most one is open (the partial unique index `case_bindings_open_bed` of the migration enforces
 * the second rule even against a writer that skipped the checks here).
 */
import { IngestError } from '../errors.js';
import type { Db } from '../registry/database.js';

export interface CaseBinding {
  bed: string;
  from: number;
  to: number | null;
}

/** A binding with its case and position (seq 0 = the case's first bed). */
export interface BedBinding extends CaseBinding {
  caseId: string;
  seq: number;
}

interface BindingRow {
  case_id: string;
  seq: number;
  bed_id: string;
  from_t: number;
  to_t: number | null;
}

const toBinding = (r: BindingRow): BedBinding => ({ caseId: r.case_id, seq: r.seq, bed: r.bed_id, from: r.from_t, to: r.to_t });

export const fmtWindow = (from: number, to: number | null): string => `[${new Date(from).toISOString()}, ${to === null ? 'open' : new Date(to).toISOString()})`;

export class BindingTable {
  constructor(private readonly db: Db) {}

  ofCase(caseId: string): BedBinding[] {
    return (this.db.prepare('SELECT * FROM case_bindings WHERE case_id = ? ORDER BY seq').all(caseId) as BindingRow[]).map(toBinding);
  }

  /** the open binding on a bed (at most one), whatever its start */
  openOn(bed: string): BedBinding | null {
    const r = this.db.prepare('SELECT * FROM case_bindings WHERE bed_id = ? AND to_t IS NULL').get(bed) as BindingRow | undefined;
    return r ? toBinding(r) : null;
  }

  /** the binding on `bed` whose window holds `t` */
  at(bed: string, t: number): BedBinding | null {
    const r = this.db
      .prepare('SELECT * FROM case_bindings WHERE bed_id = ? AND from_t <= ? AND (to_t IS NULL OR to_t > ?) ORDER BY from_t DESC LIMIT 1')
      .get(bed, t, t) as BindingRow | undefined;
    return r ? toBinding(r) : null;
  }

  /** when the bed's last binding ended (null: never bound, or bound now) */
  lastEnd(bed: string): number | null {
    const r = this.db.prepare('SELECT MAX(to_t) AS t FROM case_bindings WHERE bed_id = ?').get(bed) as { t: number | null };
    return r.t;
  }

  beds(): string[] {
    return (this.db.prepare('SELECT DISTINCT bed_id FROM case_bindings ORDER BY bed_id').all() as { bed_id: string }[]).map((r) => r.bed_id);
  }

  caseIdsOn(bed: string): string[] {
    return (this.db.prepare('SELECT case_id FROM case_bindings WHERE bed_id = ? GROUP BY case_id ORDER BY MIN(from_t)').all(bed) as { case_id: string }[]).map(
      (r) => r.case_id,
    );
  }

  /**
   * Throws ING_ERR_CONFLICT when `[from, to)` on `bed` overlaps a binding of another case (the
   * bindings of `self` are ignored: a case never overlaps itself, its bindings are consecutive).
   */
  assertFree(bed: string, from: number, to: number | null, self?: string): void {
    const open = this.openOn(bed);
    if (to === null && open && open.caseId !== self) {
      throw new IngestError(
        'ING_ERR_CONFLICT',
        'data',
        `bed ${bed} has an open case ${open.caseId} (since ${new Date(open.from).toISOString()}): close it first, or send replaces: {caseId: "${open.caseId}", action: "close"}`,
      );
    }
    const r = this.db
      .prepare(
        'SELECT * FROM case_bindings WHERE bed_id = ? AND case_id <> ? AND (to_t IS NULL OR to_t > ?) AND (? IS NULL OR from_t < ?) ORDER BY from_t LIMIT 1',
      )
      .get(bed, self ?? '', from, to, to) as BindingRow | undefined;
    if (r) {
      throw new IngestError(
        'ING_ERR_CONFLICT',
        'data',
        `window ${fmtWindow(from, to)} on bed ${bed} overlaps case ${r.case_id} there ${fmtWindow(r.from_t, r.to_t)}`,
      );
    }
  }

  insert(caseId: string, seq: number, bed: string, from: number, to: number | null): void {
    this.db.prepare('INSERT INTO case_bindings (case_id, seq, bed_id, from_t, to_t) VALUES (?, ?, ?, ?, ?)').run(caseId, seq, bed, from, to);
  }

  setWindow(caseId: string, seq: number, from: number, to: number | null): void {
    this.db.prepare('UPDATE case_bindings SET from_t = ?, to_t = ? WHERE case_id = ? AND seq = ?').run(from, to, caseId, seq);
  }
}
