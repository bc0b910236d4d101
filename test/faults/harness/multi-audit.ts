/**
 * The audit of every device of a bed (harness/multi-devices.ts), one result per device.
 *
 * Devices that carry their own clock (GE DRI, IntelliVue, Masimo, HL7) go through audit.ts as the
 * GE monitor does: identity (vendor channel, device time), exact value and time.
 * Host-stamped devices (MEDIBUS: frames carry no time, the gateway stamps on receive and anchors the
 * realtime sample clock on receive; Nonin: the frame clock is anchored on receive) are matched by
 * (vendor channel, value) within ±toleranceMs of the simulator's time, one-to-one: a stored point
 * (or wave sample) stands for at most one produced reading. Per (channel, value) class the greedy
 * "each reading, in time order, takes the earliest free stored point in its window" is a maximum
 * matching (all windows have the same width), so counts are exact:
 *   lost       produced readings with no stored point in their window
 *   duplicated stored points left over that lie in the window of a produced reading of their class
 *   invented   other stored points left over
 *   mismatched always 0 here: a wrong value or a time off by more than the tolerance shows as
 *              lost + invented (or duplicated)
 * Excluded readings (multi-devices.ts) are matched after the produced ones, with the same rule.
 * Wave samples: time = block t0 + i / rate on both sides, value as stored (10 significant digits).
 */
import { rowToWave } from '../../../ingest/src/series/layout.js';
import type { Produced } from '../../../simulators/src/index.js';
import { audit, auditLine, queryRange, type AuditCounts, type AuditResult } from './audit.js';
import type { AuditedDevice, TruthReading } from './multi-truth.js';

export interface DeviceAudit extends AuditResult {
  device: AuditedDevice;
  /** host-stamped: stored − produced time of the matched readings (ms) */
  skew?: { min: number; max: number };
  /** host-stamped: the simulator times of the lost readings (ms), sorted */
  lostAt?: { numerics: number[]; waves: number[] };
}

const zero = (): AuditCounts => ({ produced: 0, stored: 0, lost: 0, duplicated: 0, invented: 0, mismatched: 0 });
const valueKey = (v: number): string => String(Number(v.toPrecision(10)));

interface Pt {
  t: number;
  used: boolean;
}
interface MatchOut {
  matched: number;
  lost: number;
  lostAt: number[];
  min: number;
  max: number;
}

/** Greedy maximum matching of `want` times against `have` points (both one class), in place. */
function matchClass(want: number[], have: Pt[], tol: number): MatchOut {
  want.sort((a, b) => a - b);
  const out: MatchOut = { matched: 0, lost: 0, lostAt: [], min: Infinity, max: -Infinity };
  let j = 0;
  for (const w of want) {
    while (j < have.length && (have[j].used || have[j].t < w - tol)) j++;
    // haves before j are used or too early for every later reading too
    let k = j;
    while (k < have.length && have[k].used) k++;
    if (k < have.length && have[k].t <= w + tol) {
      have[k].used = true;
      out.matched++;
      const d = have[k].t - w;
      out.min = Math.min(out.min, d);
      out.max = Math.max(out.max, d);
    } else {
      out.lost++;
      out.lostAt.push(w);
    }
  }
  return out;
}

type Classes = Map<string, number[]>;

function add(m: Classes, key: string, t: number): void {
  const l = m.get(key);
  if (l) l.push(t);
  else m.set(key, [t]);
}

function within(sorted: number[], t: number, tol: number): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < t - tol) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length && sorted[lo] <= t + tol;
}

/** One kind (numerics or wave samples) of a host-stamped device. */
function tally(
  want: Classes,
  maybe: Classes,
  have: Map<string, Pt[]>,
  tol: number,
  what: string,
  ex: (s: string) => void,
  skew: { min: number; max: number },
): { counts: AuditCounts; excludedStored: number; lostAt: number[] } {
  const c = zero();
  for (const l of want.values()) c.produced += l.length;
  for (const l of have.values()) {
    c.stored += l.length;
    l.sort((a, b) => a.t - b.t);
  }
  const lostAt: number[] = [];
  for (const [key, times] of want) {
    const r = matchClass(times, have.get(key) ?? [], tol);
    c.lost += r.lost;
    if (r.matched) {
      skew.min = Math.min(skew.min, r.min);
      skew.max = Math.max(skew.max, r.max);
    }
    for (const at of r.lostAt.slice(0, 3)) ex(`${what} lost ${key} @${at}`);
    for (const at of r.lostAt) lostAt.push(at);
  }
  let excludedStored = 0;
  for (const [key, times] of maybe) excludedStored += matchClass(times, have.get(key) ?? [], tol).matched;
  for (const [key, pts] of have) {
    const w = want.get(key) ?? [];
    for (const p of pts) {
      if (p.used) continue;
      if (within(w, p.t, tol)) {
        c.duplicated++;
        ex(`${what} duplicated ${key} @${p.t}`);
      } else {
        c.invented++;
        ex(`${what} invented ${key} @${p.t}`);
      }
    }
  }
  return { counts: c, excludedStored, lostAt: lostAt.sort((a, b) => a - b) };
}

const chanOf = (r: { vendorCode?: string; mdc?: string | null }, waveKey: 'mdc' | 'vendor'): string =>
  String((waveKey === 'vendor' ? r.vendorCode : r.mdc) ?? r.vendorCode);

export interface HostStampedTarget {
  influxUrl: string;
  database: string;
  deviceId: string;
  produced: readonly TruthReading[];
  excluded?: readonly TruthReading[];
  toleranceMs: number;
  waveKey?: 'mdc' | 'vendor';
}

export type HostStampedAudit = AuditResult & { skew: { min: number; max: number }; lostAt: { numerics: number[]; waves: number[] } };

export async function auditHostStamped(t: HostStampedTarget): Promise<HostStampedAudit> {
  const examples: string[] = [];
  const ex = (s: string) => {
    if (examples.length < 12) examples.push(s);
  };
  const waveKey = t.waveKey ?? 'mdc';
  const classes = (list: readonly TruthReading[]) => {
    const nums: Classes = new Map();
    const waves: Classes = new Map();
    for (const r of list) {
      if (r.kind === 'numeric') add(nums, `${r.vendorCode}|${valueKey(r.value)}`, r.t);
      else r.samples.forEach((s, i) => add(waves, `${chanOf(r, waveKey)}|${valueKey(s)}`, r.t0 + (i * 1000) / r.rateHz));
    }
    return { nums, waves };
  };
  const want = classes(t.produced);
  const maybe = classes(t.excluded ?? []);
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of [...t.produced, ...(t.excluded ?? [])]) {
    const at = r.kind === 'numeric' ? r.t : r.t0;
    if (at < lo) lo = at;
    if (at > hi) hi = at;
  }
  const from = (Number.isFinite(lo) ? lo : Date.now()) - 3600_000;
  const to = (Number.isFinite(hi) ? hi : Date.now()) + 3600_000;
  const dev = t.deviceId.replace(/'/g, "\\'");
  let absent = 0;
  const haveN = new Map<string, Pt[]>();
  for (const r of await queryRange(t.influxUrl, t.database, 'numeric', dev, from, to)) {
    if (typeof r.value !== 'number') {
      absent++;
      continue;
    }
    const vendor = r.vendor === '_' ? '' : String(r.vendor ?? '');
    const key = `${vendor}|${valueKey(r.value)}`;
    const l = haveN.get(key);
    if (l) l.push({ t: r.time, used: false });
    else haveN.set(key, [{ t: r.time, used: false }]);
  }
  const haveW = new Map<string, Pt[]>();
  for (const r of await queryRange(t.influxUrl, t.database, 'wave', dev, from, to)) {
    const w = rowToWave(r);
    const chan = waveKey === 'vendor' ? w.vendorCode : (w.mdc ?? w.vendorCode);
    w.samples.forEach((s, i) => {
      if (s === null) return;
      const key = `${chan}|${valueKey(s)}`;
      const pt = { t: w.t0 + (i * 1000) / w.rateHz, used: false };
      const l = haveW.get(key);
      if (l) l.push(pt);
      else haveW.set(key, [pt]);
    });
  }
  const skew = { min: Infinity, max: -Infinity };
  const n = tally(want.nums, maybe.nums, haveN, t.toleranceMs, 'numeric', ex, skew);
  const w = tally(want.waves, maybe.waves, haveW, t.toleranceMs, 'wave sample', ex, skew);
  const count = (c: Classes) => [...c.values()].reduce((k, l) => k + l.length, 0);
  return {
    numerics: n.counts,
    waves: w.counts,
    restamped: 0,
    restampedUnflagged: 0,
    absent,
    examples,
    skew,
    lostAt: { numerics: n.lostAt, waves: w.lostAt },
    ...(t.excluded
      ? { excluded: { numerics: { produced: count(maybe.nums), stored: n.excludedStored }, waves: { produced: count(maybe.waves), stored: w.excludedStored } } }
      : {}),
  };
}

/** The audit of one device, by its mode. */
export async function auditDevice(influxUrl: string, database: string, broker: string, d: AuditedDevice): Promise<DeviceAudit> {
  if (d.audit.mode === 'host-stamped') {
    const a = await auditHostStamped({
      influxUrl,
      database,
      deviceId: d.id,
      produced: d.truth.produced,
      excluded: d.truth.excluded,
      toleranceMs: d.audit.toleranceMs ?? 500,
      ...(d.audit.waveKey ? { waveKey: d.audit.waveKey } : {}),
    });
    return { ...a, broker, device: d };
  }
  // the truth shapes differ only in optional fields audit.ts does not rely on (mdc: checked when present)
  const a = await audit({
    influxUrl,
    database,
    deviceId: d.id,
    produced: d.truth.produced as unknown as Produced[],
    excluded: d.truth.excluded as unknown as Produced[],
    ...(d.audit.waveKey ? { waveKey: d.audit.waveKey } : {}),
  });
  return { ...a, broker, device: d };
}

/** Settled: numerics and wave samples all in. */
export const deviceClean = (a: DeviceAudit): boolean => a.numerics.produced > 0 && a.numerics.lost === 0 && a.waves.lost === 0;

/** The audit table line of one device (docs/reliability.md), with its notes. */
export function deviceLine(scenario: string, a: DeviceAudit, extra: string[] = []): string {
  const notes = [...extra];
  if (a.device.audit.mode === 'host-stamped') {
    const s = a.skew && Number.isFinite(a.skew.min) ? `, matched at ${Math.round(a.skew.min)}…${Math.round(a.skew.max)} ms` : '';
    notes.push(`host-stamped: (channel, value) within ±${a.device.audit.toleranceMs ?? 500} ms${s}`);
  }
  if (a.excluded && (a.excluded.numerics.produced || a.excluded.waves.produced)) {
    const e = a.excluded;
    notes.push(`excluded ${e.numerics.produced} values / ${e.waves.produced} samples (stored ${e.numerics.stored} / ${e.waves.stored})`);
  }
  notes.push(a.device.notes());
  return auditLine(`${scenario}: ${a.device.name}`, a, notes.join('; '));
}
