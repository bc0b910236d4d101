/**
 * The audit: what the simulators put on the wire (their `produced` truth) against what InfluxDB
 * holds, read back directly with InfluxQL (not through ingest, so ingest cannot hide anything).
 *
 * Numerics: a reading's identity is (device, vendor channel, device timestamp); InfluxDB keeps the
 * device timestamp of every point in the `t_device` field, so a reading stored twice at two times
 * (a replay re-stamped) is visible as a duplicate even though InfluxDB overwrites same-time points.
 *   produced   distinct readings the simulator emitted
 *   stored     points of that device in InfluxDB
 *   lost       produced readings with no point
 *   duplicated points beyond the first for one reading
 *   invented   points whose identity no simulator produced
 *   mismatched points whose value, mdc or time differs from the produced reading
 * Waves: identity = (device, channel, sample index on the channel's own sample clock); the same
 * categories count samples.
 */
import { rowsOf } from '../../../ingest/src/series/influxql.js';
import { rowToWave, type Row } from '../../../ingest/src/series/layout.js';
import type { Produced, ProducedNumeric, ProducedWave } from '../../../simulators/src/index.js';

export interface AuditCounts {
  produced: number;
  stored: number;
  lost: number;
  duplicated: number;
  invented: number;
  mismatched: number;
}
export interface AuditResult {
  numerics: AuditCounts;
  waves: AuditCounts;
  /** Points whose time differs from t_device (re-stamped), with the clock flags they carry. */
  restamped: number;
  restampedUnflagged: number;
  /** Stored points without a value (device sent the parameter as invalid): not readings. */
  absent: number;
  examples: string[];
  /** the rig's broker (aedes | mosquitto), set by FaultRig.audit/auditAll */
  broker?: string;
  /** AuditTarget.excluded: readings (values; wave samples) given, and how many of them were stored */
  excluded?: { numerics: { produced: number; stored: number }; waves: { produced: number; stored: number } };
}

export interface AuditTarget {
  influxUrl: string;
  database: string;
  deviceId: string;
  produced: readonly Produced[];
  /** Expected stored time of a produced numeric (default: its device time). */
  expectTime?: (n: ProducedNumeric) => number;
  /** A stored time away from the expected one is no mismatch when the point carries a clock flag. */
  flaggedRestampOk?: boolean;
  /** With flaggedRestampOk: the whole-clock steps (ms) a flagged wave block may have moved by. */
  waveShiftsMs?: number[];
  /**
   * A wave channel's identity: its MDC code (default; GE truth) or the device's own channel id
   * (`vendorCode`: simulators whose wave truth carries no MDC code, e.g. IntelliVue).
   */
  waveKey?: 'mdc' | 'vendor';
  /**
   * Readings that went (or may have gone) on the wire but whose delivery the scenario does not
   * vouch for (e.g. an HL7 message never acknowledged): a stored point of one is neither invented
   * nor, when absent, lost; it is still checked for duplicates and value. Counted in `excluded`.
   */
  excluded?: readonly Produced[];
}

const CLOCK_BITS = (1 << 10) | (1 << 11);

async function query(influxUrl: string, db: string, q: string): Promise<Row[]> {
  const res = await fetch(`${influxUrl}/query?db=${encodeURIComponent(db)}&epoch=ms`, {
    method: 'POST',
    body: new URLSearchParams({ q }),
    signal: AbortSignal.timeout(20_000),
  });
  const json = (await res.json()) as { error?: string; results?: { error?: string; series?: { name: string; columns: string[]; values: unknown[][] }[] }[] };
  if (json.error || json.results?.[0]?.error) throw new Error(`influx query failed: ${json.error ?? json.results?.[0]?.error}`);
  return rowsOf((json.results?.[0] ?? { statement_id: 0 }) as Parameters<typeof rowsOf>[0]);
}

/**
 * One measurement of one device over [from, to], read in 15-minute slices: an hour of a bed is
 * ~10^5 numeric rows, and one response that size is slow to build and parse (the soak's audit).
 */
export async function queryRange(influxUrl: string, db: string, measurement: string, dev: string, from: number, to: number): Promise<Row[]> {
  const SLICE = 15 * 60_000;
  const out: Row[] = [];
  for (let a = from; a <= to; a += SLICE) {
    const b = Math.min(to, a + SLICE - 1);
    const rows = await query(influxUrl, db, `SELECT * FROM "${measurement}" WHERE "device" = '${dev}' AND time >= ${a}ms AND time <= ${b}ms`);
    for (const r of rows) out.push(r);
  }
  return out;
}

const zero = (): AuditCounts => ({ produced: 0, stored: 0, lost: 0, duplicated: 0, invented: 0, mismatched: 0 });

export async function audit(t: AuditTarget): Promise<AuditResult> {
  const nums = t.produced.filter((r): r is ProducedNumeric => r.kind === 'numeric');
  const waves = t.produced.filter((r): r is ProducedWave => r.kind === 'wave');
  const out: AuditResult = { numerics: zero(), waves: zero(), restamped: 0, restampedUnflagged: 0, absent: 0, examples: [] };
  const exNums = (t.excluded ?? []).filter((r): r is ProducedNumeric => r.kind === 'numeric');
  const exWaves = (t.excluded ?? []).filter((r): r is ProducedWave => r.kind === 'wave');
  const waveId = (w: { mdc?: string | null; vendorCode?: string }): string => String((t.waveKey === 'vendor' ? w.vendorCode : w.mdc) ?? w.vendorCode);
  const ex = (s: string) => {
    if (out.examples.length < 12) out.examples.push(s);
  };
  const dev = t.deviceId.replace(/'/g, "\\'");
  // generous window: clock-jump scenarios may re-stamp by ±1 h
  // (a loop, not Math.min(...times): an hour of 50 beds is millions of readings, beyond the call stack)
  let lo = Infinity;
  let hi = -Infinity;
  for (const n of nums) {
    if (n.t < lo) lo = n.t;
    if (n.t > hi) hi = n.t;
  }
  for (const w of waves) {
    if (w.t0 < lo) lo = w.t0;
    if (w.t0 > hi) hi = w.t0;
  }
  const from = (Number.isFinite(lo) ? lo : Date.now()) - 3 * 3600_000;
  const to = (Number.isFinite(hi) ? hi : Date.now()) + 3 * 3600_000;

  // ---- numerics
  const want = new Map<string, ProducedNumeric>();
  for (const n of nums) want.set(`${n.vendorCode}|${n.t}`, n);
  out.numerics.produced = want.size;
  const maybe = new Map<string, ProducedNumeric>();
  for (const n of exNums) if (!want.has(`${n.vendorCode}|${n.t}`)) maybe.set(`${n.vendorCode}|${n.t}`, n);
  if (t.excluded) out.excluded = { numerics: { produced: maybe.size, stored: 0 }, waves: { produced: 0, stored: 0 } };
  const rows = await queryRange(t.influxUrl, t.database, 'numeric', dev, from, to);
  const seen = new Map<string, number>();
  for (const r of rows) {
    // a point without a value is the device's "invalid/absent" marker, not a reading
    if (typeof r.value !== 'number') {
      out.absent++;
      continue;
    }
    out.numerics.stored++;
    const vendor = r.vendor === '_' ? '' : String(r.vendor ?? '');
    const tDev = typeof r.t_device === 'number' ? r.t_device : r.time;
    const key = `${vendor}|${tDev}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    const p = want.get(key) ?? maybe.get(key);
    if (!p) {
      out.numerics.invented++;
      ex(`numeric invented ${key} @${r.time} value=${String(r.value)}`);
      continue;
    }
    if ((seen.get(key) ?? 0) > 1) {
      out.numerics.duplicated++;
      ex(`numeric duplicated ${key} @${r.time}`);
      continue;
    }
    if (out.excluded && !want.has(key)) out.excluded.numerics.stored++;
    const expT = t.expectTime ? t.expectTime(p) : p.t;
    const flags = typeof r.flags === 'number' ? r.flags : 0;
    if (r.time !== p.t) {
      out.restamped++;
      if (!(flags & CLOCK_BITS)) out.restampedUnflagged++;
    }
    const mdcOk = !p.mdc || r.mdc === p.mdc;
    const timeOk = r.time === expT || (t.flaggedRestampOk === true && (flags & CLOCK_BITS) !== 0);
    if (r.value !== p.value || !mdcOk || !timeOk) {
      out.numerics.mismatched++;
      ex(`numeric mismatch ${key}: stored ${String(r.value)} ${String(r.mdc)} @${r.time}, produced ${p.value} ${p.mdc} @${expT}`);
    }
  }
  for (const [key] of want) {
    if (seen.has(key)) continue;
    out.numerics.lost++;
    ex(`numeric lost ${key}`);
  }

  // ---- waves, per channel on the sample clock (index = round(t0·rate/1000) + i)
  const wantS = new Map<string, number>();
  for (const w of waves) {
    const base = Math.round((w.t0 * w.rateHz) / 1000);
    w.samples.forEach((s, i) => wantS.set(`${waveId(w)}|${base + i}`, s));
  }
  out.waves.produced = wantS.size;
  const maybeS = new Map<string, number>();
  for (const w of exWaves) {
    const base = Math.round((w.t0 * w.rateHz) / 1000);
    w.samples.forEach((s, i) => {
      const k = `${waveId(w)}|${base + i}`;
      if (!wantS.has(k)) maybeS.set(k, s);
    });
  }
  if (out.excluded) out.excluded.waves.produced = maybeS.size;
  if (waves.length || exWaves.length) {
    const wrows = await queryRange(t.influxUrl, t.database, 'wave', dev, from, to);
    const seenS = new Set<string>();
    for (const r of wrows) {
      const w = rowToWave(r);
      const mdc = t.waveKey === 'vendor' ? w.vendorCode : (w.mdc ?? w.vendorCode);
      let base = Math.round((w.t0 * w.rateHz) / 1000);
      const flagged = (w.flags ?? []).some((f) => f === 'clock-offset' || f === 'clock-jump');
      if (t.flaggedRestampOk && flagged && !wantS.has(`${mdc}|${base}`)) {
        const shift = pickWaveShift(wantS, mdc, w, t.waveShiftsMs ?? []);
        if (shift !== undefined) {
          base = Math.round(((w.t0 - shift) * w.rateHz) / 1000);
          out.restamped++;
        }
      }
      w.samples.forEach((s, i) => {
        if (s === null) return;
        out.waves.stored++;
        const key = `${mdc}|${base + i}`;
        if (seenS.has(key)) {
          out.waves.duplicated++;
          ex(`wave sample duplicated ${key}`);
          return;
        }
        seenS.add(key);
        const p = wantS.get(key) ?? maybeS.get(key);
        if (p === undefined) {
          out.waves.invented++;
          ex(`wave sample invented ${key}`);
          return;
        }
        if (out.excluded && !wantS.has(key)) out.excluded.waves.stored++;
        if (Math.abs(p - s) > 1e-9 * Math.max(1, Math.abs(p))) {
          out.waves.mismatched++;
          ex(`wave sample mismatch ${key}: ${s} vs ${p}`);
        }
      });
    }
    const lostBy = new Map<string, { first: number; last: number; n: number }>();
    for (const key of wantS.keys()) {
      if (seenS.has(key)) continue;
      out.waves.lost++;
      const [mdc, idx] = [key.slice(0, key.lastIndexOf('|')), Number(key.slice(key.lastIndexOf('|') + 1))];
      const r = lostBy.get(mdc) ?? { first: idx, last: idx, n: 0 };
      r.first = Math.min(r.first, idx);
      r.last = Math.max(r.last, idx);
      r.n++;
      lostBy.set(mdc, r);
    }
    const rate = new Map(waves.map((w) => [waveId(w), w.rateHz]));
    const where = [...lostBy].map(
      ([mdc, r]) => `${mdc} ${r.n} in [${r.first}..${r.last}] from t_device ${Math.round((r.first * 1000) / (rate.get(mdc) ?? 1))}`,
    );
    if (out.waves.lost) ex(`wave samples lost: ${out.waves.lost} (${where.join('; ')})`);
  }
  return out;
}

/**
 * The shift (ms) a flagged wave block moved by: of the candidates whose first position was produced,
 * the one under which most of the block's samples equal the produced ones (a whole-second correction
 * of a step can be the step ± 1 s: r_time has 1 s resolution). Not the first sample alone: a
 * near-periodic wave (the simulator's ECG at 60/min repeats every second) often matches one sample
 * 1 s away, and the block would be audited 1 s off its place.
 */
export function pickWaveShift(
  wantS: ReadonlyMap<string, number>,
  mdc: string,
  w: { t0: number; rateHz: number; samples: readonly (number | null)[] },
  shiftsMs: readonly number[],
): number | undefined {
  let best: number | undefined;
  let bestHits = -1;
  for (const ms of shiftsMs) {
    const b = Math.round(((w.t0 - ms) * w.rateHz) / 1000);
    if (!wantS.has(`${mdc}|${b}`)) continue;
    let hits = 0;
    w.samples.forEach((v, i) => {
      if (v !== null && wantS.get(`${mdc}|${b + i}`) === v) hits++;
    });
    if (hits > bestHits) {
      best = ms;
      bestHits = hits;
    }
  }
  return best;
}

/** Sum of several audits (one per bed). */
export function sumAudits(list: AuditResult[]): AuditResult {
  const add = (a: AuditCounts, b: AuditCounts): AuditCounts => ({
    produced: a.produced + b.produced,
    stored: a.stored + b.stored,
    lost: a.lost + b.lost,
    duplicated: a.duplicated + b.duplicated,
    invented: a.invented + b.invented,
    mismatched: a.mismatched + b.mismatched,
  });
  return list.reduce(
    (acc, r) => ({
      numerics: add(acc.numerics, r.numerics),
      waves: add(acc.waves, r.waves),
      restamped: acc.restamped + r.restamped,
      restampedUnflagged: acc.restampedUnflagged + r.restampedUnflagged,
      absent: acc.absent + r.absent,
      examples: [...acc.examples, ...r.examples].slice(0, 12),
    }),
    { numerics: zero(), waves: zero(), restamped: 0, restampedUnflagged: 0, absent: 0, examples: [] },
  );
}

/** One line of the audit table (docs/reliability.md). */
export function auditLine(scenario: string, a: AuditResult, extra = ''): string {
  const n = a.numerics;
  const w = a.waves;
  return (
    `| ${a.broker ?? ''} | ${scenario} | ${n.produced} | ${n.stored} | ${n.lost} | ${n.duplicated} | ${n.invented} | ${n.mismatched} | ` +
    `${w.produced} | ${w.lost} | ${w.duplicated} | ${w.invented} | ${w.mismatched} | ${extra} |`
  );
}
