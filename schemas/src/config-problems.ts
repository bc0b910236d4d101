/**
 * One config problem per TypeBox error, worded for the person editing the file: an unknown key
 * (a typo such as `broker.prot`) names its path, the nearest known key and the keys allowed there.
 * Leaf module: imports only TypeBox.
 */
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';

/** Levenshtein distance, bounded by the (short) key lengths */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** the known key closest to `key`, when it is close enough to be a typo */
export function nearestKey(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(key, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** `/broker/prot: Unexpected property: unknown key 'prot' (did you mean 'port'? keys allowed here: ...)`, else `path: message` */
export function describeValueError(e: ValueError): string {
  const at = e.path || '/';
  if (e.type !== ValueErrorType.ObjectAdditionalProperties) return `${at}: ${e.message}`;
  const key = at
    .slice(at.lastIndexOf('/') + 1)
    .replace(/~1/g, '/')
    .replace(/~0/g, '~');
  const props = (e.schema as { properties?: Record<string, unknown> }).properties ?? {};
  const known = Object.keys(props);
  const near = nearestKey(key, known);
  return `${at}: Unexpected property: unknown key '${key}' (${near ? `did you mean '${near}'? ` : ''}keys allowed here: ${known.join(', ') || 'none'})`;
}
