/**
 * Monitor clock → observation time. 'device': t = the monitor's own clock (TIME_ABS anchored
 * relative time). 'gateway': the offset rx − device is tracked (median of the last 15 replies);
 * within the tolerance the device time is used as is, beyond it the offset (whole seconds) is
 * applied and the reading flagged 'clock-offset'; a jump of the offset flags 'clock-jump'.
 * Without any device clock (no TIME_ABS yet) t falls back to the receive time.
 */
import type { Flag } from '../../../../schemas/src/observation.js';

const WINDOW = 15;

export class MonitorClock {
  private readonly samples: number[] = [];
  private jumped = false;

  constructor(private readonly mode: 'device' | 'gateway', private readonly toleranceMs = 5000) {}

  observe(deviceMs: number, rxMs: number | undefined): void {
    this.jumped = false;
    if (rxMs === undefined) return;
    const off = rxMs - deviceMs;
    const est = this.estimate();
    if (est !== undefined && Math.abs(off - est) > this.toleranceMs) {
      this.samples.length = 0;
      this.jumped = true;
    }
    this.samples.push(off);
    if (this.samples.length > WINDOW) this.samples.shift();
  }

  /** Gateway rx minus device clock (ms). */
  estimate(): number | undefined {
    if (!this.samples.length) return undefined;
    const s = [...this.samples].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
  }

  toT(deviceMs: number): { t: number; flags: Flag[] } {
    const flags: Flag[] = this.jumped ? ['clock-jump'] : [];
    const est = this.mode === 'gateway' ? this.estimate() : undefined;
    if (est === undefined || Math.abs(est) <= this.toleranceMs) return { t: deviceMs, flags };
    flags.push('clock-offset');
    return { t: deviceMs + Math.round(est / 1000) * 1000, flags };
  }
}
