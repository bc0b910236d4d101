/**
 * One parsed Masimo line → vendor readings (vendor terms only; the profile maps them):
 * every measurement token becomes a reading named by its KEY; dashes → null + 'invalid';
 * the EXC bits set flags on every measured value (policy = profile params, see README);
 * EXC/EXC1/ALARM bit changes become technical/physiological alarms; SN → serial number.
 */
import type { AlarmObs, Flag } from '../../../../schemas/src/observation.js';
import { BitAlarmTracker, type BitDef } from './bit-alarms.js';
import { HEX_FIELDS, parseHex, parseValue, type ParsedLine } from './line.js';

export interface MasimoReading {
  vendorCode: string;
  value: number | null;
  flags: Flag[];
}

export interface DecodedLine {
  tDevice: number;
  readings: MasimoReading[];
  alarms: AlarmObs[];
  serial?: string;
  exc?: number;
  errors: string[];
}

/** EXC bits (Rad-8 operator's manual; README §EXC policy). */
export const EXC_BITS: Record<number, BitDef> = {
  0x001: { text: 'No sensor', priority: 'medium', source: 'technical' },
  0x002: { text: 'Defective sensor', priority: 'medium', source: 'technical' },
  0x004: { text: 'Low perfusion', priority: 'low', source: 'technical' },
  0x008: { text: 'Pulse search', priority: 'low', source: 'technical' },
  0x010: { text: 'Interference detected', priority: 'low', source: 'technical' },
  0x020: { text: 'Sensor off patient', priority: 'medium', source: 'technical' },
  0x040: { text: 'Too much ambient light', priority: 'low', source: 'technical' },
  0x080: { text: 'Unrecognized sensor', priority: 'medium', source: 'technical' },
  0x400: { text: 'Low signal IQ', priority: 'low', source: 'technical' },
};
export const EXC_SET_MODE = 0x800; // "Masimo SET mode": normal operation, not an exception
const EXC_RESERVED = 0x300;

export interface ExcPolicy {
  /** EXC bits that make every measured value null + 'invalid'. */
  invalidMask: number;
  artifactMask: number;
  questionableMask: number;
  /** Tokens that are not readings (besides SN/ALARM/EXC/EXC1), e.g. RESVD. */
  ignoreTokens: Set<string>;
}

export const DEFAULT_POLICY: ExcPolicy = {
  invalidMask: 0x0ab, // no sensor, defective, pulse search, sensor off, unrecognized sensor
  artifactMask: 0x050, // interference, ambient light
  questionableMask: 0x404, // low perfusion, low signal IQ
  ignoreTokens: new Set(['RESVD']),
};

export class MasimoDecoder {
  private readonly exc = new BitAlarmTracker(
    'EXC',
    EXC_BITS,
    { text: 'Masimo exception', priority: 'low', source: 'technical' },
    EXC_SET_MODE | EXC_RESERVED,
    3,
  );
  private readonly exc1 = new BitAlarmTracker('EXC1', {}, { text: 'Masimo exception (EXC1)', priority: 'low', source: 'technical' }, 0, 8);
  private readonly alarm = new BitAlarmTracker('ALARM', {}, { text: 'Masimo alarm', priority: 'medium', source: 'physiological' }, 0, 4);

  constructor(private readonly policy: ExcPolicy = DEFAULT_POLICY) {}

  decode(line: ParsedLine): DecodedLine {
    const out: DecodedLine = { tDevice: line.tDevice, readings: [], alarms: [], errors: [] };
    for (let i = 0; i < line.badTokens; i++) out.errors.push('token');
    const tk = line.tokens;
    const sn = tk.get('SN');
    if (sn !== undefined && /^[0-9A-Za-z]+$/.test(sn) && !/^-+$/.test(sn)) out.serial = sn;
    const hex = (k: string): number | undefined => {
      const raw = tk.get(k);
      if (raw === undefined) return undefined;
      const v = parseHex(raw);
      if (v === undefined && !/^-+$/.test(raw)) out.errors.push('hex-field');
      return v;
    };
    const exc = hex('EXC');
    const exc1 = hex('EXC1');
    const alarm = hex('ALARM');
    if (exc !== undefined) out.exc = exc;
    const p = this.policy;
    const e = exc ?? 0;
    const state: Flag[] = [];
    if (e & p.artifactMask) state.push('artifact');
    if (e & p.questionableMask) state.push('questionable');
    const invalid = (e & p.invalidMask) !== 0;
    for (const [key, raw] of tk) {
      if (key === 'SN' || HEX_FIELDS.has(key) || p.ignoreTokens.has(key)) continue;
      const v = parseValue(raw);
      if (v.kind === 'text') out.errors.push('value');
      // absent (dashes), unreadable, or an exception that voids the reading: null + 'invalid'
      if (v.kind === 'number' && !invalid) out.readings.push({ vendorCode: key, value: v.value, flags: [...state] });
      else out.readings.push({ vendorCode: key, value: null, flags: ['invalid'] });
    }
    if (exc !== undefined) out.alarms.push(...this.exc.update(exc, line.tDevice));
    if (exc1 !== undefined) out.alarms.push(...this.exc1.update(exc1, line.tDevice));
    if (alarm !== undefined) out.alarms.push(...this.alarm.update(alarm, line.tDevice));
    return out;
  }
}

/** Model from the line's key set (README §Model identification); Root prints the Radical-7 set → profile override. */
export function modelFromKeys(keys: Iterable<string>): 'Radical-7' | 'Rad-8' | 'Radical-5' {
  const k = new Set(keys);
  if (k.has('SPHB') || k.has('PVI') || k.has('SPOC') || k.has('EXC1')) return 'Radical-7';
  if (k.has('SN')) return 'Rad-8';
  return 'Radical-5';
}
