/**
 * Canonical observations: what every decoder produces after profile mapping, what the gateway
 * publishes and what `orlink decode` prints (one JSON object per line); the wire form is in
 * docs/decisions.md §Wire contract. Absent values are `null`, never NaN, 0 or a vendor sentinel.
 */

/** Flags of a reading. On the wire and in InfluxDB they travel as a bit set (FLAG). */
export const FLAG = {
  invalid: 1 << 0, // device marked the value invalid (value is null)
  questionable: 1 << 1,
  calibrating: 1 << 2,
  demo: 1 << 3, // demo/simulation data from the device: never mix with patient data
  artifact: 1 << 4,
  unmapped: 1 << 5, // no profile mapping: mdc/code null, vendorCode kept
  'not-updated': 1 << 6,
  'under-range': 1 << 7,
  'over-range': 1 << 8,
  'not-calibrated': 1 << 9,
  'clock-offset': 1 << 10, // time corrected from the device clock by an estimated offset
  'clock-jump': 1 << 11, // gateway or device clock jumped near this reading
  uncalibrated: 1 << 12, // waveform samples are raw device units (e.g. pleth)
  discontinuity: 1 << 13,
} as const;

export type Flag = keyof typeof FLAG;

export function flagsToBits(flags: readonly Flag[] | undefined): number {
  let bits = 0;
  for (const f of flags ?? []) bits |= FLAG[f];
  return bits;
}

export function bitsToFlags(bits: number): Flag[] {
  const out: Flag[] = [];
  for (const [name, bit] of Object.entries(FLAG) as [Flag, number][]) if (bits & bit) out.push(name);
  return out;
}

export interface NumericObs {
  kind: 'numeric';
  mdc: string | null; // MDC reference id, e.g. MDC_ECG_HEART_RATE; null when unmapped
  code: number | null; // MDC numeric code, e.g. 147842
  value: number | null; // physical value in `unit`; null = absent
  unit: string; // UCUM
  t: number; // observation time, UTC epoch ms
  tDevice?: number; // device clock, epoch ms as the device states it
  vendorCode: string; // vendor's own identifier of the parameter
  label?: string; // vendor label / measurement site (ART, ESO, ...)
  flags?: Flag[];
}

export interface WaveObs {
  kind: 'wave';
  mdc: string | null;
  code: number | null;
  unit: string;
  t0: number; // UTC ms of the first sample
  rateHz: number;
  samples: (number | null)[]; // physical units; null = gap/invalid sample
  /** samples[i] === ints[i] * scale + offset: lets the wire carry exact ints. */
  scale: number;
  offset: number;
  vendorCode: string;
  label?: string;
  flags?: Flag[];
}

export interface AlarmObs {
  kind: 'alarm';
  mdc: string | null;
  code: number | null;
  text: string;
  priority: 'low' | 'medium' | 'high';
  source: 'physiological' | 'technical';
  phase: 'start' | 'update' | 'end';
  t: number;
  vendorCode?: string;
}

export interface SettingObs {
  kind: 'setting';
  name: string;
  value: number | string | null;
  unit?: string;
  t: number;
  vendorCode?: string;
}

export type Observation = NumericObs | WaveObs | AlarmObs | SettingObs;

/** Convert a physical sample back to the integer the wire carries. */
export function sampleToInt(v: number, scale: number, offset: number): number {
  return Math.round((v - offset) / scale);
}

/** Physical value of a wire integer; rounds away binary noise (12.340000000000002 → 12.34). */
export function intToSample(i: number, scale: number, offset: number): number {
  return Number((i * scale + offset).toPrecision(12));
}
