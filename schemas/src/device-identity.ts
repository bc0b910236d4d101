/**
 * The identity check shared by the gateway (expected identity in its config) and ingest (the
 * registry's serial/model/firmware): which of the fields a device reports differ from what was
 * expected. Leaf module: imports nothing from the repo.
 *
 * Rule: a field is compared only when both sides have a non-empty value (a device that does not
 * report its serial, or a registry entry without one, is not a mismatch); values are compared
 * after trimming and case-insensitively ("ab12" typed by hand is the device that says "AB12").
 */

export const IDENTITY_FIELDS = ['serial', 'model', 'firmware'] as const;
export type IdentityField = (typeof IDENTITY_FIELDS)[number];

/** What one side says; absent, null and '' all mean "not known". */
export type IdentityValues = Partial<Record<IdentityField, string | null | undefined>>;

export interface IdentityDifference {
  field: IdentityField;
  expected: string;
  reported: string;
}

const norm = (v: string | null | undefined): string => (typeof v === 'string' ? v.trim() : '');

export function identityDifferences(expected: IdentityValues, reported: IdentityValues): IdentityDifference[] {
  const out: IdentityDifference[] = [];
  for (const field of IDENTITY_FIELDS) {
    const e = norm(expected[field]);
    const r = norm(reported[field]);
    if (e && r && e.toLowerCase() !== r.toLowerCase()) out.push({ field, expected: e, reported: r });
  }
  return out;
}

/** The identity fields of a device status entry: an `identity` object when present, else the entry's own fields. */
export function reportedIdentity(entry: Record<string, unknown>): Partial<Record<'vendor' | IdentityField, string>> {
  const src = entry.identity && typeof entry.identity === 'object' && !Array.isArray(entry.identity) ? (entry.identity as Record<string, unknown>) : entry;
  const out: Partial<Record<'vendor' | IdentityField, string>> = {};
  for (const k of ['vendor', ...IDENTITY_FIELDS] as const) {
    const v = src[k];
    if (typeof v === 'string' && v.trim()) out[k] = v.trim().slice(0, 200);
  }
  return out;
}
