/**
 * Cheap invariants on what the code under test returns (the other oracles — no escaped exception,
 * no hang, bounded heap — are in the engine and the orchestrator). Canonical observations
 * (schemas/src/observation.ts): numbers finite or null, never NaN or ±Infinity; units and codes
 * strings; times finite; waves with a positive rate and a finite, non-zero scale (the wire carries
 * ints = (sample - offset) / scale); flags from FLAG; enums from their sets. Decode stats: counters are
 * non-negative integers.
 */
import { FLAG, type Observation } from '../../schemas/src/observation.js';
import type { DecodeStats } from '../../gateway/src/protocols/protocol.js';
import { InvariantError } from './types.js';

const fail = (rule: string, msg: string): never => {
  throw new InvariantError(msg, rule);
};
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const numOrNull = (v: unknown): boolean => v === null || finite(v);
const optString = (v: unknown): boolean => v === undefined || typeof v === 'string';
const PRIORITY = new Set(['low', 'medium', 'high']);
const SOURCE = new Set(['physiological', 'technical']);
const PHASE = new Set(['start', 'update', 'end']);

function checkFlags(kind: string, flags: unknown): void {
  if (flags === undefined) return;
  if (!Array.isArray(flags)) fail(`${kind}.flags`, `${kind}: flags is not an array`);
  for (const f of flags as unknown[]) if (typeof f !== 'string' || !(f in FLAG)) fail(`${kind}.flags`, `${kind}: unknown flag ${JSON.stringify(f)}`);
}

/** Throws InvariantError when `o` is not a canonical observation. */
export function checkObservation(o: Observation): void {
  if (!o || typeof o !== 'object') fail('object', 'observation is not an object');
  switch (o.kind) {
    case 'numeric':
      if (!numOrNull(o.value)) fail('numeric.value', `numeric ${o.vendorCode}: value ${String(o.value)} is not a finite number or null`);
      if (!finite(o.t)) fail('numeric.t', `numeric ${o.vendorCode}: t ${String(o.t)} not finite`);
      if (o.tDevice !== undefined && !finite(o.tDevice)) fail('numeric.tDevice', `numeric ${o.vendorCode}: tDevice ${String(o.tDevice)} not finite`);
      if (typeof o.unit !== 'string') fail('numeric.unit', `numeric ${o.vendorCode}: unit is not a string`);
      if (typeof o.vendorCode !== 'string') fail('numeric.vendorCode', 'numeric: vendorCode is not a string');
      if (o.mdc !== null && typeof o.mdc !== 'string') fail('numeric.mdc', `numeric ${o.vendorCode}: mdc is not a string or null`);
      if (!numOrNull(o.code)) fail('numeric.code', `numeric ${o.vendorCode}: code is not a number or null`);
      if (!optString(o.label)) fail('numeric.label', `numeric ${o.vendorCode}: label is not a string`);
      checkFlags('numeric', o.flags);
      return;
    case 'wave':
      if (!Array.isArray(o.samples)) fail('wave.samples', `wave ${o.vendorCode}: samples is not an array`);
      for (const s of o.samples) if (!numOrNull(s)) fail('wave.sample', `wave ${o.vendorCode}: sample ${String(s)} is not a finite number or null`);
      if (!finite(o.t0)) fail('wave.t0', `wave ${o.vendorCode}: t0 ${String(o.t0)} not finite`);
      if (!finite(o.rateHz) || o.rateHz <= 0) fail('wave.rateHz', `wave ${o.vendorCode}: rateHz ${String(o.rateHz)} not a finite positive number`);
      if (!finite(o.scale) || o.scale === 0 || !finite(o.offset))
        fail(
          'wave.scale',
          `wave ${o.vendorCode}: scale/offset ${String(o.scale)}/${String(o.offset)} not finite (or scale 0: ints = (sample - offset) / scale)`,
        );
      if (typeof o.unit !== 'string' || typeof o.vendorCode !== 'string') fail('wave.unit', 'wave: unit or vendorCode is not a string');
      if (o.mdc !== null && typeof o.mdc !== 'string') fail('wave.mdc', `wave ${o.vendorCode}: mdc is not a string or null`);
      if (!numOrNull(o.code)) fail('wave.code', `wave ${o.vendorCode}: code is not a number or null`);
      checkFlags('wave', o.flags);
      return;
    case 'alarm':
      if (typeof o.text !== 'string') fail('alarm.text', 'alarm: text is not a string');
      if (!PRIORITY.has(o.priority) || !SOURCE.has(o.source) || !PHASE.has(o.phase))
        fail('alarm.enum', `alarm: priority/source/phase ${o.priority}/${o.source}/${o.phase}`);
      if (!finite(o.t)) fail('alarm.t', `alarm '${o.text}': t ${String(o.t)} not finite`);
      if (o.mdc !== null && typeof o.mdc !== 'string') fail('alarm.mdc', 'alarm: mdc is not a string or null');
      if (!optString(o.vendorCode)) fail('alarm.vendorCode', 'alarm: vendorCode is not a string');
      return;
    case 'setting':
      if (typeof o.name !== 'string') fail('setting.name', 'setting: name is not a string');
      if (!(o.value === null || typeof o.value === 'string' || finite(o.value)))
        fail('setting.value', `setting ${o.name}: value ${String(o.value)} is not a finite number, string or null`);
      if (!finite(o.t)) fail('setting.t', `setting ${o.name}: t ${String(o.t)} not finite`);
      if (!optString(o.unit) || !optString(o.vendorCode)) fail('setting.unit', `setting ${o.name}: unit or vendorCode is not a string`);
      return;
    default:
      fail('kind', `unknown observation kind ${JSON.stringify((o as { kind?: unknown }).kind)}`);
  }
}

export function checkObservations(list: unknown): number {
  if (!Array.isArray(list)) fail('array', `expected an array of observations, got ${typeof list}`);
  for (const o of list as Observation[]) checkObservation(o);
  return (list as unknown[]).length;
}

const count = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;

/** Counters of a framer / decoder: integers >= 0; `bytes` equal to what was pushed when given. */
export function checkStats(s: DecodeStats | { lines: number; bytes: number; errors: Record<string, number> }, pushedBytes?: number): void {
  const frames = 'frames' in s ? s.frames : s.lines;
  if (!count(frames) || !count(s.bytes)) fail('stats.counts', `stats: frames ${String(frames)} / bytes ${String(s.bytes)} not counts`);
  for (const [k, v] of Object.entries(s.errors)) if (!count(v)) fail('stats.errors', `stats: errors.${k} = ${String(v)}`);
  if (pushedBytes !== undefined && s.bytes !== pushedBytes) fail('stats.bytes', `stats: bytes ${s.bytes} != ${pushedBytes} pushed`);
}
