/**
 * What the audit of every-protocol.test.ts holds each device to (harness/multi-devices.ts makes the
 * devices): its truth and how it is matched.
 *
 * Truth (DeviceTruth): what a simulator reports as produced ('produced' events) while its link is
 * live. Readings it reports while the cable is out (or before the gateway took the line) never
 * reached the gateway's wire: counted `undeliverable`, not audited. `excluded` readings went on the
 * wire but delivery is not vouched for: those produced after end() (the tail that keeps a link busy
 * while the scenario's window closes, see multi-devices.ts stop()), and HL7 messages the gateway
 * never acknowledged (written into a connection that died). The audit neither counts an excluded
 * reading lost when absent nor invented when stored (harness/audit.ts `excluded`).
 */
import type { ExtraDevice } from './rig.js';

/** A reading as the simulators report it (GE, IntelliVue, MEDIBUS, oximeter and HL7 truth shapes). */
export type TruthReading =
  | { kind: 'numeric'; vendorCode: string; mdc?: string | null; value: number; t: number }
  | { kind: 'wave'; vendorCode?: string; mdc?: string | null; t0: number; rateHz: number; samples: number[] };

/** Readings a truth item stands for: a value, or a wave block's samples (alarms: none). */
export function readingsOf(r: { kind: string; samples?: unknown[] }): number {
  return r.kind === 'numeric' ? 1 : r.kind === 'wave' ? (r.samples?.length ?? 0) : 0;
}

export class DeviceTruth {
  readonly produced: (TruthReading & { at: number })[];
  readonly excluded: TruthReading[] = [];
  /** readings reported while the link was not live (never on the gateway's wire) */
  undeliverable = 0;
  ended = false;

  constructor(produced?: (TruthReading & { at: number })[]) {
    this.produced = produced ?? [];
  }

  /** A reading the simulator reports; `live`: its bytes went on a live link. */
  add(r: { kind: string }, live: boolean): void {
    const n = readingsOf(r as { kind: string; samples?: unknown[] });
    if (n === 0) return;
    if (!live) {
      this.undeliverable += n;
      return;
    }
    if (this.ended) {
      this.excluded.push(r as TruthReading);
      return;
    }
    this.produced.push({ ...(r as TruthReading), at: Date.now() });
  }

  /** A reading whose delivery is confirmed (HL7: ACKed), even after end(). */
  accept(r: { kind: string }): void {
    if (readingsOf(r as { kind: string }) > 0) this.produced.push({ ...(r as TruthReading), at: Date.now() });
  }

  exclude(r: { kind: string }): void {
    if (readingsOf(r as { kind: string }) > 0) this.excluded.push(r as TruthReading);
  }

  /** From now on every reading is excluded (the scenario's window closes). */
  end(): void {
    this.ended = true;
  }

  /** Readings produced since `since` (ms). */
  since(since: number): number {
    let n = 0;
    for (let i = this.produced.length - 1; i >= 0 && this.produced[i].at >= since; i--) n += readingsOf(this.produced[i]);
    return n;
  }

  get excludedReadings(): number {
    return this.excluded.reduce((n, r) => n + readingsOf(r), 0);
  }
}

export interface DeviceAuditMode {
  /** exact: identity (vendor channel, device time); host-stamped: (vendor channel, value) within toleranceMs, one-to-one */
  mode: 'exact' | 'host-stamped';
  waveKey?: 'mdc' | 'vendor';
  toleranceMs?: number;
}

export interface LinkFaultOptions {
  outMs: number;
  drainMs: number;
  recoverTimeoutMs: number;
}
export interface LinkFaultResult {
  recovered: boolean;
  recoverMs: number;
  note: string;
}

/** One audited device of the bed, the GE monitor included. */
export interface AuditedDevice {
  id: string;
  name: string;
  protocol: string;
  truth: DeviceTruth;
  audit: DeviceAuditMode;
  /** the device's link fault: a serial cable pulled and plugged back, or an MLLP connection reset */
  linkFault(o: LinkFaultOptions): Promise<LinkFaultResult>;
  /** when each link fault began (ms) */
  readonly faultsAt: number[];
  /** counters for the report */
  notes(): string;
}

export type MultiDevice = AuditedDevice & ExtraDevice;
