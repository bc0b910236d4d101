/**
 * `--scenario FILE` (YAML or JSON): the patient and case the simulator plays.
 *   agent: SEV            # SEV | ISO | DES | HAL | ENF
 *   nibpIntervalMin: 3
 *   realNumerics: true    # with --data-dir: drive HR/SpO2/ART/RR/NIBP by the s00001 numerics
 *   trendStartMinute: 620
 *   baseline: { hr: 88, artSys: 105, etco2: 38 }
 *   events:               # seconds after the start; magnitudes not given are drawn from the seed
 *     - { kind: induction, atS: 120, bpDropPct: 30, hrDelta: -8 }
 *     - { kind: desaturation, atS: 900, nadir: 85, holdS: 45 }
 * Every error is reported at once (SIM_ERR_PHYSIO_CONFIG).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { SIM_ERR, SimError } from './errors.js';
import { AGENTS, VITALS, checkEvents, type Agent, type PhysioEvent, type VitalKey } from './physiology/index.js';

export interface Scenario {
  agent?: Agent;
  nibpIntervalMin?: number;
  realNumerics?: boolean;
  trendStartMinute?: number;
  baseline?: Partial<Record<VitalKey, number>>;
  events?: PhysioEvent[];
}

const KEYS = new Set(['agent', 'nibpIntervalMin', 'realNumerics', 'trendStartMinute', 'baseline', 'events']);

export function parseScenario(text: string): Scenario {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new SimError(SIM_ERR.PHYSIO_CONFIG, 'scenario is not valid YAML/JSON', { cause: e });
  }
  const errors: string[] = [];
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new SimError(SIM_ERR.PHYSIO_CONFIG, 'scenario must be a mapping');
  const o = doc as Record<string, unknown>;
  const out: Scenario = {};
  for (const k of Object.keys(o)) if (!KEYS.has(k)) errors.push(`unknown key '${k}'`);
  if (o.agent !== undefined) {
    if (typeof o.agent === 'string' && o.agent in AGENTS) out.agent = o.agent as Agent;
    else errors.push(`agent must be one of ${Object.keys(AGENTS).join(', ')}`);
  }
  if (o.nibpIntervalMin !== undefined) {
    if (typeof o.nibpIntervalMin === 'number' && o.nibpIntervalMin > 0) out.nibpIntervalMin = o.nibpIntervalMin;
    else errors.push('nibpIntervalMin must be > 0');
  }
  if (o.trendStartMinute !== undefined) {
    if (Number.isInteger(o.trendStartMinute) && (o.trendStartMinute as number) >= 0) out.trendStartMinute = o.trendStartMinute as number;
    else errors.push('trendStartMinute must be an integer >= 0');
  }
  if (o.realNumerics !== undefined) {
    if (typeof o.realNumerics === 'boolean') out.realNumerics = o.realNumerics;
    else errors.push('realNumerics must be true or false');
  }
  if (o.baseline !== undefined) {
    if (o.baseline === null || typeof o.baseline !== 'object') errors.push('baseline must be a mapping');
    else {
      out.baseline = {};
      for (const [k, v] of Object.entries(o.baseline)) {
        if (!(k in VITALS)) {
          errors.push(`baseline: unknown vital '${k}'`);
          continue;
        }
        const d = VITALS[k as VitalKey];
        if (typeof v !== 'number' || v < d.min || v > d.max) {
          errors.push(`baseline.${k} must be a number in ${d.min}..${d.max}`);
          continue;
        }
        out.baseline[k as VitalKey] = v;
      }
    }
  }
  if (o.events !== undefined) {
    const bad = checkEvents(o.events);
    if (bad.length) errors.push(...bad);
    else out.events = o.events as PhysioEvent[];
  }
  if (errors.length) throw new SimError(SIM_ERR.PHYSIO_CONFIG, `scenario: ${errors.join('; ')}`);
  return out;
}

export function loadScenario(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SimError(SIM_ERR.PHYSIO_CONFIG, `cannot read scenario ${path}`, { cause: e });
  }
  return parseScenario(text);
}
