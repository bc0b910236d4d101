/**
 * The canonical vitals the physiology model produces: MDC reference id + UCUM unit
 * (ISO/IEEE 11073-10101 nomenclature), with the default baseline of an anaesthetised adult and the
 * random-walk parameters (stationary sd, mean-reversion time constant, hard bounds).
 * BIS, State/Response Entropy and ambient pressure have no verified numeric MDC code: the ids
 * used for them are the project-local ones of firmware-profiles/ge (MDC_X_GE_*), and where the
 * nomenclature allows several codes the choice follows those profiles (see docs/simulators.md).
 */
export type VitalKey =
  | 'hr'
  | 'spo2'
  | 'pulseRate'
  | 'artSys'
  | 'artDia'
  | 'artMean'
  | 'artPulseRate'
  | 'cvp'
  | 'nibpSys'
  | 'nibpDia'
  | 'nibpMean'
  | 'tempEso'
  | 'tempSkin'
  | 'etco2'
  | 'fico2'
  | 'respRate'
  | 'etO2'
  | 'fiO2'
  | 'etN2O'
  | 'fiN2O'
  | 'etAgent'
  | 'fiAgent'
  | 'mac'
  | 'bis'
  | 'entropyState'
  | 'entropyResponse'
  | 'ventRate'
  | 'ppeak'
  | 'peep'
  | 'pplat'
  | 'pmean'
  | 'tidalVolume'
  | 'minuteVolume'
  | 'compliance'
  | 'ieRatio'
  | 'ambientPressure';

export interface VitalDef {
  mdc: string;
  unit: string;
  base: number; // default baseline
  sd: number; // stationary standard deviation of the random walk (0 = derived or constant)
  tauS: number; // mean-reversion time constant, seconds
  min: number;
  max: number;
}

const v = (mdc: string, unit: string, base: number, sd: number, tauS: number, min: number, max: number): VitalDef => ({ mdc, unit, base, sd, tauS, min, max });

export const VITALS: Record<VitalKey, VitalDef> = {
  hr: v('MDC_ECG_HEART_RATE', '/min', 72, 4, 120, 30, 200),
  spo2: v('MDC_PULS_OXIM_SAT_O2', '%', 98, 0.8, 60, 70, 100),
  pulseRate: v('MDC_PULS_OXIM_PULS_RATE', '/min', 72, 0, 1, 30, 200), // = hr + small noise
  artSys: v('MDC_PRESS_BLD_ART_SYS', 'mm[Hg]', 118, 6, 180, 60, 220),
  artDia: v('MDC_PRESS_BLD_ART_DIA', 'mm[Hg]', 66, 4, 180, 30, 130),
  artMean: v('MDC_PRESS_BLD_ART_MEAN', 'mm[Hg]', 83, 0, 1, 40, 160), // dia + (sys − dia)/3
  artPulseRate: v('MDC_BLD_PULS_RATE_INV', '/min', 72, 0, 1, 30, 200), // = hr
  cvp: v('MDC_PRESS_BLD_VEN_CENT_MEAN', 'mm[Hg]', 8, 1, 300, 0, 25),
  nibpSys: v('MDC_PRESS_BLD_NONINV_SYS', 'mm[Hg]', 120, 0, 1, 60, 220), // sampled every N min
  nibpDia: v('MDC_PRESS_BLD_NONINV_DIA', 'mm[Hg]', 68, 0, 1, 30, 130),
  nibpMean: v('MDC_PRESS_BLD_NONINV_MEAN', 'mm[Hg]', 85, 0, 1, 40, 160),
  tempEso: v('MDC_TEMP_ESOPH', 'Cel', 36.4, 0.15, 1800, 33, 40),
  tempSkin: v('MDC_TEMP_SKIN', 'Cel', 33.8, 0.3, 1200, 28, 38),
  etco2: v('MDC_CONC_AWAY_CO2_ET', 'mm[Hg]', 36, 1.5, 120, 20, 60),
  fico2: v('MDC_CONC_AWAY_CO2_INSP', 'mm[Hg]', 0.3, 0.15, 60, 0, 5),
  respRate: v('MDC_AWAY_RESP_RATE', '/min', 12, 0, 1, 6, 30), // airway (CO2) rate = ventRate
  etO2: v('MDC_CONC_AWAY_O2_EXP', '%', 45, 1, 300, 18, 95),
  fiO2: v('MDC_CONC_AWAY_O2_INSP', '%', 50, 0.5, 600, 21, 100),
  etN2O: v('MDC_CONC_AWAY_N2O_ET', '%', 0, 0, 1, 0, 80),
  fiN2O: v('MDC_CONC_AWAY_N2O_INSP', '%', 0, 0, 1, 0, 80),
  etAgent: v('MDC_CONC_AWAY_SEVOFL_ET', '%', 1.9, 0.1, 300, 0, 8), // mdc follows the agent
  fiAgent: v('MDC_CONC_AWAY_SEVOFL_INSP', '%', 2.3, 0.1, 300, 0, 8),
  mac: v('MDC_CONC_MAC', '1', 0.93, 0, 1, 0, 4), // derived from et gases
  bis: v('MDC_EEG_BISPECTRAL_INDEX', '1', 45, 5, 120, 0, 100),
  entropyState: v('MDC_X_GE_ENTROPY_STATE', '1', 44, 5, 120, 0, 91),
  entropyResponse: v('MDC_X_GE_ENTROPY_RESPONSE', '1', 48, 5, 120, 0, 100),
  ventRate: v('MDC_VENT_RESP_RATE', '/min', 12, 0.3, 900, 6, 30),
  ppeak: v('MDC_VENT_PRESS_AWAY_MAX', 'cm[H2O]', 19, 1, 300, 8, 45),
  peep: v('MDC_VENT_PRESS_AWAY_END_EXP_POS', 'cm[H2O]', 5, 0, 1, 0, 20),
  pplat: v('MDC_VENT_PRESS_RESP_PLAT', 'cm[H2O]', 16, 0, 1, 5, 40), // ppeak − 3
  pmean: v('MDC_VENT_PRESS_AWAY_MEAN', 'cm[H2O]', 9, 0, 1, 2, 30), // derived
  tidalVolume: v('MDC_VOL_AWAY_TIDAL_EXP', 'mL', 480, 15, 300, 200, 900),
  minuteVolume: v('MDC_VENT_VOL_MINUTE', 'L/min', 5.8, 0, 1, 1, 20), // tv × rate
  compliance: v('MDC_COMPL_LUNG', 'mL/cm[H2O]', 44, 0, 1, 5, 150), // tv / (pplat − peep)
  ieRatio: v('MDC_RATIO_IE', '1', 0.5, 0, 1, 0.1, 2),
  ambientPressure: v('MDC_X_GE_PRESS_AMBIENT', 'mm[Hg]', 760, 0.5, 3600, 600, 800),
};

export const VITAL_KEYS = Object.keys(VITALS) as VitalKey[];

export type Agent = 'SEV' | 'ISO' | 'DES' | 'HAL' | 'ENF';
/** MDC ids of the et/insp agent concentration and the agent's 1-MAC (%, adult, age-unadjusted). */
export const AGENTS: Record<Agent, { et: string; insp: string; mac: number; driLabel: number }> = {
  SEV: { et: 'MDC_CONC_AWAY_SEVOFL_ET', insp: 'MDC_CONC_AWAY_SEVOFL_INSP', mac: 2.05, driLabel: 6 },
  ISO: { et: 'MDC_CONC_AWAY_ISOFL_ET', insp: 'MDC_CONC_AWAY_ISOFL_INSP', mac: 1.15, driLabel: 4 },
  DES: { et: 'MDC_CONC_AWAY_DESFL_ET', insp: 'MDC_CONC_AWAY_DESFL_INSP', mac: 6.0, driLabel: 5 },
  HAL: { et: 'MDC_CONC_AWAY_HALOTH_ET', insp: 'MDC_CONC_AWAY_HALOTH_INSP', mac: 0.75, driLabel: 2 },
  ENF: { et: 'MDC_CONC_AWAY_ENFL_ET', insp: 'MDC_CONC_AWAY_ENFL_INSP', mac: 1.68, driLabel: 3 },
};
/** 1 MAC of N2O, %. */
export const N2O_MAC = 104;
