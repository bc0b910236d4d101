/** What a fault scenario imports: the rig, the audit, the proxies, and the tap glue. */
import { appendFileSync } from 'node:fs';
import type { Test } from 'tap';
import { FaultRig, type RigOptions } from './rig.js';
import { auditLine, type AuditResult } from './audit.js';

export { FaultRig, BROKERS, clean, type Bed, type BrokerKind, type ExtraDevice, type RigOptions } from './rig.js';
export { audit, auditLine, sumAudits, type AuditResult, type AuditCounts } from './audit.js';
export { TcpFaultProxy, HttpFaultProxy } from './proxies.js';
export { pollUntil, runFor, LONG, OrlinkChild } from './processes.js';

/** Start a rig torn down with the test (even when it fails). */
export async function startRig(t: Test, o: RigOptions): Promise<FaultRig> {
  const rig = new FaultRig(o);
  t.teardown(() => rig.close());
  await rig.start();
  return rig;
}

/**
 * The zero-loss assertions every scenario makes, and the audit line it reports (tap comment, and
 * appended to $ORLINK_FAULTS_REPORT when set, which docs/reliability.md's table is made from).
 * `allowedLost`: observations the explicit drop policy counted (only the outbox-cap scenario).
 */
export function assertAudit(t: Test, scenario: string, a: AuditResult, opts: { allowedLost?: number; extra?: string } = {}): void {
  const line = auditLine(scenario, a, opts.extra ?? '');
  t.comment(line);
  if (process.env.ORLINK_FAULTS_REPORT) appendFileSync(process.env.ORLINK_FAULTS_REPORT, `${line}\n`);
  const lost = a.numerics.lost;
  t.ok(a.numerics.produced > 0, `${scenario}: the simulators produced numerics (${a.numerics.produced})`);
  if (opts.allowedLost === undefined) {
    t.equal(lost, 0, `${scenario}: no numeric lost`, { examples: a.examples });
    t.equal(a.waves.lost, 0, `${scenario}: no wave sample lost`, { examples: a.examples });
  } else {
    t.ok(lost <= opts.allowedLost, `${scenario}: values lost (${lost}) ≤ observations the drop policy counted (${opts.allowedLost})`, { examples: a.examples });
  }
  t.equal(a.numerics.duplicated, 0, `${scenario}: no numeric duplicated`, { examples: a.examples });
  t.equal(a.numerics.invented, 0, `${scenario}: no numeric invented`, { examples: a.examples });
  t.equal(a.numerics.mismatched, 0, `${scenario}: no numeric value or time mismatch`, { examples: a.examples });
  t.equal(a.waves.duplicated, 0, `${scenario}: no wave sample duplicated`, { examples: a.examples });
  t.equal(a.waves.invented, 0, `${scenario}: no wave sample invented`, { examples: a.examples });
  t.equal(a.waves.mismatched, 0, `${scenario}: no wave sample value or position mismatch`, { examples: a.examples });
}
