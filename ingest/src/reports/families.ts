/**
 * Parameter families of the billing and QC reports (docs/reports.md "Families"): which stored
 * numerics (their `mdc` tag: the MDC reference id, or the vendor code of an unmapped parameter)
 * count as monitoring of which family. Exact ids first, then prefixes; anything else belongs to no
 * family. Waves are not looked at: a family is monitored through its numerics.
 */
export const FAMILIES = ['ecg', 'nibp', 'spo2', 'etco2', 'invasive-pressure', 'bis-entropy', 'temperature'] as const;
export type Family = (typeof FAMILIES)[number];

/** The five families of the QC report (provincial QC standard). */
export const QC_FAMILIES: readonly Family[] = ['ecg', 'nibp', 'spo2', 'temperature', 'etco2'];

export interface FamilyRule {
  family: Family;
  exact: readonly string[];
  prefixes: readonly string[];
  vendorCodes: readonly string[];
  except: readonly string[];
}

export const FAMILY_RULES: readonly FamilyRule[] = [
  // ECG: heart rate from the ECG and the other ECG numerics (ST, PVC rate) prove the leads are on
  { family: 'ecg', exact: [], prefixes: ['MDC_ECG_'], vendorCodes: [], except: [] },
  { family: 'nibp', exact: [], prefixes: ['MDC_PRESS_BLD_NONINV', 'MDC_PRESS_CUFF'], vendorCodes: [], except: [] },
  // arterial saturation only: MDC_SAT_O2_VEN (venous) and the pulse rate of the oximeter are not SpO2
  { family: 'spo2', exact: ['MDC_PULS_OXIM_SAT_O2'], prefixes: [], vendorCodes: [], except: [] },
  // end-tidal CO2 (MDC_CONC_AWAY_CO2_EXP is the expired = end-tidal value of some monitors); inspired CO2 is not
  { family: 'etco2', exact: ['MDC_CONC_AWAY_CO2_ET', 'MDC_AWAY_CO2_ET', 'MDC_CONC_AWAY_CO2_EXP'], prefixes: [], vendorCodes: [], except: [] },
  // arterial, central venous, pulmonary arterial, wedge and generic (labelled) invasive pressures
  { family: 'invasive-pressure', exact: [], prefixes: ['MDC_PRESS_BLD'], vendorCodes: [], except: ['MDC_PRESS_BLD_NONINV'] },
  // BIS of any source; GE Entropy state/response entropy (the other EEG/BIS numerics are quality indices)
  {
    family: 'bis-entropy',
    exact: ['MDC_EEG_BISPECTRAL_INDEX', 'MDC_X_GE_ENTROPY_STATE', 'MDC_X_GE_ENTROPY_RESPONSE'],
    prefixes: [],
    vendorCodes: ['BIS'],
    except: [],
  },
  // every temperature site; MDC_TEMP_DIFF is a difference of two sites, not a temperature
  { family: 'temperature', exact: [], prefixes: ['MDC_TEMP'], vendorCodes: [], except: ['MDC_TEMP_DIFF'] },
];

/**
 * Temperatures that can show hypothermia: core sites and the generic MDC_TEMP (site unknown).
 * Skin, axillary and airway temperatures run below core and would report false episodes.
 */
export const CORE_TEMPERATURES: ReadonlySet<string> = new Set([
  'MDC_TEMP',
  'MDC_TEMP_CORE',
  'MDC_TEMP_ESOPH',
  'MDC_TEMP_NASOPH',
  'MDC_TEMP_RECT',
  'MDC_TEMP_TYMP',
  'MDC_TEMP_BLD',
  'MDC_TEMP_ART',
]);

const memo = new Map<string, Family | null>();

/** The family of a stored parameter (its `mdc` tag), or null. */
export function familyOf(param: string): Family | null {
  const known = memo.get(param);
  if (known !== undefined) return known;
  let found: Family | null = null;
  for (const r of FAMILY_RULES) {
    if (r.except.some((e) => param.startsWith(e))) continue;
    if (r.exact.includes(param) || r.vendorCodes.includes(param) || r.prefixes.some((p) => param.startsWith(p))) {
      found = r.family;
      break;
    }
  }
  if (memo.size < 10_000) memo.set(param, found);
  return found;
}

/** The NIBP parameters whose measurement times are counted (a cuff measurement stores sys, dia, mean at one time). */
export const NIBP_PARAMS: readonly string[] = [
  'MDC_PRESS_BLD_NONINV_SYS',
  'MDC_PRESS_BLD_NONINV_DIA',
  'MDC_PRESS_BLD_NONINV_MEAN',
  'MDC_PRESS_CUFF_SYS',
  'MDC_PRESS_CUFF_DIA',
  'MDC_PRESS_CUFF_MEAN',
];
