/**
 * Seeded round trip (CONVENTIONS rule 2): random values → encodePhdbRecord / encodeWaveRecord →
 * frameRecord → random re-chunking → framer → decoder → profile mapping, compared with the input.
 */
import t from 'tap';
import { intToSample, type NumericObs, type Observation, type WaveObs } from '../../../../schemas/src/observation.js';
import { encodePhdbRecord, encodeWaveRecord, type GroupValues } from './encode.js';
import { frameRecord } from './frame.js';
import { fieldLabel } from './labels.js';
import { PHDB_CLASSES, PHDB_LAYOUT, SPECIAL_MARKERS, WAVES, type PhdbClass } from './layout.js';
import { GeDriStreamDecoder } from './stream-decoder.js';
import { randInt, rng } from './test-rng.js';

const SEED = 20261122;
const MARKERS = Object.keys(SPECIAL_MARKERS).map(Number);

function labelFor(r: () => number, group: string): number {
  if (/^p\d$/.test(group)) return randInt(r, 1, 14);
  if (/^t\d$/.test(group)) return randInt(r, 1, 16);
  if (group === 'aa') return randInt(r, 0, 6);
  if (group === 'ecg') return (randInt(r, 1, 7) << 8) | (randInt(r, 1, 7) << 4) | randInt(r, 1, 7);
  if (group === 'nibp') return r() < 0.5 ? 0x20 : 0;
  return 0;
}

function rechunk(r: () => number, data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length;) {
    const n = randInt(r, 1, 200);
    out.push(data.subarray(i, i + n));
    i += n;
  }
  return out;
}

t.test('PHDB records survive encode → frame → re-chunk → decode → map', async (t) => {
  const r = rng(SEED);
  const d = new GeDriStreamDecoder({ profileId: 'ge/carescape-b650/dri-2009' });
  const profile = d.activeProfile()!;
  let checked = 0;
  for (let n = 0; n < 40; n++) {
    const time = 1_600_000_000 + n * 5;
    const classes: Partial<Record<PhdbClass, Record<string, GroupValues>>> = {};
    const expected = new Map<string, { value: number | null; flag?: string; label?: string }>();
    const groupsIn: Record<string, { status: number; label: number; fields: Record<string, number> }> = {};
    for (const cls of PHDB_CLASSES) {
      classes[cls] = {};
      for (const g of PHDB_LAYOUT[cls]) {
        if (r() < 0.25) continue; // absent → status 0
        const status = g.hasHeader ? (r() < 0.8 ? 3 | (randInt(r, 0, 255) << 2) : randInt(r, 0, 2)) : 3;
        const label = g.hasHeader ? labelFor(r, g.name) : 0;
        const fields: Record<string, number> = {};
        for (const f of g.fields) fields[f.name] = r() < 0.1 ? MARKERS[randInt(r, 0, MARKERS.length - 1)] : randInt(r, -2000, 30000);
        if (g.name === 'co2') fields.amb_press = randInt(r, 6000, 8000);
        classes[cls]![g.name] = { status, label, fields };
        groupsIn[g.name] = { status, label, fields };
      }
    }
    const ecgActive = ((groupsIn.ecg?.status ?? 0) & 3) === 3;
    for (const cls of PHDB_CLASSES) {
      for (const g of PHDB_LAYOUT[cls]) {
        // A header-less group has no status of its own: "absent" means all fields -32767.
        const gi = groupsIn[g.name] ?? (g.hasHeader ? undefined : { status: 3, label: 0, fields: Object.fromEntries(g.fields.map((f) => [f.name, -32767])) });
        if (!gi || (gi.status & 3) !== 3 || (!g.hasHeader && !ecgActive)) continue;
        for (const f of g.fields) {
          const raw = gi.fields[f.name];
          const label = g.hasHeader ? fieldLabel(g.name, f.name, gi.label) : undefined;
          expected.set(`${g.name}.${f.name}`, raw < -32001 ? { value: null, flag: SPECIAL_MARKERS[raw], label } : { value: raw / f.divisor, label });
        }
      }
    }
    const obs: Observation[] = [];
    const bytes = frameRecord(encodePhdbRecord({ time, recNbr: n, classes }));
    for (const c of rechunk(r, bytes)) obs.push(...d.push(c));
    const nums = obs.filter((o): o is NumericObs => o.kind === 'numeric');
    t.equal(nums.length, expected.size, `record ${n}: one observation per active field`);
    const amb = expected.get('co2.amb_press')?.value ?? null;
    for (const o of nums) {
      const e = expected.get(o.vendorCode);
      const m = profile.numerics[o.vendorCode];
      if (!e || !m) {
        t.fail(`unexpected ${o.vendorCode}`);
        continue;
      }
      let want = e.value;
      if (want !== null && m.convert && amb !== null && amb > 300 && amb < 1100) want = Number(((want * amb) / 100).toFixed(1));
      if (want !== null && m.valid && ((m.valid.min !== undefined && want < m.valid.min) || (m.valid.max !== undefined && want > m.valid.max))) want = null;
      const variant = e.label !== undefined ? m.byLabel?.[e.label] : undefined;
      const ok =
        o.value === (want === null ? null : Number(want.toPrecision(12))) &&
        o.mdc === (variant?.mdc ?? m.mdc) &&
        o.label === e.label &&
        o.t === time * 1000 &&
        (e.flag === undefined || (o.flags ?? []).includes(e.flag as never));
      if (!ok) t.fail(`${o.vendorCode}: got ${JSON.stringify(o)} want ${JSON.stringify({ ...e, want })}`);
      else checked++;
    }
  }
  t.ok(checked > 2000, `${checked} numerics compared`);
  t.same(d.stats().errors, {});
  t.same(d.unmapped(), {}, 'every layout field has a mapping in the profile');
});

t.test('wave records survive the trip, contiguous in time', async (t) => {
  const r = rng(SEED + 1);
  const d = new GeDriStreamDecoder({ profileId: 'ge/s5/dri-2003' });
  const profile = d.activeProfile()!;
  const ids = Object.keys(WAVES).map(Number);
  const chosen = ids.filter(() => r() < 0.5).slice(0, 8);
  const next = new Map<number, number>();
  let compared = 0;
  for (let n = 0; n < 30; n++) {
    const time = 1_600_000_000 + Math.floor(n / 4); // 250 ms blocks on a 1 s device clock
    const channels = chosen.map((id) => ({
      waveId: id,
      samples: Array.from({ length: WAVES[id].rateHz / 4 }, () => (r() < 0.02 ? -32767 : randInt(r, -32000, 32000))),
      label: id >= 1 && id <= 3 ? randInt(r, 1, 7) : randInt(r, 0, 14),
    }));
    const obs: Observation[] = [];
    for (const c of rechunk(r, frameRecord(encodeWaveRecord({ time, recNbr: n, channels })))) obs.push(...d.push(c));
    const waves = obs.filter((o): o is WaveObs => o.kind === 'wave');
    t.equal(waves.length, channels.length);
    waves.forEach((w, i) => {
      const ch = channels[i];
      const m = profile.waves![`wave.${WAVES[ch.waveId].name}`];
      const want = ch.samples.map((s) => (s < -32001 ? null : intToSample(s, m.scale, 0)));
      const t0 = next.get(ch.waveId) ?? time * 1000;
      if (JSON.stringify(w.samples) !== JSON.stringify(want) || Math.abs(w.t0 - t0) > 1e-6 || w.rateHz !== WAVES[ch.waveId].rateHz) {
        t.fail(`record ${n} wave ${ch.waveId}`);
      } else compared++;
      next.set(ch.waveId, t0 + (ch.samples.length * 1000) / w.rateHz);
    });
  }
  t.equal(compared, 30 * chosen.length, `${compared} wave blocks compared`);
  t.same(d.stats().errors, {});
});
