/**
 * HL7 profile settings (the profile's `hl7` block, merged along `extends`: units and systems
 * per key, everything else child-wins) and auto-identification of a sender from MSH-3, MSH-4
 * and OBX-18 against each profile's `hl7.identify` regular expressions (case-insensitive; the
 * highest match.priority wins; no match → the generic PCD-01 profile).
 */
import type { Hl7ProfileParams, Profile } from '../../../../schemas/src/profile.js';
import type { ProfileSet } from '../../profiles/load.js';

export const GENERIC_PROFILE_ID = 'hl7/pcd-01/generic';

export interface Hl7Settings {
  role: 'server' | 'client';
  ack: 'original' | 'enhanced' | 'none' | 'auto';
  version: string;
  timeZone: string;
  sentinels: Set<number>;
  sentinelPrefixes: string[];
  defaultSystem: string;
  systems: Record<string, string>;
  units: Record<string, string>;
  heartbeatS: number;
  heartbeatControlId: string;
  port?: number;
}

function chain(set: ProfileSet, p: Profile, seen: string[] = []): Hl7ProfileParams[] {
  const parent = p.extends && !seen.includes(p.extends) ? set.profiles.get(p.extends) : undefined;
  const up = parent ? chain(set, parent, [...seen, p.id]) : [];
  return p.hl7 ? [...up, p.hl7] : up;
}

export function hl7Settings(set: ProfileSet, p: Profile, override: Partial<Pick<Hl7Settings, 'timeZone' | 'ack'>> = {}): Hl7Settings {
  const s: Hl7Settings = {
    role: 'server',
    ack: 'auto',
    version: '2.6',
    timeZone: 'UTC',
    sentinels: new Set(),
    sentinelPrefixes: [],
    defaultSystem: '',
    systems: {},
    units: {},
    heartbeatS: 0,
    heartbeatControlId: '106',
  };
  for (const h of chain(set, p)) {
    if (h.role) s.role = h.role;
    if (h.ack) s.ack = h.ack;
    if (h.version) s.version = h.version;
    if (h.timeZone) s.timeZone = h.timeZone;
    if (h.sentinels) s.sentinels = new Set(h.sentinels);
    if (h.sentinelPrefixes) s.sentinelPrefixes = [...h.sentinelPrefixes];
    if (h.defaultSystem !== undefined) s.defaultSystem = h.defaultSystem;
    if (h.systems) Object.assign(s.systems, h.systems);
    if (h.units) Object.assign(s.units, h.units);
    if (h.heartbeatS !== undefined) s.heartbeatS = h.heartbeatS;
    if (h.heartbeatControlId) s.heartbeatControlId = h.heartbeatControlId;
    if (h.port) s.port = h.port;
  }
  if (override.timeZone) s.timeZone = override.timeZone;
  if (override.ack) s.ack = override.ack;
  return s;
}

export interface SenderHeader {
  sendingApp: string;
  facility: string;
  equipment: string[];
}

export function identifyProfile(set: ProfileSet, h: SenderHeader): Profile | undefined {
  let best: Profile | undefined;
  for (const p of set.profiles.values()) {
    const id = p.hl7?.identify;
    if (!id) continue;
    const hit = (re: string | undefined, v: string) => re !== undefined && v !== '' && new RegExp(re, 'i').test(v);
    const ok = hit(id.sendingApp, h.sendingApp) || hit(id.facility, h.facility) || h.equipment.some((e) => hit(id.equipment, e));
    if (ok && (!best || p.match.priority > best.match.priority || (p.match.priority === best.match.priority && p.id < best.id))) best = p;
  }
  return best ?? set.profiles.get(GENERIC_PROFILE_ID);
}
