/**
 * InfluxDB line protocol serialisation (own, small, tested; shared by v1, v2 and memory checks).
 * measurement: escape `,` and space; tag keys/values and field keys: `,` `=` space; string fields:
 * `\` and `"`. Newlines in tags/keys become spaces; empty tag values are omitted (invalid in LP);
 * non-finite numbers are dropped; a point with no field left serialises to null (caller counts it).
 */
import type { SeriesPoint } from './types.js';

export const escapeMeasurement = (s: string) => s.replace(/[\r\n]/g, ' ').replace(/([, ])/g, '\\$1');
export const escapeKey = (s: string) => s.replace(/[\r\n]/g, ' ').replace(/([,= ])/g, '\\$1');
export const escapeStringField = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

export function toLine(p: SeriesPoint, intFields: ReadonlySet<string>): string | null {
  let line = escapeMeasurement(p.measurement);
  for (const k of Object.keys(p.tags).sort()) {
    const v = p.tags[k];
    if (v === undefined || v === '') continue;
    line += `,${escapeKey(k)}=${escapeKey(v)}`;
  }
  const fields: string[] = [];
  for (const [k, v] of Object.entries(p.fields)) {
    if (v === undefined || v === null) continue;
    let enc: string;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) continue;
      enc = intFields.has(k) ? `${Math.trunc(v)}i` : String(v);
    } else if (typeof v === 'boolean') enc = v ? 'true' : 'false';
    else enc = escapeStringField(v);
    fields.push(`${escapeKey(k)}=${enc}`);
  }
  if (!fields.length || !Number.isFinite(p.time)) return null;
  return `${line} ${fields.join(',')} ${Math.trunc(p.time)}`;
}
