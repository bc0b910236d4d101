/**
 * Device clock → observation time, shared by every protocol whose device states its own time (GE DRI
 * r_time, IntelliVue TIME_ABS, Masimo line time). 'device': t is the device clock as sent.
 * 'gateway': the offset gateway-rx minus device time is tracked (median of the last 15 records);
 * while |offset| <= toleranceMs the device time is used as is, beyond it the offset rounded to
 * whole seconds is applied and the reading flagged 'clock-offset'. A sudden change of the offset
 * by more than the tolerance (device or gateway clock jumped) restarts the estimate and flags
 * 'clock-jump' on the readings of that record.
 * The whole-second correction, once applied, is latched until the estimate moves more than a second
 * away from it: an offset near x.5 s (a device clock of whole seconds read with link latency) would
 * otherwise round to x and x+1 on alternate records and move readings back and forth by a second.
 */
import type { Flag } from '../../../../schemas/src/observation.js';

const WINDOW = 15;

export class DeviceClock {
  private readonly samples: number[] = [];
  private jumped = false;
  private applied: number | undefined;

  constructor(
    private readonly mode: 'device' | 'gateway',
    private readonly toleranceMs = 5000,
  ) {}

  /** Feed one record's device time with its receive time (ms). */
  observe(deviceMs: number, rxMs: number | undefined): void {
    this.jumped = false;
    if (rxMs === undefined) return;
    const off = rxMs - deviceMs;
    const est = this.estimate();
    if (est !== undefined && Math.abs(off - est) > this.toleranceMs) {
      this.samples.length = 0;
      this.applied = undefined;
      this.jumped = true;
    }
    this.samples.push(off);
    if (this.samples.length > WINDOW) this.samples.shift();
  }

  /** Gateway rx minus device clock (ms), median of the window. */
  estimate(): number | undefined {
    if (!this.samples.length) return undefined;
    const s = [...this.samples].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
  }

  toT(deviceMs: number): { t: number; flags: Flag[] } {
    const flags: Flag[] = this.jumped ? ['clock-jump'] : [];
    const est = this.mode === 'gateway' ? this.estimate() : undefined;
    if (est === undefined || Math.abs(est) <= this.toleranceMs) {
      this.applied = undefined;
      return { t: deviceMs, flags };
    }
    if (this.applied === undefined || Math.abs(est - this.applied) > 1000) this.applied = Math.round(est / 1000) * 1000;
    flags.push('clock-offset');
    return { t: deviceMs + this.applied, flags };
  }
}
