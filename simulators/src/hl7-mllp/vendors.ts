/**
 * Vendor styles of the simulated HL7 monitors: header fields, version, ACK expectation,
 * containment numbering, the OBX-3 codes each vendor really uses (with its quirks: GE EtCO2 as
 * MDC_CONC_AWAY_CO2_EXP, Comen 149522 labelled MDC_PULS_RATE for the SpO2 pulse rate, Mindray
 * PDS private ids and -100 sentinels) and what the gateway must publish for each (the truth).
 * Source: the vendor notes of docs/hl7-mllp.md (Mapping decisions). Where they are silent (GE NIBP
 * VMD number, Mindray ECG VMD) the numbering here is an assumption, marked `assumed`.
 */
import type { VitalKey } from '../physiology/index.js';

export type VendorName = 'ge-b40' | 'mindray' | 'mindray-pds' | 'comen' | 'pcd01';
export const VENDOR_NAMES: VendorName[] = ['ge-b40', 'mindray', 'mindray-pds', 'comen', 'pcd01'];

export interface ParamDef {
  vital: VitalKey;
  /** OBX-3 components (id, text, system) as the vendor sends them. */
  obx3: [string, string, string];
  /** OBX-4 containment, '' for none. */
  containment: string;
  /** OBX-6 components, [] for none. */
  unit: string[];
  decimals: number;
  /** What the gateway must publish: MDC reference id, UCUM unit, vendorCode. */
  mdc: string;
  ucum: string;
  vendorCode: string;
  /** Episodic (NIBP): OBX-14 = the measurement time, OBX-17 APERIODIC. */
  episodic?: boolean;
}

export interface VendorStyle {
  name: VendorName;
  /** Profile the gateway should auto-identify (or must be told, for PDS). */
  profile: string;
  msh3: string;
  msh4: string;
  version: string;
  msh15: string;
  msh16: string;
  msh21: string;
  /** OBX-18 equipment instance id, '' for none. */
  equipment: string;
  /** Role of the MONITOR: 'client' connects to the gateway; 'server' waits (Mindray PDS). */
  monitorRole: 'client' | 'server';
  /** Expected ACK code, or '' when the monitor expects none. */
  expectAck: string;
  /** Stamps carry an explicit offset (+0000) or not (profile time zone applies). */
  offset: boolean;
  /** Containment header OBXs (MDS/VMD) as PCD-01 senders emit them. */
  headers: boolean;
  /** MSH-10 of periodic messages ('' = running counter) and of NIBP messages (PDS 503). */
  controlId?: string;
  /** Sentinel text the vendor sends for an absent value of `sentinelVital` every 5th message. */
  sentinel?: { vital: VitalKey; text: string };
  params: ParamDef[];
}

const U = {
  pct: ['262688', 'MDC_DIM_PERCENT', 'MDC'],
  bpm: ['264864', 'MDC_DIM_BEAT_PER_MIN', 'MDC'],
  rpm: ['264928', 'MDC_DIM_RESP_PER_MIN', 'MDC'],
  mmhg: ['266016', 'MDC_DIM_MMHG', 'MDC'],
  cel: ['268192', 'MDC_DIM_DEGC', 'MDC'],
};

const p = (
  vital: VitalKey,
  code: number,
  ref: string,
  containment: string,
  unit: string[],
  decimals: number,
  mdc = ref,
  ucum = '',
  episodic = false,
): ParamDef => ({
  vital,
  obx3: [String(code), ref, 'MDC'],
  containment,
  unit,
  decimals,
  mdc,
  ucum: ucum || unitToUcum(unit),
  episodic,
  vendorCode: `MDC:${code}${containment ? `@${containment.split('.').slice(0, 3).join('.')}` : ''}`,
});

function unitToUcum(u: string[]): string {
  return ({ '262688': '%', '264864': '/min', '264928': '/min', '266016': 'mm[Hg]', '268192': 'Cel' } as Record<string, string>)[u[0] ?? ''] ?? '';
}

const GE_PARAMS: ParamDef[] = [
  p('hr', 147842, 'MDC_ECG_HEART_RATE', '1.5.1.1', U.bpm, 0),
  p('spo2', 150456, 'MDC_PULS_OXIM_SAT_O2', '1.22.1.1', U.pct, 0),
  p('pulseRate', 149530, 'MDC_PULS_OXIM_PULS_RATE', '1.22.1.2', U.bpm, 0),
  p('etco2', 151712, 'MDC_CONC_AWAY_CO2_EXP', '1.11.1.1', U.mmhg, 0, 'MDC_CONC_AWAY_CO2_ET'),
  p('fico2', 151716, 'MDC_CONC_AWAY_CO2_INSP', '1.11.1.2', U.mmhg, 0),
  p('artSys', 150033, 'MDC_PRESS_BLD_ART_SYS', '1.13.1.1', U.mmhg, 0),
  p('artDia', 150034, 'MDC_PRESS_BLD_ART_DIA', '1.13.1.2', U.mmhg, 0),
  p('artMean', 150035, 'MDC_PRESS_BLD_ART_MEAN', '1.13.1.3', U.mmhg, 0),
  p('cvp', 150087, 'MDC_PRESS_BLD_VEN_CENT_MEAN', '1.13.2.1', U.mmhg, 0),
  p('tempEso', 150372, 'MDC_TEMP_ESOPH', '1.26.1.1', U.cel, 1),
  p('nibpSys', 150021, 'MDC_PRESS_BLD_NONINV_SYS', '1.18.1.1', U.mmhg, 0, undefined, '', true), // VMD 18 assumed
  p('nibpDia', 150022, 'MDC_PRESS_BLD_NONINV_DIA', '1.18.1.2', U.mmhg, 0, undefined, '', true),
  p('nibpMean', 150023, 'MDC_PRESS_BLD_NONINV_MEAN', '1.18.1.3', U.mmhg, 0, undefined, '', true),
];

const mr = (vital: VitalKey, code: number, ref: string, vmdChan: string, unit: string[], decimals: number, mdc = ref, episodic = false): ParamDef =>
  p(vital, code, ref, `${vmdChan}.${code}`, unit, decimals, mdc, '', episodic);

const MINDRAY_PARAMS: ParamDef[] = [
  mr('hr', 147842, 'MDC_ECG_HEART_RATE', '1.4.1', U.bpm, 0), // ECG VMD 4 assumed
  mr('spo2', 150456, 'MDC_PULS_OXIM_SAT_O2', '1.3.1', U.pct, 0),
  mr('pulseRate', 149530, 'MDC_PULS_OXIM_PULS_RATE', '1.3.1', U.bpm, 0),
  mr('tempEso', 150344, 'MDC_TEMP', '1.2.1', U.cel, 1),
  mr('respRate', 151562, 'MDC_RESP_RATE', '1.14.1', U.rpm, 0),
  mr('nibpSys', 150301, 'MDC_PRESS_CUFF_SYS', '1.1.9', U.mmhg, 0, 'MDC_PRESS_BLD_NONINV_SYS', true),
  mr('nibpDia', 150302, 'MDC_PRESS_CUFF_DIA', '1.1.9', U.mmhg, 0, 'MDC_PRESS_BLD_NONINV_DIA', true),
  mr('nibpMean', 150303, 'MDC_PRESS_CUFF_MEAN', '1.1.9', U.mmhg, 0, 'MDC_PRESS_BLD_NONINV_MEAN', true),
];

const pds = (vital: VitalKey, id: number, label: string, mdc: string, ucum: string, decimals: number, episodic = false): ParamDef => ({
  vital,
  obx3: [String(id), label, ''],
  containment: '',
  unit: [],
  decimals,
  mdc,
  ucum,
  vendorCode: `MNDRY:${id}`,
  episodic,
});

const PDS_PARAMS: ParamDef[] = [
  pds('hr', 101, 'HR', 'MDC_ECG_HEART_RATE', '/min', 0),
  pds('spo2', 160, 'SpO2', 'MDC_PULS_OXIM_SAT_O2', '%', 0),
  pds('respRate', 151, 'RR', 'MDC_RESP_RATE', '/min', 0),
  pds('tempEso', 200, 'T1', 'MDC_TEMP', 'Cel', 1),
  pds('etco2', 220, 'EtCO2', 'MDC_CONC_AWAY_CO2_ET', 'mm[Hg]', 0),
  pds('nibpSys', 170, 'NIBP-S', 'MDC_PRESS_BLD_NONINV_SYS', 'mm[Hg]', 0, true),
  pds('nibpDia', 171, 'NIBP-D', 'MDC_PRESS_BLD_NONINV_DIA', 'mm[Hg]', 0, true),
  pds('nibpMean', 172, 'NIBP-M', 'MDC_PRESS_BLD_NONINV_MEAN', 'mm[Hg]', 0, true),
];

const COMEN_PARAMS: ParamDef[] = [
  p('hr', 147842, 'MDC_ECG_HEART_RATE', '', U.bpm, 0),
  p('spo2', 150456, 'MDC_PULS_OXIM_SAT_O2', '', U.pct, 0),
  // The label lies: 149522 is MDC_BLD_PULS_RATE_INV; Comen means the SpO2 pulse rate.
  { ...p('pulseRate', 149522, 'MDC_PULS_RATE', '', U.bpm, 0, 'MDC_PULS_OXIM_PULS_RATE') },
  p('respRate', 151562, 'MDC_RESP_RATE', '', U.rpm, 0),
  p('tempEso', 150344, 'MDC_TEMP', '', U.cel, 1),
  p('nibpSys', 150021, 'MDC_PRESS_BLD_NONINV_SYS', '', U.mmhg, 0, undefined, '', true),
  p('nibpDia', 150022, 'MDC_PRESS_BLD_NONINV_DIA', '', U.mmhg, 0, undefined, '', true),
  p('nibpMean', 150023, 'MDC_PRESS_BLD_NONINV_MEAN', '', U.mmhg, 0, undefined, '', true),
];

const PCD01_PARAMS: ParamDef[] = GE_PARAMS.map((d) => (d.vital === 'etco2' ? p('etco2', 151708, 'MDC_CONC_AWAY_CO2_ET', '1.11.1.1', U.mmhg, 0) : d));

export const VENDORS: Record<VendorName, VendorStyle> = {
  'ge-b40': {
    name: 'ge-b40',
    profile: 'hl7/ge/b40',
    msh3: 'B40^080019FFFE1443EC^EUI-64',
    msh4: 'GE',
    version: '2.6',
    msh15: 'NE',
    msh16: 'AL',
    msh21: 'PCD_DEC_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO',
    equipment: '080019FFFE1443EC^B40_GE',
    monitorRole: 'client',
    expectAck: 'AA',
    offset: true,
    headers: true,
    sentinel: { vital: 'cvp', text: '-999' },
    params: GE_PARAMS,
  },
  mindray: {
    name: 'mindray',
    profile: 'hl7/mindray/benevision',
    msh3: 'MINDRAY_N12^00A0370098007A80^EUI-64',
    msh4: 'MINDRAY',
    version: '2.6',
    msh15: 'AL',
    msh16: 'NE',
    msh21: 'IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO',
    equipment: '00A0370098007A80^^00A0370098007A80^EUI-64',
    monitorRole: 'client',
    expectAck: 'CA',
    offset: true,
    headers: false,
    sentinel: { vital: 'respRate', text: '-100' },
    params: MINDRAY_PARAMS,
  },
  'mindray-pds': {
    name: 'mindray-pds',
    profile: 'hl7/mindray/pds',
    msh3: '',
    msh4: '',
    version: '2.3.1',
    msh15: '',
    msh16: '',
    msh21: '',
    equipment: '',
    monitorRole: 'server',
    expectAck: '',
    offset: false,
    headers: false,
    controlId: '204',
    sentinel: { vital: 'tempEso', text: '-100.0' },
    params: PDS_PARAMS,
  },
  comen: {
    name: 'comen',
    profile: 'hl7/comen/c-series',
    msh3: 'COMEN^C80',
    msh4: 'COMEN',
    version: '2.6',
    msh15: '',
    msh16: '',
    msh21: '',
    equipment: '',
    monitorRole: 'client',
    expectAck: 'AA',
    offset: false,
    headers: false,
    sentinel: { vital: 'respRate', text: '' },
    params: COMEN_PARAMS,
  },
  pcd01: {
    name: 'pcd01',
    profile: 'hl7/pcd-01/generic',
    msh3: 'ORLINK_SIM^0012340000000001^EUI-64',
    msh4: 'SIM',
    version: '2.6',
    msh15: 'NE',
    msh16: 'AL',
    msh21: 'IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO',
    equipment: '0012340000000001^SIM',
    monitorRole: 'client',
    expectAck: 'AA',
    offset: true,
    headers: true,
    sentinel: { vital: 'cvp', text: '-100' },
    params: PCD01_PARAMS,
  },
};

/** `--vendor mindray` in server role is the PDS protocol. */
export function vendorFor(name: string, monitorRole?: 'client' | 'server'): VendorStyle | undefined {
  if (name === 'mindray' && monitorRole === 'server') return VENDORS['mindray-pds'];
  return (VENDORS as Record<string, VendorStyle>)[name];
}
