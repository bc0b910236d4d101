/**
 * Real 1/min numerics (MIMIC s00001 style WFDB numerics record) as a looping trend: value of a
 * vital at any time, linearly interpolated between minutes. Zero and -32768 (NaN) mean "not
 * measured" in these records; a missing minute holds the last measured value for up to
 * `holdMinutes`, after which the vital is reported absent (the model then uses its own walk).
 */
import { join } from 'node:path';
import { readRecord, findSignal, type WfdbRecord } from '../wfdb/index.js';
import type { VitalKey } from './canonical.js';

/** s00001 numerics signal names → canonical vitals. */
export const S00001_SIGNALS: Partial<Record<VitalKey, string>> = {
  hr: 'HR',
  artSys: 'ABPSys',
  artDia: 'ABPDias',
  artMean: 'ABPMean',
  pulseRate: 'PULSE',
  respRate: 'RESP',
  spo2: 'SpO2',
  nibpSys: 'NBPSys',
  nibpDia: 'NBPDias',
  nibpMean: 'NBPMean',
};

export const S00001_NUMERICS = 'multi-segment/s00001/s00001-2896-10-10-00-31n.hea';

export interface TrendOptions {
  startMinute?: number;
  holdMinutes?: number;
}

export class NumericTrend {
  readonly minutes: number;
  private readonly series = new Map<VitalKey, Float64Array>();
  private readonly startMinute: number;
  private readonly holdMinutes: number;

  constructor(record: WfdbRecord, map: Partial<Record<VitalKey, string>> = S00001_SIGNALS, opts: TrendOptions = {}) {
    this.minutes = record.nFrames;
    this.startMinute = opts.startMinute ?? 0;
    this.holdMinutes = opts.holdMinutes ?? 3;
    for (const [key, name] of Object.entries(map) as [VitalKey, string][]) {
      const s = findSignal(record, name);
      if (!s) continue;
      const a = Float64Array.from(s.physical, (x) => (x === 0 ? NaN : x));
      // hold the last measured value over short gaps, leave long gaps NaN
      let last = NaN;
      let lastAt = -Infinity;
      for (let i = 0; i < a.length; i++) {
        if (!Number.isNaN(a[i]!)) {
          last = a[i]!;
          lastAt = i;
        } else if (i - lastAt <= this.holdMinutes) a[i] = last;
      }
      this.series.set(key, a);
    }
  }

  static load(dataDir: string, opts: TrendOptions = {}): NumericTrend {
    return new NumericTrend(readRecord(join(dataDir, S00001_NUMERICS)), S00001_SIGNALS, opts);
  }

  has(key: VitalKey): boolean {
    return this.series.has(key);
  }

  /** Raw minute value (after hold), NaN when absent; `minute` is wrapped into the record. */
  minuteValue(key: VitalKey, minute: number): number {
    const a = this.series.get(key);
    if (!a || this.minutes === 0) return NaN;
    const m = ((Math.floor(minute) % this.minutes) + this.minutes) % this.minutes;
    return a[m]!;
  }

  /** Value `elapsedMs` after the simulation start: linear between minutes, NaN when absent. */
  valueAt(key: VitalKey, elapsedMs: number): number {
    const pos = this.startMinute + elapsedMs / 60000;
    const m0 = Math.floor(pos);
    const a = this.minuteValue(key, m0);
    const b = this.minuteValue(key, m0 + 1);
    const f = pos - m0;
    if (Number.isNaN(a)) return f > 0.5 ? b : NaN;
    if (Number.isNaN(b)) return a;
    return a + (b - a) * f;
  }
}
