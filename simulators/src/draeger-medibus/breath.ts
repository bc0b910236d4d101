/**
 * The ventilator's breath cycle as the realtime channels see it: a volume-controlled breath
 * (constant inspiratory flow, exponential expiration), airway pressure from flow, compliance and
 * PEEP, a capnogram, O2 and agent swinging between their insp and exp values. Phase 0..1 is
 * integrated from the model's ventilator rate; inspiration is the first ie/(1+ie) of the cycle.
 * Values in mbar, L/min, mmHg, %, kPa.
 */
import type { PhysiologyModel } from '../physiology/index.js';
import { CMH2O_PER_MBAR } from './device-table.js';

export class BreathCycle {
  private phase = 0;
  private lastT: number | undefined;

  constructor(private readonly model: PhysiologyModel) {}

  /** Advances to time t (ms); returns the channel values and whether a phase starts here. */
  step(t: number): { values: Record<number, number>; start?: 'inspiration' | 'expiration' } {
    const v = this.model.at(t).values;
    const rr = v.ventRate ?? 12;
    const ie = v.ieRatio ?? 0.5;
    const tiFrac = ie / (1 + ie);
    const prev = this.phase;
    if (this.lastT !== undefined) this.phase = (this.phase + ((t - this.lastT) / 1000) * (rr / 60)) % 1;
    this.lastT = t;
    let start: 'inspiration' | 'expiration' | undefined;
    if (this.phase < prev) start = 'inspiration';
    else if (prev < tiFrac && this.phase >= tiFrac) start = 'expiration';
    const p = this.phase;
    const peep = (v.peep ?? 5) / CMH2O_PER_MBAR;
    const ppeak = (v.ppeak ?? 19) / CMH2O_PER_MBAR;
    const vt = (v.tidalVolume ?? 480) / 1000;
    const ti = (60 / rr) * tiFrac;
    const te = 60 / rr - ti;
    const tau = te / 4;
    let flow: number;
    let paw: number;
    if (p < tiFrac) {
      flow = (vt / ti) * 60;
      paw = peep + (ppeak - peep) * (0.35 + 0.65 * (p / tiFrac));
    } else {
      const s = (p - tiFrac) * (60 / rr);
      flow = -(vt / tau) * Math.exp(-s / tau) * 60;
      paw = peep + (ppeak - peep) * 0.35 * Math.exp(-s / (tau / 2));
    }
    const et = v.etco2 ?? 36;
    const co2 = p < tiFrac ? (v.fico2 ?? 0) : et * (1 - Math.exp(-((p - tiFrac) / (1 - tiFrac)) * 8));
    const o2 = p < tiFrac ? (v.fiO2 ?? 50) : (v.etO2 ?? 45);
    const agent = p < tiFrac ? (v.fiAgent ?? 2.3) : (v.etAgent ?? 1.9);
    return {
      values: { 0x00: paw, 0x01: flow, 0x05: o2, 0x06: co2, 0x07: co2 * 0.133322, 0x08: co2 / 7.6, 0x0a: agent, 0x2a: agent * 1.01325 },
      start,
    };
  }
}
