/**
 * Test data of the report tests (reports.test.ts, reports.integration.test.ts): two closed cases with
 * numerics whose billing and QC numbers are worked out by hand in EXPECTED. Minute m of case 1 is
 * [T0 + m min, T0 + (m + 1) min).
 *
 * Case 1, bed or1-bed (room or1), [T0, T0 + 60 min), devices mon1 and vent1, registered device pump9 (no data):
 *   ECG HR every 10 s, minutes 0–59                         → 60 min
 *   SpO2 every 10 s, minutes 0–59, except 10–14 (null = invalid) and 15 (demo-flagged)   → 54 min
 *   NIBP sys/dia/mean every minute (+30 s) holding the last measurement; new measurements at minute 0, 5, …, 55 but
 *   not 25 (held 20 goes on); invalid (null) at 25 and 57   → 11 measurements covering minutes 0–24, 30–59 = 55 min
 *   core temperature (ESOPH) every 30 s: 36.5; minutes 30–45: 35.5 (35.2 in minute 38); minutes 50–52: 35.8
 *   skin temperature 33.0 every minute (never an episode)   → temperature 60 min
 *   EtCO2 (vent1) every 10 s, minutes 5–54                  → 50 min
 *   ART mean every 10 s, minutes 20–39                      → 20 min
 *   BIS unmapped (vendor code BIS) every 10 s, minutes 0–29 → 30 min
 *   events: in-room 0, anesthesia-start 2, incision 17.5, surgery-end 50, out-of-room 58 (minutes)
 * Case 2, bed or2-bed (room or2), [T0, T0 + 30 min), device mon2: ECG HR every 10 s, minutes 0–24; no events.
 */
import type { Flag } from '../../../schemas/src/observation.js';
import { EventStore } from '../events/event-store.js';
import { numericPoint } from '../series/layout.js';
import type { SeriesPoint } from '../series/types.js';
import type { Services } from '../services.js';

export const M = 60_000;

function num(t: number, mdc: string | null, vendorCode: string, value: number | null, device: string, bed: string, room: string, flags?: Flag[]): SeriesPoint {
  return numericPoint({ kind: 'numeric', mdc, code: null, value, unit: '', t, vendorCode, ...(flags ? { flags } : {}) }, { site: 's', room, bed, device });
}

export function scenarioPoints(T0: number): SeriesPoint[] {
  const pts: SeriesPoint[] = [];
  let held: (number | null)[] = [];
  const one = (t: number, mdc: string | null, vc: string, v: number | null, device = 'mon1', flags?: Flag[]) =>
    pts.push(num(t, mdc, vc, v, device, 'or1-bed', 'or1', flags));
  for (let m = 0; m < 60; m++) {
    for (let s = 0; s < 60; s += 10) {
      const t = T0 + m * M + s * 1000;
      one(t, 'MDC_ECG_HEART_RATE', 'HR', 70);
      if (m >= 10 && m <= 14) one(t, 'MDC_PULS_OXIM_SAT_O2', 'SPO2', null);
      else if (m === 15) one(t, 'MDC_PULS_OXIM_SAT_O2', 'SPO2', 98, 'mon1', ['demo']);
      else one(t, 'MDC_PULS_OXIM_SAT_O2', 'SPO2', 98);
      if (m >= 5 && m <= 54) one(t, 'MDC_CONC_AWAY_CO2_ET', 'ETCO2', 38, 'vent1');
      if (m >= 20 && m <= 39) one(t, 'MDC_PRESS_BLD_ART_ABP_MEAN', 'ABP_M', 80);
      if (m < 30) one(t, null, 'BIS', 45);
      if (s % 30 === 0) {
        const cold = m >= 30 && m <= 45 ? (m === 38 ? 35.2 : 35.5) : m >= 50 && m <= 52 ? 35.8 : 36.5;
        one(t, 'MDC_TEMP_ESOPH', 'T1', cold);
      }
    }
    one(T0 + m * M + 5000, 'MDC_TEMP_SKIN', 'T2', 33);
    // NIBP held every minute (GE style): a new measurement every 5 minutes, none at 25 (cuff failed), invalid readings at 25 and 57
    if (m % 5 === 0 && m !== 25) held = [110 + m, 70, 83 + m / 5];
    const nibp = m === 25 || m === 57 ? [null, null, null] : held;
    (['SYS', 'DIA', 'MEAN'] as const).forEach((p, i) => one(T0 + m * M + 30_000, `MDC_PRESS_BLD_NONINV_${p}`, `NBP_${p}`, nibp[i]));
  }
  for (let m = 0; m < 25; m++) for (let s = 0; s < 60; s += 10) pts.push(num(T0 + m * M + s * 1000, 'MDC_ECG_HEART_RATE', 'HR', 80, 'mon2', 'or2-bed', 'or2'));
  return pts;
}

export const EXPECTED = {
  billing1: { ecg: 60, nibp: 55, spo2: 54, etco2: 50, 'invasive-pressure': 20, 'bis-entropy': 30, temperature: 60 },
  nibpMeasurements: 11,
  // anesthesia [2, 58) = 56 min
  qc1: {
    anesthesiaMinutes: 56,
    minutes: { ecg: 56, nibp: 51, spo2: 50, temperature: 56, etco2: 50 },
    share: { ecg: 1, nibp: 0.9107, spo2: 0.8929, temperature: 1, etco2: 0.8929 },
    hypothermia: [{ startMin: 30, endMin: 46, minutes: 16, minTempC: 35.2 }],
    minutesToIncision: 15.5,
  },
  qc2: { anesthesiaMinutes: 30, ecgMinutes: 25, ecgShare: 0.8333 },
  devices: { mon1: [60, 60, 1], vent1: [60, 50, 0.8333], pump9: [60, 0, 0], mon2: [30, 25, 0.8333] },
  rooms: { or1: [60, 60], or2: [30, 25] },
} as const;

/** Registry, the two cases and case 1's events in `services` (the series is written by the caller). */
export function setupScenario(services: Services, T0: number): { case1: string; case2: string } {
  const r = services.registry;
  r.createSite({ id: 's', name: 'S' });
  for (const room of ['or1', 'or2']) {
    r.createRoom({ id: room, siteId: 's', name: room });
    r.createBed({ id: `${room}-bed`, roomId: room, name: room });
  }
  r.createDevice({ id: 'pump9', bedId: 'or1-bed' });
  const c1 = services.cases.create({ bedId: 'or1-bed', start: T0, end: T0 + 60 * M, externalIds: { mrn: 'MRN-SECRET-1' } });
  const c2 = services.cases.create({ bedId: 'or2-bed', start: T0, end: T0 + 30 * M });
  const ev = new EventStore(services.db, services.cases, services.audit);
  for (const [kind, t] of [
    ['in-room', 0],
    ['anesthesia-start', 2],
    ['incision', 17.5],
    ['surgery-end', 50],
    ['out-of-room', 58],
  ] as const) {
    ev.add(c1.id, { kind, t: T0 + t * M });
  }
  return { case1: c1.id, case2: c2.id };
}
