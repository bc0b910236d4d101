/**
 * Identity and content of a stored reading, for intake integrity (docs/security.md "Intake integrity").
 * Identity = series key (measurement + tag values, in the layout's fixed tag order) + time: what InfluxDB
 * overwrites on. Content = what a reading says, as a 32-bit integer (a small integer keeps the index's
 * memory flat: no boxed number per entry):
 *   numeric  a hash of the value's 64 bits (a fixed code when absent);
 *   wave     FNV-1a 32 of the packed block (data, gaps, n, rate, scale, offset);
 *   alarm    FNV-1a 32 of text, priority, source, phase;
 *   setting  FNV-1a 32 of the value, text or "absent".
 * Flags, labels, units and t_device are not content: the same value re-sent with another flag is the same reading.
 * A 32-bit hash can collide (p = 2^-32 per compared pair, and a pair is compared only when series and time are
 * equal already, i.e. for a replay): a collision makes a different reading look like a duplicate — it is then
 * counted as one and not written; it never overwrites.
 */
import type { SeriesPoint } from '../series/types.js';

/** measurements that hold readings (identity-checked and time-checked) */
export const READING_MEASUREMENTS: ReadonlySet<string> = new Set(['numeric', 'wave', 'alarm', 'setting']);

export const QUARANTINE_SUFFIX = '_quarantine';
export const CONFLICT_SUFFIX = '_conflict';

/** measurement + tag values in insertion order (layout.ts builds tags in a fixed order per measurement) */
export { seriesKeyOf as seriesKey } from '../series/layout.js';

export function fnv32(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/** the base measurement of a point (`numeric_quarantine` → `numeric`) */
export function baseMeasurement(m: string): string {
  if (m.endsWith(QUARANTINE_SUFFIX)) return m.slice(0, -QUARANTINE_SUFFIX.length);
  if (m.endsWith(CONFLICT_SUFFIX)) return m.slice(0, -CONFLICT_SUFFIX.length);
  return m;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** a 32-bit hash of a double's bits (murmur3 finaliser over both halves) */
export function hashDouble(v: number): number {
  f64[0] = v === 0 ? 0 : v; // -0 and 0 are one value
  let h = Math.imul(u32[0] ^ 0x9e3779b9, 0x85ebca6b) ^ u32[1];
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

const ABSENT = 0x7ab5e7;
const ABSENT_SETTING = fnv32('absent');

/** the content of a reading that carries no value (a sentinel, a sensor off): it fills nothing and overwrites nothing */
export function isAbsentContent(c: number): boolean {
  return c === ABSENT || c === ABSENT_SETTING;
}

export function contentOf(p: SeriesPoint): number {
  const f = p.fields;
  switch (baseMeasurement(p.measurement)) {
    case 'numeric':
      return typeof f.value === 'number' ? hashDouble(f.value) : ABSENT;
    case 'wave':
      return fnv32(`${f.data}\u0001${f.gaps ?? ''}\u0001${f.n}\u0001${f.rate}\u0001${f.scale}\u0001${f.offset}`);
    case 'alarm':
      return fnv32(`${f.text}\u0001${f.priority}\u0001${f.source}\u0001${f.phase}`);
    case 'setting':
      return fnv32(typeof f.value === 'number' ? `n${f.value}` : typeof f.text === 'string' ? `s${f.text}` : 'absent');
    default:
      return 0;
  }
}
