/**
 * Device identity → firmware profile. An explicit id wins (and must exist); otherwise every
 * profile of the protocol whose match block accepts the identity is a candidate and the highest
 * `match.priority` wins (ties: the narrower protocol-level range, then the id, so it is stable).
 */
import type { Profile } from '../../../schemas/src/profile.js';
import type { DeviceIdentity } from '../protocols/protocol.js';
import { GW_ERR_PROFILE, ProfileError } from './errors.js';
import type { ProfileSet } from './load.js';

export interface MatchQuery extends Partial<DeviceIdentity> {
  protocol: string;
  /** Numeric protocol level (GE: DRI level). */
  level?: number;
}

function accepts(p: Profile, q: MatchQuery): boolean {
  if (p.protocol !== q.protocol) return false;
  const m = p.match;
  if (m.vendor && q.vendor && m.vendor.toLowerCase() !== q.vendor.toLowerCase()) return false;
  if (m.models && q.model && !m.models.some((x) => x.toLowerCase() === q.model!.toLowerCase())) return false;
  if (m.protocolLevel && q.level !== undefined && (q.level < m.protocolLevel.min || q.level > m.protocolLevel.max)) return false;
  if (m.firmware && q.firmware && !new RegExp(m.firmware).test(q.firmware)) return false;
  return true;
}

const width = (p: Profile): number => (p.match.protocolLevel ? p.match.protocolLevel.max - p.match.protocolLevel.min : Infinity);

export function matchProfile(set: ProfileSet, q: MatchQuery, explicitId?: string): Profile {
  if (explicitId && explicitId !== 'auto') {
    const p = set.profiles.get(explicitId);
    if (!p) throw new ProfileError(GW_ERR_PROFILE.NOT_FOUND, `no firmware profile '${explicitId}'`, { details: [...set.profiles.keys()] });
    return p;
  }
  const candidates = [...set.profiles.values()].filter((p) => accepts(p, q));
  candidates.sort((a, b) => b.match.priority - a.match.priority || width(a) - width(b) || a.id.localeCompare(b.id));
  const best = candidates[0];
  if (!best) throw new ProfileError(GW_ERR_PROFILE.NOT_FOUND, `no firmware profile for protocol '${q.protocol}' level ${q.level ?? '?'}`);
  return best;
}
