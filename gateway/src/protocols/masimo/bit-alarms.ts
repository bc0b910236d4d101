/**
 * Technical alarms from device status bit fields (Masimo EXC/EXC1/ALARM, Nonin STATUS): a bit that
 * turns on gives an alarm with phase 'start', a bit that turns off gives 'end'; nothing is
 * repeated while a bit stays on (counters, not per-sample noise). Shared by masimo and nonin.
 */
import type { AlarmObs } from '../../../../schemas/src/observation.js';

export interface BitDef {
  text: string;
  priority: AlarmObs['priority'];
  source: AlarmObs['source'];
}

export class BitAlarmTracker {
  private prev = 0;

  /**
   * @param field  name used in vendorCode (`EXC.0x020`)
   * @param defs   known bits; unknown bits get `fallback` with the bit in the text
   * @param ignore bits that are not alarms (e.g. Masimo 0x800 "SET mode": normal)
   */
  constructor(
    private readonly field: string,
    private readonly defs: Record<number, BitDef>,
    private readonly fallback: BitDef,
    private readonly ignore = 0,
    private readonly hexDigits = 3,
  ) {}

  update(bits: number, t: number): AlarmObs[] {
    const cur = (bits >>> 0) & ~this.ignore;
    const changed = (cur ^ this.prev) >>> 0;
    const out: AlarmObs[] = [];
    for (let i = 0; i < 32 && changed >>> i; i++) {
      const bit = (1 << i) >>> 0;
      if (!(changed & bit)) continue;
      const code = `0x${bit.toString(16).toUpperCase().padStart(this.hexDigits, '0')}`;
      const d = this.defs[bit] ?? { ...this.fallback, text: `${this.fallback.text} ${code}` };
      out.push({
        kind: 'alarm',
        mdc: null,
        code: null,
        text: d.text,
        priority: d.priority,
        source: d.source,
        phase: cur & bit ? 'start' : 'end',
        t,
        vendorCode: `${this.field}.${code}`,
      });
    }
    this.prev = cur;
    return out;
  }
}
