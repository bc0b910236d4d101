/**
 * What the simulated workstation reports: CP1 items (code → physiology vital, wire decimals,
 * unit conversion) with the canonical id the simulator itself claims (independent of the gateway
 * profile, so the round trip checks the profile), plus realtime channels (Atlan ESC S values).
 * Pressures: the physiology model speaks cm[H2O]; MEDIBUS speaks mbar (1 mbar = 1.01972 cmH2O).
 */
import type { VitalKey } from '../physiology/index.js';
import type { RtChannelConfig } from '../../../gateway/src/protocols/draeger-medibus/index.js';

export const CMH2O_PER_MBAR = 1.01972;

export interface Cp1Item {
  code: number;
  key: VitalKey;
  decimals: number;
  mdc: string | null;
  unit: string;
  convert?: (v: number) => number;
}

const mbar = (v: number): number => v / CMH2O_PER_MBAR;

export const CP1_ITEMS: Cp1Item[] = [
  { code: 0x7d, key: 'ppeak', decimals: 0, mdc: 'MDC_VENT_PRESS_AWAY_MAX', unit: 'mbar', convert: mbar },
  { code: 0x78, key: 'peep', decimals: 1, mdc: 'MDC_VENT_PRESS_AWAY_END_EXP_POS', unit: 'mbar', convert: mbar },
  { code: 0x74, key: 'pplat', decimals: 0, mdc: 'MDC_VENT_PRESS_RESP_PLAT', unit: 'mbar', convert: mbar },
  { code: 0x73, key: 'pmean', decimals: 0, mdc: 'MDC_VENT_PRESS_AWAY_MEAN', unit: 'mbar', convert: mbar },
  { code: 0x88, key: 'tidalVolume', decimals: 0, mdc: 'MDC_VENT_VOL_TIDAL', unit: 'mL' },
  { code: 0xb9, key: 'minuteVolume', decimals: 2, mdc: 'MDC_VENT_VOL_MINUTE', unit: 'L/min' },
  { code: 0xd6, key: 'ventRate', decimals: 0, mdc: 'MDC_VENT_RESP_RATE', unit: '/min' },
  { code: 0xe6, key: 'etco2', decimals: 0, mdc: 'MDC_CONC_AWAY_CO2_ET', unit: 'mm[Hg]' },
  { code: 0xe5, key: 'fico2', decimals: 1, mdc: 'MDC_CONC_AWAY_CO2_INSP', unit: 'mm[Hg]' },
  { code: 0xf0, key: 'fiO2', decimals: 0, mdc: 'MDC_CONC_AWAY_O2_INSP', unit: '%' },
  { code: 0xef, key: 'etO2', decimals: 0, mdc: 'MDC_CONC_AWAY_O2_EXP', unit: '%' },
  { code: 0xb0, key: 'fiAgent', decimals: 1, mdc: 'MDC_CONC_AWAY_SEVOFL_INSP', unit: '%' },
  { code: 0xb1, key: 'etAgent', decimals: 1, mdc: 'MDC_CONC_AWAY_SEVOFL_ET', unit: '%' },
  { code: 0xad, key: 'mac', decimals: 2, mdc: 'MDC_CONC_MAC', unit: '1' },
  { code: 0xeb, key: 'spo2', decimals: 0, mdc: 'MDC_PULS_OXIM_SAT_O2', unit: '%' },
  { code: 0xe1, key: 'pulseRate', decimals: 0, mdc: 'MDC_PULS_OXIM_PULS_RATE', unit: '/min' },
  { code: 0xdc, key: 'hr', decimals: 0, mdc: 'MDC_ECG_HEART_RATE', unit: '/min' },
  { code: 0xc3, key: 'tempEso', decimals: 1, mdc: 'MDC_TEMP', unit: 'Cel' },
  { code: 0x06, key: 'compliance', decimals: 0, mdc: 'MDC_COMPL_LUNG', unit: 'mL/mbar', convert: (v) => v * CMH2O_PER_MBAR },
  // VTe (mandatory): a real CP1 code with no MDC mapping in the profiles → must arrive flagged 'unmapped'.
  { code: 0x83, key: 'tidalVolume', decimals: 0, mdc: null, unit: '{vendor}' },
];

/** The real Atlan A350 XL ESC S answer (docs/protocols/draeger-medibus.md "Realtime waves"). */
export const ATLAN_RT_CONFIG: RtChannelConfig[] = [
  { code: 0x00, intervalUs: 20000, min: -21, max: 121, maxBin: 0xfff },
  { code: 0x01, intervalUs: 20000, min: -181, max: 181, maxBin: 0xfff },
  { code: 0x05, intervalUs: 20000, min: 0, max: 100, maxBin: 0xfff },
  { code: 0x06, intervalUs: 20000, min: 0, max: 120, maxBin: 0xfff },
  { code: 0x07, intervalUs: 20000, min: 0, max: 20, maxBin: 0xfff },
  { code: 0x08, intervalUs: 20000, min: 0, max: 100, maxBin: 0xfff },
  { code: 0x0a, intervalUs: 20000, min: 0, max: 20, maxBin: 0xfff },
  { code: 0x2a, intervalUs: 20000, min: 0, max: 20, maxBin: 0xfff },
];

/** Canonical id the simulator claims for each realtime code. */
export const RT_CANONICAL: Record<number, { mdc: string; unit: string }> = {
  0x00: { mdc: 'MDC_PRESS_AWAY', unit: 'mbar' },
  0x01: { mdc: 'MDC_FLOW_AWAY', unit: 'L/min' },
  0x05: { mdc: 'MDC_CONC_AWAY_O2', unit: '%' },
  0x06: { mdc: 'MDC_CONC_AWAY_CO2', unit: 'mm[Hg]' },
  0x07: { mdc: 'MDC_CONC_AWAY_CO2', unit: 'kPa' },
  0x08: { mdc: 'MDC_CONC_AWAY_CO2', unit: '%' },
  0x0a: { mdc: 'MDC_CONC_AWAY_AGENT', unit: '%' },
  0x2a: { mdc: 'MDC_CONC_AWAY_AGENT', unit: 'kPa' },
};

/** Simulator-local setting codes (not from a Dräger table) and alarm/text codes. */
export const SETTINGS: { code: number; text?: string; key?: VitalKey }[] = [
  { code: 0x01, text: 'VC' },
  { code: 0x02, key: 'tidalVolume' },
  { code: 0x03, key: 'ventRate' },
];
export const ALARM = { code: 0x21, priority: 3, text: 'MV LOW' };
export const TEXT = { code: 0x05, text: 'VC-CMV' };
