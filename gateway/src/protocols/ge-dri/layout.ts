/**
 * The single table of the GE Datex-Ohmeda DRI record layout, shared by the decoder and the encoder
 * (and so by the simulator). Offsets follow the public DRI descriptions (README §Wire format); where
 * the real captures showed more (ext1 P7/P8 at DRI level 10, ext3 aa2/delp/cpp positions), see
 * README §What the real captures taught.
 */
export type PhdbClass = 'basic' | 'ext1' | 'ext2' | 'ext3';
export const PHDB_CLASSES: readonly PhdbClass[] = ['basic', 'ext1', 'ext2', 'ext3'];

export interface FieldDef {
  name: string;
  offset: number /* bytes from the group start */;
  divisor: number;
}
export interface GroupDef {
  name: string;
  offset: number /* within the 270-byte physdata */;
  size: number;
  hasHeader: boolean;
  fields: FieldDef[];
}
export interface WaveDef {
  id: number;
  name: string;
  rateHz: number;
  divisor: number;
  unit: string;
}

/** Raw values below this are special markers, never numbers. */
export const INVALID_LIMIT = -32001;
export const SPECIAL_MARKERS: Record<number, 'invalid' | 'not-updated' | 'discontinuity' | 'under-range' | 'over-range' | 'not-calibrated'> = {
  [-32767]: 'invalid',
  [-32766]: 'not-updated',
  [-32765]: 'discontinuity',
  [-32764]: 'under-range',
  [-32763]: 'over-range',
  [-32762]: 'not-calibrated',
};
export const DATA_INVALID = -32767;

export const HEADER_SIZE = 40;
export const SR_DESC_COUNT = 8;
export const SR_EOL = 0xff;
export const PHDB_SUBRECORD_SIZE = 278;
export const PHYSDATA_SIZE = 270;
/** Subrecord = time u32 | physdata[270] | marker u8 | reserved u8 | cl_drilvl_subt u16. */
export const SUBRECORD_PHYSDATA_OFFSET = 4;
export const SUBRECORD_MARKER_OFFSET = 274;
export const SUBRECORD_CLASS_OFFSET = 276;
/** Max record (header + data): 1450 payload + 40 header (README §Wire format). */
export const MAX_RECORD_BYTES = 1490;

export const MAIN_TYPE = { phdb: 0, wave: 1, alarm: 4 } as const;
export const PHDB_RECORD_TYPE = { displ: 1, trend10s: 2, trend60s: 3, aux: 4 } as const;
export const DRI_LEVEL_YEAR: Record<number, number> = { 2: 1995, 3: 1997, 4: 1998, 5: 1999, 6: 2000, 7: 2001, 8: 2003, 9: 2005, 10: 2009, 11: 2015 };
export const GROUP_HEADER_SIZE = 6;

const f = (name: string, offset: number, divisor = 1): FieldDef => ({ name, offset, divisor });
const g = (name: string, offset: number, size: number, fields: FieldDef[], hasHeader = true): GroupDef => ({ name, offset, size, hasHeader, fields });

const pressure = (name: string, offset: number): GroupDef => g(name, offset, 14, [f('sys', 6, 100), f('dia', 8, 100), f('mean', 10, 100), f('hr', 12)]);
const temp = (name: string, offset: number): GroupDef => g(name, offset, 8, [f('temp', 6, 100)]);

const EEG_CHANNEL_FIELDS: FieldDef[] = [1, 2, 3, 4].flatMap((c) => {
  const b = 8 + (c - 1) * 16;
  return [
    f(`eeg${c}_ampl`, b, 10),
    f(`eeg${c}_sef`, b + 2, 10),
    f(`eeg${c}_mf`, b + 4, 10),
    f(`eeg${c}_delta`, b + 6),
    f(`eeg${c}_theta`, b + 8),
    f(`eeg${c}_alpha`, b + 10),
    f(`eeg${c}_beta`, b + 12),
    f(`eeg${c}_bsr`, b + 14),
  ];
});

const ST12 = ['st_i', 'st_ii', 'st_iii', 'st_avl', 'st_avr', 'st_avf', 'st_v1', 'st_v2', 'st_v3', 'st_v4', 'st_v5', 'st_v6'];

export const PHDB_LAYOUT: Record<PhdbClass, GroupDef[]> = {
  basic: [
    g('ecg', 0, 16, [f('hr', 6), f('st1', 8, 100), f('st2', 10, 100), f('st3', 12, 100), f('imp_rr', 14)]),
    pressure('p1', 16),
    pressure('p2', 30),
    pressure('p3', 44),
    pressure('p4', 58),
    g('nibp', 72, 14, [f('sys', 6, 100), f('dia', 8, 100), f('mean', 10, 100), f('hr', 12)]),
    temp('t1', 86),
    temp('t2', 94),
    temp('t3', 102),
    temp('t4', 110),
    g('spo2', 118, 14, [f('spo2', 6, 100), f('pr', 8), f('ir_amp', 10), f('svo2', 12, 100)]),
    g('co2', 132, 14, [f('et', 6, 100), f('fi', 8, 100), f('rr', 10), f('amb_press', 12, 10)]),
    g('o2', 146, 10, [f('et', 6, 100), f('fi', 8, 100)]),
    g('n2o', 156, 10, [f('et', 6, 100), f('fi', 8, 100)]),
    g('aa', 166, 12, [f('et', 6, 100), f('fi', 8, 100), f('mac_sum', 10, 100)]),
    g('flow_vol', 178, 22, [
      f('rr', 6),
      f('ppeak', 8, 100),
      f('peep', 10, 100),
      f('pplat', 12, 100),
      f('tv_insp', 14, 10),
      f('tv_exp', 16, 10),
      f('compliance', 18, 100),
      f('mv_exp', 20, 100),
    ]),
    g('co_wedge', 200, 14, [f('co', 6, 1000), f('blood_temp', 8, 100), f('ref', 10), f('pcwp', 12, 100)]),
    g('nmt', 214, 12, [f('t1', 6, 10), f('tratio', 8, 10), f('ptc', 10)]),
    g('ecg_extra', 226, 6, [f('hr_ecg', 0), f('hr_max', 2), f('hr_min', 4)], false),
    g('svo2', 232, 8, [f('svo2', 6, 100)]),
    pressure('p5', 240),
    pressure('p6', 254),
  ],
  ext1: [
    g('arrh_ecg', 0, 48, [f('hr', 6), f('rr_time', 8), f('pvc', 10)]),
    g(
      'ecg_12',
      48,
      30,
      ST12.map((n, i) => f(n, 6 + 2 * i, 100)),
    ),
    // Seen only at DRI level 10 (pycollect capture: labelled groups with 4 values after ecg_12); zero at level 8.
    pressure('p7', 78),
    pressure('p8', 92),
  ],
  ext2: [
    g('nmt2', 0, 24, [f('t1', 8), f('t2', 10), f('t3', 12), f('t4', 14)]),
    g('eeg', 24, 72, [f('femg', 6, 10), ...EEG_CHANNEL_FIELDS]),
    g('eeg_bis', 96, 16, [f('bis', 6), f('sqi', 8), f('emg', 10), f('sr', 12)]),
    g('entropy', 112, 28, [f('eeg_ent', 6), f('emg_ent', 8), f('bsr_ent', 10)]),
    g('eeg2', 198, 24, []),
    g('spi', 222, 16, [f('spi', 6, 100)]),
  ],
  ext3: [
    g('gasex', 0, 14, [f('vo2', 6, 10), f('vco2', 8, 10), f('ee', 10), f('rq', 12, 100)]),
    g('flow_vol2', 14, 46, [
      f('ipeep', 6, 100),
      f('pmean', 8, 100),
      f('raw', 10, 100),
      f('mv_insp', 12, 100),
      f('epeep', 14, 100),
      f('mv_spont', 16, 100),
      f('ie_ratio', 18, 100),
      f('insp_time', 20, 100),
      f('exp_time', 22, 100),
      f('static_compliance', 24, 100),
      f('static_pplat', 26, 100),
      f('static_peepe', 28, 100),
      f('static_peepi', 30, 100),
    ]),
    g('bal_gas', 60, 10, [f('et', 6, 100), f('fi', 8, 100)]),
    g('tono', 70, 22, [f('prco2', 6), f('pr_et', 8), f('pr_pa', 10), f('pa_delay', 12), f('phi', 14), f('phi_delay', 16), f('amb_press', 18), f('cpma', 20)]),
    g('aa2', 92, 24, [f('mac_age_sum', 6, 100)]),
    g('delp', 116, 10, [f('spv', 6, 100), f('ppv', 8, 100)]),
    g('cpp', 126, 8, [f('value', 6, 100)]),
  ],
};

export const WAVES: Record<number, WaveDef> = Object.fromEntries(
  (
    [
      [1, 'ECG1', 300, 1000, 'mV'],
      [2, 'ECG2', 300, 1000, 'mV'],
      [3, 'ECG3', 300, 1000, 'mV'],
      [4, 'INVP1', 100, 100, 'mm[Hg]'],
      [5, 'INVP2', 100, 100, 'mm[Hg]'],
      [6, 'INVP3', 100, 100, 'mm[Hg]'],
      [7, 'INVP4', 100, 100, 'mm[Hg]'],
      [8, 'PLETH', 100, 100, '%'],
      [9, 'CO2', 25, 100, '%'],
      [10, 'O2', 25, 100, '%'],
      [11, 'N2O', 25, 100, '%'],
      [12, 'AA', 25, 100, '%'],
      [13, 'AWP', 25, 10, 'cm[H2O]'],
      [14, 'FLOW', 25, 10, 'L/min'],
      [15, 'RESP', 25, 100, 'Ohm'],
      [16, 'INVP5', 100, 100, 'mm[Hg]'],
      [17, 'INVP6', 100, 100, 'mm[Hg]'],
      [18, 'EEG1', 100, 10, 'uV'],
      [19, 'EEG2', 100, 10, 'uV'],
      [20, 'EEG3', 100, 10, 'uV'],
      [21, 'EEG4', 100, 10, 'uV'],
      [23, 'VOL', 25, 1, 'mL'],
      [32, 'ENT_100', 100, 10, 'uV'],
    ] as [number, string, number, number, string][]
  ).map(([id, name, rateHz, divisor, unit]) => [id, { id, name, rateHz, divisor, unit }]),
);

/** Wave id by name (ECG1 → 1). */
export const WAVE_ID: Record<string, number> = Object.fromEntries(Object.values(WAVES).map((w) => [w.name, w.id]));

export function groupByName(cls: PhdbClass, name: string): GroupDef | undefined {
  return PHDB_LAYOUT[cls].find((gr) => gr.name === name);
}
