/**
 * Event kinds and the bounds of an event's content. `data` is a flat JSON object (at most
 * EVENT_DATA_MAX_KEYS keys, scalar values, EVENT_DATA_MAX_BYTES serialized) — e.g. the PACU score
 * fields the record system posts. A `pacu-score` needs data with a `scheme`; for `scheme: "steward"`
 * the three Steward items (consciousness, airway, movement) must be integers 0–2 and `total`, when
 * sent, their sum. Other schemes are kept as sent.
 */
export const EVENT_KINDS = [
  'in-room',
  'anesthesia-start',
  'induction',
  'intubation',
  'incision',
  'surgery-end',
  'extubation',
  'out-of-room',
  'pacu-in',
  'pacu-out',
  'pacu-score',
  'note',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export type EventData = Record<string, string | number | boolean | null>;

export const EVENT_TEXT_MAX = 2000;
export const EVENT_DATA_MAX_KEYS = 32;
export const EVENT_DATA_MAX_BYTES = 4096;
export const EVENT_DATA_MAX_STRING = 200;

const STEWARD_ITEMS = ['consciousness', 'airway', 'movement'] as const;

/** What is wrong with the data of an event of `kind` (undefined: nothing). */
export function checkEventData(kind: EventKind, data: EventData | undefined): string | undefined {
  if (data !== undefined) {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) return 'data must be a JSON object';
    const entries = Object.entries(data);
    if (entries.length > EVENT_DATA_MAX_KEYS) return `data has more than ${EVENT_DATA_MAX_KEYS} fields`;
    if (entries.some(([, v]) => v !== null && !['string', 'number', 'boolean'].includes(typeof v)))
      return 'data values must be strings, numbers, booleans or null';
    if (entries.some(([k, v]) => k.length > 64 || (typeof v === 'string' && v.length > EVENT_DATA_MAX_STRING)))
      return `data keys are at most 64 and string values ${EVENT_DATA_MAX_STRING} characters`;
    if (Buffer.byteLength(JSON.stringify(data)) > EVENT_DATA_MAX_BYTES) return `data larger than ${EVENT_DATA_MAX_BYTES} bytes`;
  }
  if (kind !== 'pacu-score') return undefined;
  if (!data || typeof data.scheme !== 'string' || !data.scheme) return 'a pacu-score needs data with a scheme (e.g. {"scheme": "steward", …})';
  if (data.scheme.toLowerCase() !== 'steward') return undefined;
  let sum = 0;
  for (const item of STEWARD_ITEMS) {
    const v = data[item];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 2) return `steward ${item} must be an integer 0-2`;
    sum += v;
  }
  if (data.total !== undefined && data.total !== sum) return `steward total ${String(data.total)} is not the sum of its items (${sum})`;
  return undefined;
}
