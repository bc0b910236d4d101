/**
 * Property-test data from a TypeBox schema: seeded random values that match it (`sample`) and
 * single-fault copies that do not (`breakOne`: one value of a wrong type or out of range, or one
 * required property removed), with the JSON pointer of the fault. Covers the kinds the status
 * contract uses: Object, Array, Record, Union, Literal, Null, String, Integer, Number, Boolean.
 */
import { Kind, type TSchema } from '@sinclair/typebox';

/** mulberry32: small, seeded, reproducible */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

type S = TSchema & Record<string, unknown>;
const CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/ é';
const KEY_CHARS = 'abcdefghijklmnopqrstuvwxyz';

function str(r: () => number, min: number, alphabet: string): string {
  const n = min + Math.floor(r() * 12);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

/** A random value matching `schema` (optional properties present about half of the time, arrays 0-3 long). */
export function sample(schema: TSchema, r: () => number, depth = 0): unknown {
  const s = schema as S;
  switch (s[Kind]) {
    case 'Literal':
      return s.const;
    case 'Null':
      return null;
    case 'Boolean':
      return r() < 0.5;
    case 'String':
      return str(r, Number(s.minLength ?? 0), CHARS);
    case 'Integer': {
      const min = typeof s.minimum === 'number' ? s.minimum : -1_000_000;
      return min + Math.floor(r() * (r() < 0.3 ? 10 : 2_000_000_000_000));
    }
    case 'Number':
      return typeof s.minimum === 'number' ? s.minimum + r() * 1e6 : (r() - 0.5) * 1e6;
    case 'Union': {
      const of = s.anyOf as TSchema[];
      return sample(of[Math.floor(r() * of.length)], r, depth);
    }
    case 'Array':
      return Array.from({ length: depth > 3 ? 0 : Math.floor(r() * 4) }, () => sample(s.items as TSchema, r, depth + 1));
    case 'Record': {
      const [[, value]] = Object.entries(s.patternProperties as Record<string, TSchema>);
      const out: Record<string, unknown> = {};
      for (let i = Math.floor(r() * 4); i > 0; i--) out[str(r, 1, KEY_CHARS)] = sample(value, r, depth + 1);
      return out;
    }
    case 'Object': {
      const required = new Set((s.required as string[] | undefined) ?? []);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(s.properties as Record<string, TSchema>)) {
        if (required.has(k) || r() < 0.5) out[k] = sample(v, r, depth + 1);
      }
      return out;
    }
    default:
      throw new Error(`sample: schema kind ${String(s[Kind])} not covered`);
  }
}

interface Spot {
  path: string;
  schema: S;
  parent: Record<string, unknown> | unknown[];
  key: string | number;
  required: boolean;
}

/** Every value of `value` (a sample of `schema`) with the schema it matched: where a fault can go. */
function spots(schema: TSchema, value: unknown, path: string, out: Spot[], parent?: Spot['parent'], key?: string | number, required = true): void {
  let s = schema as S;
  if (s[Kind] === 'Union') {
    // the branch the value matches: the one whose literals (if any) it carries
    const of = s.anyOf as S[];
    s =
      of.find((o) =>
        o[Kind] === 'Null'
          ? value === null
          : value === null
            ? false
            : o[Kind] === 'Literal'
              ? o.const === value
              : o[Kind] !== 'Object' ||
                Object.entries(o.properties as Record<string, S>).every(([k, p]) => p[Kind] !== 'Literal' || (value as Record<string, unknown>)[k] === p.const),
      ) ?? s;
  }
  if (parent !== undefined && key !== undefined) out.push({ path, schema: s, parent, key, required });
  if (s[Kind] === 'Object' && value && typeof value === 'object') {
    const req = new Set((s.required as string[] | undefined) ?? []);
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const p = (s.properties as Record<string, TSchema>)[k];
      if (p) spots(p, v, `${path}/${k}`, out, value as Record<string, unknown>, k, req.has(k));
    }
  } else if (s[Kind] === 'Array' && Array.isArray(value)) {
    value.forEach((v, i) => spots(s.items as TSchema, v, `${path}/${i}`, out, value, i));
  } else if (s[Kind] === 'Record' && value && typeof value === 'object') {
    const [[, item]] = Object.entries(s.patternProperties as Record<string, TSchema>);
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) spots(item, v, `${path}/${k}`, out, value as Record<string, unknown>, k, false);
  }
}

function wrong(s: S, r: () => number): unknown {
  switch (s[Kind]) {
    case 'String':
      return r() < 0.5 ? 7 : s.minLength ? '' : null;
    case 'Integer':
      return r() < 0.4 ? 'x' : r() < 0.5 ? 1.5 : typeof s.minimum === 'number' ? s.minimum - 1 : null;
    case 'Number':
      return 'x';
    case 'Boolean':
      return 'yes';
    case 'Literal':
      return typeof s.const === 'string' ? `${s.const}?` : typeof s.const === 'number' ? s.const + 1 : 'x';
    case 'Union':
      return 'not-one-of-them';
    case 'Array':
      return {};
    default:
      return [];
  }
}

/**
 * A deep copy of `value` (a valid sample of `schema`) with exactly one fault, and where it is.
 * `keep` lists paths not to touch (e.g. the ones a test pins to the topic).
 */
export function breakOne(schema: TSchema, value: unknown, r: () => number, keep: readonly string[] = []): { value: unknown; path: string; fault: string } {
  const copy = structuredClone(value);
  const all: Spot[] = [];
  spots(schema, copy, '', all);
  const candidates = all.filter((s) => !keep.includes(s.path));
  const spot = candidates[Math.floor(r() * candidates.length)];
  if (spot.required && !Array.isArray(spot.parent) && r() < 0.3) {
    delete (spot.parent as Record<string, unknown>)[spot.key as string];
    return { value: copy, path: spot.path, fault: 'removed' };
  }
  const bad = wrong(spot.schema, r);
  (spot.parent as Record<string | number, unknown>)[spot.key] = bad;
  return { value: copy, path: spot.path, fault: `set to ${JSON.stringify(bad)}` };
}
