/**
 * Clinical events a scenario can place on the timeline, applied on top of the walked vitals:
 *   induction     the blood pressure falls (a share of sys and dia) and HR shifts over onsetS,
 *                 then recovers exponentially (time constant recoveryS)
 *   desaturation  SpO2 falls to a nadir over onsetS, stays holdS, comes back over recoveryS;
 *                 HR rises a little meanwhile
 * Magnitudes not given are drawn from the seed (per event), so an event list plus a seed is one
 * reproducible case. Times are seconds after the model's start.
 */
import { Rng } from './random.js';

export interface InductionEvent {
  kind: 'induction';
  atS: number;
  onsetS?: number;
  recoveryS?: number;
  bpDropPct?: number;
  hrDelta?: number;
}
export interface DesaturationEvent {
  kind: 'desaturation';
  atS: number;
  onsetS?: number;
  holdS?: number;
  recoveryS?: number;
  nadir?: number;
  hrDelta?: number;
}
export type PhysioEvent = InductionEvent | DesaturationEvent;

/** The vitals an event changes. */
export interface EventTarget {
  hr: number;
  spo2: number;
  artSys: number;
  artDia: number;
}

interface Resolved {
  kind: PhysioEvent['kind'];
  at: number;
  onset: number;
  hold: number;
  recovery: number;
  depth: number;
  hr: number;
}

const smooth = (x: number): number => (x <= 0 ? 0 : x >= 1 ? 1 : x * x * (3 - 2 * x));

/** 0..1: how far the event is in effect at elapsed ms. */
function envelope(e: Resolved, ms: number): number {
  const s = (ms - e.at) / 1000;
  if (s <= 0) return 0;
  if (s < e.onset) return smooth(s / e.onset);
  const after = s - e.onset - e.hold;
  if (after <= 0) return 1;
  return e.kind === 'induction' ? Math.exp(-after / e.recovery) : 1 - smooth(after / e.recovery);
}

/** Problems with an event list, as messages (empty = valid). */
export function checkEvents(list: unknown): string[] {
  if (!Array.isArray(list)) return ['events must be a list'];
  const errors: string[] = [];
  const pos = (v: unknown): boolean => v === undefined || (typeof v === 'number' && Number.isFinite(v) && v > 0);
  list.forEach((e: unknown, i) => {
    const at = `events[${i}]`;
    if (e === null || typeof e !== 'object') {
      errors.push(`${at} must be a mapping`);
      return;
    }
    const o = e as Record<string, unknown>;
    const allowed =
      o.kind === 'induction'
        ? ['kind', 'atS', 'onsetS', 'recoveryS', 'bpDropPct', 'hrDelta']
        : o.kind === 'desaturation'
          ? ['kind', 'atS', 'onsetS', 'holdS', 'recoveryS', 'nadir', 'hrDelta']
          : null;
    if (!allowed) {
      errors.push(`${at}.kind must be induction or desaturation`);
      return;
    }
    for (const k of Object.keys(o)) if (!allowed.includes(k)) errors.push(`${at}: unknown key '${k}'`);
    if (typeof o.atS !== 'number' || !Number.isFinite(o.atS) || o.atS < 0) errors.push(`${at}.atS must be a number >= 0`);
    for (const k of ['onsetS', 'holdS', 'recoveryS']) if (!pos(o[k])) errors.push(`${at}.${k} must be > 0`);
    if (o.bpDropPct !== undefined && !(typeof o.bpDropPct === 'number' && o.bpDropPct >= 0 && o.bpDropPct <= 70))
      errors.push(`${at}.bpDropPct must be in 0..70`);
    if (o.nadir !== undefined && !(typeof o.nadir === 'number' && o.nadir >= 50 && o.nadir <= 100)) errors.push(`${at}.nadir must be in 50..100`);
    if (o.hrDelta !== undefined && !(typeof o.hrDelta === 'number' && Math.abs(o.hrDelta) <= 80)) errors.push(`${at}.hrDelta must be in -80..80`);
  });
  return errors;
}

/** Deterministic effects of a list of events; `apply` is O(number of events). */
export class EventTimeline {
  private readonly events: Resolved[];

  constructor(list: readonly PhysioEvent[], seed: number) {
    this.events = list.map((e, i) => {
      const rng = Rng.keyed(seed, `event${i}:${e.kind}`);
      const draw = (lo: number, hi: number): number => lo + (hi - lo) * rng.next();
      if (e.kind === 'induction') {
        const depth = e.bpDropPct ?? draw(20, 35);
        const hr = e.hrDelta ?? draw(-12, 8);
        return { kind: e.kind, at: e.atS * 1000, onset: e.onsetS ?? 90, hold: 0, recovery: e.recoveryS ?? 480, depth, hr };
      }
      const depth = e.nadir ?? draw(82, 90);
      const hr = e.hrDelta ?? draw(4, 12);
      return { kind: e.kind, at: e.atS * 1000, onset: e.onsetS ?? 60, hold: e.holdS ?? 60, recovery: e.recoveryS ?? 90, depth, hr };
    });
  }

  get size(): number {
    return this.events.length;
  }

  /** The magnitudes in use (seeded where not given): induction depth in %, desaturation nadir in %. */
  describe(): { kind: string; atS: number; depth: number; hrDelta: number }[] {
    return this.events.map((e) => ({ kind: e.kind, atS: e.at / 1000, depth: e.depth, hrDelta: e.hr }));
  }

  /** Changes v in place for `elapsedMs` after the model's start. */
  apply(v: EventTarget, elapsedMs: number): void {
    for (const e of this.events) {
      const k = envelope(e, elapsedMs);
      if (k === 0) continue;
      if (e.kind === 'induction') {
        const f = 1 - (e.depth / 100) * k;
        v.artSys *= f;
        v.artDia *= f;
      } else if (v.spo2 > e.depth) {
        v.spo2 += (e.depth - v.spo2) * k;
      }
      v.hr += e.hr * k;
    }
  }
}
