/**
 * What the processor records about intake integrity (docs/security.md "Intake integrity"): the
 * reading count the envelope cap compares, and — for a stored envelope — its counters and one dead
 * letter per refusal code holding only the refused readings.
 */
import type { Envelope } from '../../../schemas/src/envelope.js';
import type { Metrics } from '../metrics.js';
import type { DeadLetterStore } from './dead-letter.js';
import { envelopeOf, type Assessed } from './intake-integrity.js';

/** numerics + wave samples + alarms + settings */
export function countReadings(env: Envelope): number {
  let n = 0;
  for (const d of env.devices) {
    n += d.numerics.length + d.alarms.length + d.settings.length;
    for (const w of d.waves) n += w.samples.length;
  }
  return n;
}

/** call once the envelope's accepted points are stored (inside the transaction that marks its dedupe key) */
export function recordIntegrity(a: Assessed, env: Envelope, topic: string, deadLetters: DeadLetterStore, metrics: Metrics): void {
  metrics.inc('readings_time_quarantined_total', a.counts.quarantined);
  metrics.inc('readings_unverified_total', a.counts.unverified);
  metrics.inc('readings_duplicate_total', a.counts.duplicates);
  metrics.inc('readings_conflicting_total', a.counts.conflicts);
  metrics.inc('series_budget_refused_total', a.counts.budgetRefused);
  for (const code of ['ING_ERR_SERIES_BUDGET', 'ING_ERR_READING_CONFLICT'] as const) {
    const mine = a.refused.filter((r) => r.code === code);
    if (!mine.length) continue;
    const reasons = [...new Set(mine.map((r) => r.reason))];
    deadLetters.add({
      topic,
      code,
      gatewayId: a.gatewayId,
      payload: envelopeOf(
        env,
        mine.map((r) => r.src),
      ),
      reason:
        `${mine.length} point(s) refused: ${reasons.slice(0, 5).join('; ')}${reasons.length > 5 ? `; and ${reasons.length - 5} more` : ''}` +
        `; the payload holds only those readings of envelope ${env.bootId}#${env.seq}, the rest was stored`,
    });
  }
}
