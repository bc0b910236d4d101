/**
 * Billable monitoring time of a case (docs/reports.md "Billable time"): per family the minutes of the
 * case window in which it was monitored, and for NIBP also the number of cuff measurements.
 */
import type { Case } from '../cases/case-store.js';
import type { SeriesStore } from '../series/types.js';
import { collectCase, MINUTE, minuteOf, minutesOf, type CaseData } from './case-data.js';
import { FAMILIES, type Family } from './families.js';

export const BILLING_RULE =
  'a family is monitored in a minute (epoch-aligned) of the case window when at least one value of it, ' +
  "not flagged invalid or demo, is stored for the case's bed in that minute; NIBP: a cuff measurement is the first valid reading of " +
  "each run of identical (sys, dia, mean) of a device, it covers its minute and the next 4 (these are NIBP's minutes), " +
  'measurements = how many there were';

export interface BillingLine {
  family: Family;
  monitoredMinutes: number;
  measurements: number | null;
}

export interface Billing {
  caseId: string;
  from: number;
  /** the case end; for an open case, the time of the report */
  to: number;
  open: boolean;
  caseMinutes: number;
  families: BillingLine[];
  /** the NIBP count reached the read limit: a lower bound */
  nibpTruncated: boolean;
  rule: string;
}

export function billingOf(c: Case, d: CaseData): Billing {
  // the minutes of the case: a minute two bindings share (the move OR → PACU) is one minute, and a
  // family's minute counts once, whichever bed measured it
  const minutes = new Set<number>();
  for (const w of d.windows) for (let m = minuteOf(w.from), k = 0; k < minutesOf(w.from, w.to); m += MINUTE, k++) minutes.add(m);
  const caseMinutes = minutes.size;
  const last = d.windows[d.windows.length - 1];
  return {
    caseId: c.id,
    from: c.start,
    to: last ? last.to : c.start,
    open: c.end === null,
    caseMinutes,
    families: FAMILIES.map((family) => ({
      family,
      monitoredMinutes: [...(d.family.get(family) ?? [])].filter((m) => minutes.has(m)).length,
      measurements: family === 'nibp' ? d.nibpTimes.length : null,
    })),
    nibpTruncated: d.nibpTruncated,
    rule: BILLING_RULE,
  };
}

export async function computeBilling(series: SeriesStore, c: Case, now: number): Promise<Billing> {
  return billingOf(c, await collectCase(series, c, now));
}

export const BILLING_CSV_HEADER = ['case_id', 'from', 'to', 'open', 'case_minutes', 'family', 'monitored_minutes', 'measurements'];

export function billingRows(b: Billing): (string | number | boolean | null)[][] {
  const iso = (t: number) => new Date(t).toISOString();
  return b.families.map((f) => [b.caseId, iso(b.from), iso(b.to), b.open, b.caseMinutes, f.family, f.monitoredMinutes, f.measurements]);
}
