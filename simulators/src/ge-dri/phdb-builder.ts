/**
 * Canonical vitals → one DISPL PHDB record's group values (raw int16, via the layout divisors)
 * plus the truth of every valid value it carries. Site labels: P1 ART, P2 CVP, T1 ESO, T2 SKIN,
 * ECG leads V/II/V, agent from the model. Groups not listed stay inactive (status 0, −32767);
 * fields not listed in an active group are −32767 (no data).
 */
import type { VitalsSnapshot, VitalKey } from '../physiology/index.js';
import { AGENTS } from '../physiology/index.js';
import type { PhysiologyModel } from '../physiology/index.js';
import { PHDB_LAYOUT, type GroupValues, type PhdbClass } from './codec.js';
import { physical, type ProducedNumeric } from './truth.js';

interface GroupMap {
  status?: number;
  label?: number | ((s: VitalsSnapshot) => number);
  fields: Record<string, VitalKey>;
}

const ACTIVE = 0x3;
/** ecg status: exists|active, HR source ECG1 (bits 3–6 = 1). */
const ECG_STATUS = ACTIVE | (1 << 3);
/** ECG1 = V (7), ECG2 = II (2), ECG3 = V (7): bits 8–11 / 4–7 / 0–3. */
export const ECG_LEAD_LABEL = (7 << 8) | (2 << 4) | 7;

export const PHDB_MAP: Partial<Record<PhdbClass, Record<string, GroupMap>>> = {
  basic: {
    ecg: { status: ECG_STATUS, label: ECG_LEAD_LABEL, fields: { hr: 'hr' } },
    p1: { label: 1, fields: { sys: 'artSys', dia: 'artDia', mean: 'artMean', hr: 'artPulseRate' } },
    p2: { label: 2, fields: { mean: 'cvp' } },
    nibp: { fields: { sys: 'nibpSys', dia: 'nibpDia', mean: 'nibpMean' } },
    t1: { label: 1, fields: { temp: 'tempEso' } },
    t2: { label: 7, fields: { temp: 'tempSkin' } },
    spo2: { fields: { spo2: 'spo2', pr: 'pulseRate' } },
    co2: { fields: { et: 'etco2', fi: 'fico2', rr: 'respRate', amb_press: 'ambientPressure' } },
    o2: { fields: { et: 'etO2', fi: 'fiO2' } },
    n2o: { fields: { et: 'etN2O', fi: 'fiN2O' } },
    aa: { label: (s) => AGENTS[s.agent].driLabel, fields: { et: 'etAgent', fi: 'fiAgent', mac_sum: 'mac' } },
    flow_vol: {
      fields: { rr: 'ventRate', ppeak: 'ppeak', peep: 'peep', pplat: 'pplat', tv_exp: 'tidalVolume', compliance: 'compliance', mv_exp: 'minuteVolume' },
    },
  },
  ext1: {},
  ext2: {
    eeg_bis: { fields: { bis: 'bis' } },
    entropy: { fields: { eeg_ent: 'entropyState', emg_ent: 'entropyResponse' } },
  },
  ext3: {
    flow_vol2: { fields: { pmean: 'pmean', ie_ratio: 'ieRatio' } },
  },
};

function divisorOf(cls: PhdbClass, group: string, field: string): number {
  const g = PHDB_LAYOUT[cls].find((x) => x.name === group);
  const f = g?.fields.find((x) => x.name === field);
  if (!f) throw new Error(`layout has no ${cls}.${group}.${field}`);
  return f.divisor;
}

export interface BuiltPhdb {
  classes: Partial<Record<PhdbClass, Record<string, GroupValues>>>;
  truth: ProducedNumeric[];
}

/** Build the groups of the requested classes for a record stamped `tDeviceMs` (whole second). */
export function buildPhdb(snap: VitalsSnapshot, model: PhysiologyModel, classes: PhdbClass[], tDeviceMs: number): BuiltPhdb {
  const out: BuiltPhdb = { classes: {}, truth: [] };
  const v = snap.values;
  // CO2 travels in % of the ambient pressure the monitor also reports
  const ambRaw = v.ambientPressure === null ? null : Math.round(v.ambientPressure * divisorOf('basic', 'co2', 'amb_press'));
  for (const cls of classes) {
    const groups: Record<string, GroupValues> = {};
    for (const [gname, gm] of Object.entries(PHDB_MAP[cls] ?? {})) {
      const fields: Record<string, number> = {};
      for (const [fname, key] of Object.entries(gm.fields)) {
        const val = v[key];
        if (val === null) continue;
        const div = divisorOf(cls, gname, fname);
        const isCo2Gas = gname === 'co2' && (fname === 'et' || fname === 'fi');
        if (isCo2Gas && ambRaw === null) continue;
        const pct = isCo2Gas ? (val / (ambRaw! / 10)) * 100 : val;
        const raw = Math.round(pct * div);
        if (raw < -32000 || raw > 32767) continue; // would collide with the special markers
        fields[fname] = raw;
        const code = `${gname}.${fname}`;
        // CO2 in mmHg = % × ambient / 100, to 0.1 mmHg (what the gateway profile publishes)
        const value = isCo2Gas ? Number((((raw / div) * (ambRaw! / 10)) / 100).toFixed(1)) : physical(raw, div);
        out.truth.push({ kind: 'numeric', mdc: model.mdcOf(key), value, unit: model.unitOf(key), t: tDeviceMs, vendorCode: code });
      }
      const label = typeof gm.label === 'function' ? gm.label(snap) : gm.label;
      groups[gname] = { status: gm.status ?? ACTIVE, ...(label !== undefined ? { label } : {}), fields };
    }
    out.classes[cls] = groups;
  }
  return out;
}
