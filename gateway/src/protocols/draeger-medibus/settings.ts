/** Session settings: session options (device config block) over profile params over defaults. */
import type { Profile } from '../../../../schemas/src/profile.js';
import { MedibusError } from './errors.js';

export interface MedibusSessionSettings {
  pollMs: number;
  nopMs: number;
  linkTimeoutMs: number;
  responseTimeoutMs: number;
  /** Every N-th poll cycle also asks for settings / text messages / date-time (0 = never). */
  settingsEvery: number;
  textEvery: number;
  datetimeEvery: number;
  cp2: boolean;
  alarms: boolean;
  /** Realtime codes to enable (empty = no realtime). */
  waves: number[];
  rtEnableSequence: boolean;
  initialNop: boolean;
}

function pick<T>(o: Record<string, unknown>, p: Record<string, unknown>, key: string, def: T): T {
  return (o[key] ?? p[key] ?? def) as T;
}

function int(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new MedibusError(`option ${name} must be an integer in ${min}..${max}`);
  return v;
}

function bool(v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') throw new MedibusError(`option ${name} must be true or false`);
  return v;
}

export function resolveSessionSettings(options: Record<string, unknown>, profile: Profile | undefined): MedibusSessionSettings {
  const p = (profile?.params ?? {}) as Record<string, unknown>;
  const rawWaves = options.waves ?? (pick(options, p, 'realtime', true) ? (profile?.requests?.waves ?? []) : []);
  if (!Array.isArray(rawWaves)) throw new MedibusError('option waves must be an array of realtime codes (hex strings like "00" or numbers)');
  const waves = rawWaves.map((w) => {
    const c = typeof w === 'number' ? w : /^[0-9A-Fa-f]{1,2}$/.test(String(w)) ? parseInt(String(w), 16) : NaN;
    if (!Number.isInteger(c) || c < 0 || c > 0x3f) throw new MedibusError(`unknown MEDIBUS realtime code '${String(w)}' (hex 00..3F)`);
    return c;
  });
  if (new Set(waves).size !== waves.length) throw new MedibusError('option waves lists a realtime code twice');
  if (waves.length > 12) throw new MedibusError('MEDIBUS carries at most 12 realtime streams');
  return {
    pollMs: int(pick(options, p, 'pollMs', 1000), 'pollMs', 200, 60000),
    nopMs: int(pick(options, p, 'nopMs', 1000), 'nopMs', 100, 2500),
    linkTimeoutMs: int(pick(options, p, 'linkTimeoutMs', 3000), 'linkTimeoutMs', 1000, 60000),
    responseTimeoutMs: int(pick(options, p, 'responseTimeoutMs', 1000), 'responseTimeoutMs', 100, 10000),
    settingsEvery: int(pick(options, p, 'settingsEvery', 10), 'settingsEvery', 0, 3600),
    textEvery: int(pick(options, p, 'textEvery', 10), 'textEvery', 0, 3600),
    datetimeEvery: int(pick(options, p, 'datetimeEvery', 60), 'datetimeEvery', 0, 3600),
    cp2: bool(pick(options, p, 'cp2', false), 'cp2'),
    alarms: bool(pick(options, p, 'alarms', true), 'alarms'),
    waves,
    rtEnableSequence: bool(pick(options, p, 'rtEnableSequence', true), 'rtEnableSequence'),
    initialNop: bool(pick(options, p, 'initialNop', false), 'initialNop'),
  };
}
