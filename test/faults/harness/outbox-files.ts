/** Read-only look at a file outbox directory (tests): total bytes, and a torn record appended. */
import { appendFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { encodeRecord } from '../../../gateway/src/outbox/record-codec.js';

const SEG_RE = /^seg-(\d{16})\.ob$/;

export function segments(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => SEG_RE.test(f))
      .sort()
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

export function outboxBytes(dir: string): number {
  return segments(dir).reduce((n, f) => n + statSync(f).size, 0);
}

/**
 * Power loss in the middle of a write: the first `keep` bytes of a well-formed record (seq far
 * beyond the real ones, garbage payload) appended to the newest segment. Returns bytes appended.
 */
export function appendTornRecord(dir: string, keep = 37): number {
  const seg = segments(dir).at(-1);
  if (!seg) throw new Error(`no segment in ${dir}`);
  const rec = encodeRecord(9_999_999, Buffer.from('torn-garbage-'.repeat(8)), 3);
  const torn = rec.subarray(0, Math.min(keep, rec.length - 1));
  appendFileSync(seg, torn);
  return torn.length;
}
