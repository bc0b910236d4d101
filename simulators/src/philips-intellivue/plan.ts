/**
 * What the simulated IntelliVue exports: numeric objects (physio ids, units, resolution, the
 * canonical vital they come from) and wave objects (rate, scale, recording). The ids/units are
 * Philips nomenclature (see docs/philips-intellivue.md); the ints the wire carries are
 * quantised here so the produced truth equals what a decoder must output.
 */
import type { VitalKey, WaveKind } from '../physiology/index.js';

export interface NumericPlan {
  physioId: number;
  vital: VitalKey;
  unitCode: number;
  unit: string;
  exponent: number;
}
export interface NumericObject {
  handle: number;
  label: string;
  members: NumericPlan[];
}

const n = (physioId: number, vital: VitalKey, unitCode: number, unit: string, exponent: number): NumericPlan => ({ physioId, vital, unitCode, unit, exponent });

export const NUMERIC_OBJECTS: NumericObject[] = [
  { handle: 0x0101, label: 'HR', members: [n(0x4182, 'hr', 0x0aa0, '/min', 0)] },
  { handle: 0x0102, label: 'SpO2', members: [n(0x4bb8, 'spo2', 0x0220, '%', 0)] },
  { handle: 0x0103, label: 'Pulse', members: [n(0x4822, 'pulseRate', 0x0aa0, '/min', 0)] },
  {
    handle: 0x0104,
    label: 'ART',
    members: [n(0x4a11, 'artSys', 0x0f20, 'mm[Hg]', 0), n(0x4a12, 'artDia', 0x0f20, 'mm[Hg]', 0), n(0x4a13, 'artMean', 0x0f20, 'mm[Hg]', 0)],
  },
  {
    handle: 0x0105,
    label: 'NBP',
    members: [n(0x4a05, 'nibpSys', 0x0f20, 'mm[Hg]', 0), n(0x4a06, 'nibpDia', 0x0f20, 'mm[Hg]', 0), n(0x4a07, 'nibpMean', 0x0f20, 'mm[Hg]', 0)],
  },
  { handle: 0x0106, label: 'etCO2', members: [n(0x50b0, 'etco2', 0x0f20, 'mm[Hg]', 0)] },
  { handle: 0x0107, label: 'awRR', members: [n(0x5012, 'respRate', 0x0ae0, '/min', 0)] },
  { handle: 0x0108, label: 'Tesoph', members: [n(0x4b64, 'tempEso', 0x17a0, 'Cel', -1)] },
  { handle: 0x0109, label: 'BIS', members: [n(0xf04e, 'bis', 0x0200, '1', 0)] },
  { handle: 0x010a, label: 'CVP', members: [n(0x4a47, 'cvp', 0x0f20, 'mm[Hg]', 0)] },
];

export interface WavePlan {
  handle: number;
  physioId: number;
  kind: WaveKind;
  label: string;
  /** TIME_PD_SAMP, 125 µs ticks. */
  period: number;
  rateHz: number;
  significantBits: number;
  /** null bounds = uncalibrated (pleth) */
  lowerAbs: number | null;
  upperAbs: number | null;
  lowerScaled: number;
  upperScaled: number;
  absExponent: number;
  unitCode: number;
  unit: string;
  /** physical (model units) → wire int */
  toInt: (v: number) => number;
}

const clamp = (x: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, Math.round(x)));

export const WAVES: WavePlan[] = [
  {
    handle: 0x0201,
    physioId: 0x0102,
    kind: 'ecg2',
    label: 'II',
    period: 16,
    rateHz: 500,
    significantBits: 14,
    lowerAbs: -40.96,
    upperAbs: 40.955,
    lowerScaled: 0,
    upperScaled: 16383,
    absExponent: -3,
    unitCode: 0x10b2,
    unit: 'mV',
    toInt: (v) => clamp(v / 0.005 + 8192, 0, 16383),
  },
  {
    handle: 0x0202,
    physioId: 0x4bb4,
    kind: 'pleth',
    label: 'Pleth',
    period: 64,
    rateHz: 125,
    significantBits: 12,
    lowerAbs: null,
    upperAbs: null,
    lowerScaled: 0,
    upperScaled: 4095,
    absExponent: 0,
    unitCode: 0x0200,
    unit: '1',
    toInt: (v) => clamp(v * 40, 0, 4095),
  },
  {
    handle: 0x0203,
    physioId: 0x4a10,
    kind: 'art',
    label: 'ART',
    period: 64,
    rateHz: 125,
    significantBits: 12,
    lowerAbs: -40,
    upperAbs: 360,
    lowerScaled: 0,
    upperScaled: 4000,
    absExponent: 0,
    unitCode: 0x0f20,
    unit: 'mm[Hg]',
    toInt: (v) => clamp((v + 40) * 10, 0, 4000),
  },
  {
    handle: 0x0204,
    physioId: 0x50ac,
    kind: 'co2',
    label: 'CO2',
    period: 128,
    rateHz: 62.5,
    significantBits: 12,
    lowerAbs: 0,
    upperAbs: 100,
    lowerScaled: 0,
    upperScaled: 1000,
    absExponent: 0,
    unitCode: 0x0f20,
    unit: 'mm[Hg]',
    toInt: (v) => clamp(v * 7.6 * 10, 0, 1000),
  },
];

/** The physical value a decoder computes from a wire int (the same rounding as intToSample). */
export function waveValue(w: WavePlan, i: number): number {
  if (w.lowerAbs === null || w.upperAbs === null) return i;
  const scale = Number(((w.upperAbs - w.lowerAbs) / (w.upperScaled - w.lowerScaled)).toPrecision(12));
  const offset = Number((w.lowerAbs - w.lowerScaled * ((w.upperAbs - w.lowerAbs) / (w.upperScaled - w.lowerScaled))).toPrecision(12));
  return Number((i * scale + offset).toPrecision(12));
}

/** Decimal rounding to a FLOAT exponent, as the wire carries it. */
export function quantise(v: number, exponent: number): number {
  const f = 10 ** -exponent;
  return exponent < 0 ? Math.round(v * f) / f : Math.round(v / 10 ** exponent) * 10 ** exponent;
}
