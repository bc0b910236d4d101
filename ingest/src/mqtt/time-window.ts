/**
 * Device time window (docs/security.md "Intake integrity"): is a reading's time plausible for when it
 * arrived? Three times are known: t (the reading, gateway clock or device clock corrected by the
 * gateway), sentAt (the gateway's clock when it built the envelope, before the outbox) and receivedAt
 * (ingest's clock). What is legitimate:
 *   - live: t ≈ sentAt ≈ receivedAt (≤ one publish interval apart);
 *   - backlog after an outage or partition: t ≈ sentAt, both up to the outbox's age behind receivedAt
 *     (FIFO drain; bounded by the outbox cap, days of one bed, and usefully by the dedupe retention);
 *   - old measurement times inside a fresh envelope: an NIBP measured earlier, an HL7 sender's own
 *     queue (OBX-14): t some hours behind sentAt;
 *   - a gateway clock step (bad NTP, an operator): t and sentAt move together, the gateway flags the
 *     readings `clock-jump` / `clock-offset` (readings of the interval of the step may be one step
 *     away from sentAt either way).
 * Rule, in this order:
 *   1. future:            t > receivedAt + futureMs (clock-flagged readings: futureFlaggedMs);
 *   2. envelope-too-old:  sentAt < receivedAt − maxBacklogMs;
 *   3. behind-envelope:   t < sentAt − maxLagBehindSentMs.
 * A reading that breaks a rule is quarantined (stored apart, counted), never written to the main series.
 */

export interface TimeWindowLimits {
  futureMs: number;
  futureFlaggedMs: number;
  maxLagBehindSentMs: number;
  maxBacklogMs: number;
}

export type TimeVerdict = 'future' | 'envelope-too-old' | 'behind-envelope';

export const DEFAULT_TIME_WINDOW: TimeWindowLimits = {
  futureMs: 5 * 60_000,
  futureFlaggedMs: 2 * 3600_000,
  maxLagBehindSentMs: 6 * 3600_000,
  maxBacklogMs: 7 * 86_400_000,
};

/** null when the time is plausible */
export function timeVerdict(t: number, clockFlagged: boolean, sentAt: number, receivedAt: number, w: TimeWindowLimits): TimeVerdict | null {
  if (!Number.isFinite(t)) return 'behind-envelope';
  if (t > receivedAt + (clockFlagged ? Math.max(w.futureMs, w.futureFlaggedMs) : w.futureMs)) return 'future';
  if (!(sentAt >= receivedAt - w.maxBacklogMs)) return 'envelope-too-old';
  if (t < sentAt - w.maxLagBehindSentMs) return 'behind-envelope';
  return null;
}

/** the latest time a reading may have in the main series at `now` (the content index covers up to here) */
export const maxFutureAllowance = (w: TimeWindowLimits) => Math.max(w.futureMs, w.futureFlaggedMs);
