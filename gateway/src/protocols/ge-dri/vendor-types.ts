/** Decoder output in vendor terms (before profile mapping). */
import type { PhdbClass } from './layout.js';
import type { RecordHeader } from './header.js';

export type MarkerFlag = 'invalid' | 'not-updated' | 'discontinuity' | 'under-range' | 'over-range' | 'not-calibrated';

export interface VendorNumeric {
  vendorCode: string; // "<group>.<field>", e.g. "co2.et", "p1.sys", "entropy.eeg_ent"
  cls: PhdbClass;
  group: string;
  field: string;
  raw: number; // int16 as sent
  value: number | null; // raw / divisor, null for a special marker
  marker?: MarkerFlag;
  label?: string; // decoded label_info (ART, ESO, SEV, II, measuring)
  labelCode?: number;
  tDevice: number; // device clock, ms
}

export interface VendorWave {
  waveId: number;
  vendorCode: string; // "wave.PLETH" or "wave.<id>" when unknown
  raw: number[]; // int16 as sent
  status: number;
  labelCode: number;
  label?: string;
  t0Device: number; // device-clock ms of the first sample (contiguous per channel)
  rateHz: number;
  reanchored: boolean; // a gap or clock disagreement restarted this channel's timeline
}

export interface VendorAlarm {
  text: string;
  color: number;
  priority: 'low' | 'medium' | 'high';
  phase: 'start' | 'update' | 'end';
  tDevice: number;
}

export interface DecodedRecord {
  header: RecordHeader;
  type: 'phdb' | 'wave' | 'alarm' | 'unknown';
  numerics: VendorNumeric[];
  waves: VendorWave[];
  alarms: VendorAlarm[];
  /** Ambient pressure (mmHg) of this record's CO2 group when valid: for % → mmHg conversion. */
  ambPressMmHg?: number;
  /** Counted problems inside an otherwise valid frame (e.g. 'subrecord-bounds'). */
  errors: string[];
}
