/** Data Export nomenclature used by this driver (README). Names follow the PIPG. */

export const SPDU = { CN: 0x0d, AC: 0x0e, RF: 0x0c, FN: 0x09, DN: 0x0a, AB: 0x19, DATA: 0xe1 } as const;
export const RO = { ROIV: 1, RORS: 2, ROER: 3, RORLS: 5 } as const;
export const CMD = { EVENT_REPORT: 0, CONFIRMED_EVENT_REPORT: 1, GET: 3, SET: 4, CONFIRMED_SET: 5, CONFIRMED_ACTION: 7 } as const;
export const LINKED = { FIRST: 1, NOT_FIRST_NOT_LAST: 2, LAST: 3 } as const;

export const ROER_NAMES: Record<number, string> = {
  0: 'NO_SUCH_OBJECT_CLASS',
  1: 'NO_SUCH_OBJECT_INSTANCE',
  2: 'ACCESS_DENIED',
  7: 'GET_LIST_ERROR',
  8: 'SET_LIST_ERROR',
  9: 'NO_SUCH_ACTION',
  10: 'PROCESSING_FAILURE',
  15: 'INVALID_ARGUMENT_VALUE',
  16: 'INVALID_SCOPE',
  17: 'INVALID_OBJECT_INSTANCE',
};

export const MOC = { VMS_MDS: 0x0021, VMO_METRIC_NU: 0x0006, VMO_METRIC_SA_RT: 0x0009, VMO_AL_MON: 0x0036, PT_DEMOG: 0x002a } as const;
export const NOTI = { MDS_CREAT: 0x0d06, CONNECT_INDIC: 0x0d17 } as const;
export const ACT = { POLL_MDIB_DATA: 0x0c16, POLL_MDIB_DATA_EXT: 0xf13b } as const;
export const PART = { OBJ: 1, SCADA: 2, DIM: 4, INFRASTRUCT: 8 } as const;

export const ATTR = {
  AL_MON_P_AL_LIST: 0x0902,
  AL_MON_T_AL_LIST: 0x0904,
  DISP_RES: 0x0917,
  ID_BED_LABEL: 0x091e,
  ID_HANDLE: 0x0921,
  ID_LABEL: 0x0924,
  ID_LABEL_STRING: 0x0927,
  ID_MODEL: 0x0928,
  ID_PROD_SPECN: 0x092d,
  ID_TYPE: 0x092f,
  METRIC_SPECN: 0x093f,
  NU_CMPD_VAL_OBS: 0x094b,
  NU_VAL_OBS: 0x0950,
  SA_CALIB_I16: 0x0964,
  SA_CMPD_VAL_OBS: 0x0967,
  SA_SPECN: 0x096d,
  SA_VAL_OBS: 0x096e,
  SCALE_SPECN_I16: 0x096f,
  SYS_ID: 0x0984,
  TIME_ABS: 0x0987,
  TIME_PD_SAMP: 0x098d,
  TIME_REL: 0x098f,
  TIME_STAMP_ABS: 0x0990,
  TIME_STAMP_REL: 0x0991,
  UNIT_CODE: 0x0996,
  POLL_PROFILE_EXT: 0xf001,
  TIME_PD_POLL: 0xf13e,
  POLL_RTSA_PRIO_LIST: 0xf23a,
  NET_ADDR_INFO: 0xf100,
  PCOL_SUPPORT: 0xf101,
} as const;

/** Measurement state bits (README §Values). */
export const MSMT = {
  INVALID: 0x8000,
  QUESTIONABLE: 0x4000,
  UNAVAILABLE: 0x2000,
  CALIBRATION_ONGOING: 0x1000,
  TEST_DATA: 0x0800,
  DEMO_DATA: 0x0400,
  VALIDATED: 0x0080,
  EARLY_INDICATION: 0x0040,
  MSMT_ONGOING: 0x0020,
  IN_ALARM: 0x0002,
  AL_INHIBITED: 0x0001,
} as const;

/** Poll profile extension options (AARQ, README §Session). */
export const POLL_EXT = {
  PERIOD_NU_1SEC: 0x80000000,
  PERIOD_NU_AVG_12SEC: 0x40000000,
  PERIOD_NU_AVG_60SEC: 0x20000000,
  PERIOD_NU_AVG_300SEC: 0x10000000,
  PERIOD_RTSA: 0x08000000,
  ENUM: 0x04000000,
  NU_PRIO_LIST: 0x02000000,
  DYN_MODALITIES: 0x01000000,
} as const;

/** NOM_PART_DIM unit code → UCUM (README §Values). Unknown codes are published as `{philips-dim-0xNNNN}`. */
export const UNIT_UCUM: Record<number, string> = {
  0x0200: '1',
  0x0220: '%',
  0x0aa0: '/min',
  0x0ae0: '/min',
  0x0f20: 'mm[Hg]',
  0x0f03: 'kPa',
  0x0f40: 'cm[H2O]',
  0x0f72: 'mbar',
  0x17a0: 'Cel',
  0x1140: '[degF]',
  0x0652: 'mL',
  0x0c00: 'L/min',
  0x10b2: 'mV',
  0x10b3: 'uV',
  0x0512: 'mm',
  0x0511: 'cm',
  0x06c3: 'kg',
};

/** NOM_DIM_NOS: no unit stated. */
export const DIM_NOS = 0x0000;

export function unitUcum(code: number | undefined): string | undefined {
  if (code === undefined || code === DIM_NOS) return undefined;
  return UNIT_UCUM[code] ?? `{philips-dim-0x${code.toString(16).padStart(4, '0')}}`;
}

/** Vendor code of a physiological id as the profiles key it: "0x4182". */
export function physioKey(id: number): string {
  return `0x${id.toString(16).padStart(4, '0').toUpperCase()}`;
}

/** Alert types (AlertType) → canonical priority and source. */
export const ALERT_TYPE: Record<number, { priority: 'low' | 'medium' | 'high'; source: 'technical' | 'physiological' }> = {
  1: { priority: 'low', source: 'technical' },
  2: { priority: 'medium', source: 'technical' },
  4: { priority: 'high', source: 'technical' },
  256: { priority: 'low', source: 'physiological' },
  512: { priority: 'medium', source: 'physiological' },
  1024: { priority: 'high', source: 'physiological' },
};
