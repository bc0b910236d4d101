/**
 * The ceiling: how fast this influxd stores the very points ingest stored during the window, when
 * written raw. The window's points of every measurement are read back (`SELECT *`, tag and field
 * keys from SHOW TAG/FIELD KEYS so integers keep their `i`) and serialised with ingest's own line
 * protocol code. The set is repeated with timestamps shifted back by whole windows until it holds
 * at least `targetPoints` (so the timing is not one batch long), cut into `batchLines` batches, and
 * POSTed to /write of a fresh database with 1 and 2 concurrent writers, interleaved, `repeats` times
 * each (a fresh database per run, dropped after it); the median per writer count is the ceiling.
 */
import { toLine } from '../ingest/src/series/line-protocol.js';
import { quoteIdent } from '../ingest/src/series/influxql.js';
import type { FieldValue } from '../ingest/src/series/types.js';
import { InfluxHttp } from './influx-http.js';
import { MachineMeter, ProcSampler } from './proc-sampler.js';

export interface CeilingRun {
  writers: number;
  database: string;
  points: number;
  batches: number;
  failedBatches: number;
  seconds: number;
  pointsPerS: number;
  mbPerS: number;
  idleWaitS: number;
  machineBusyCores: number;
  influxdCpuPct: number | null;
  writerCpuPct: number;
  /** busy cores not explained by influxd and this process (the writer): other work on the box */
  otherBusyCores: number | null;
}
export interface CeilingFigures {
  /** median points/s per writer count over the repeats */
  medianPointsPerS: Record<string, number>;
  /** best run per writer count: the closest to an undisturbed machine */
  maxPointsPerS: Record<string, number>;
  windowPoints: number;
  perMeasurement: Record<string, number>;
  copies: number;
  batchLines: number;
  bytes: number;
  runs: CeilingRun[];
  skippedRows: number;
}

/** Line protocol (ms timestamps) of every point stored in [from, to), in time order per measurement. */
export async function readBackLines(
  influx: InfluxHttp,
  db: string,
  from: number,
  to: number,
): Promise<{ lines: { m: string; time: number; rest: string }[]; perMeasurement: Record<string, number>; skipped: number }> {
  const measurements = ((await influx.query(db, 'SHOW MEASUREMENTS'))[0]?.[0]?.values ?? []).map((v) => String(v[0]));
  const lines: { m: string; time: number; rest: string }[] = [];
  const perMeasurement: Record<string, number> = {};
  let skipped = 0;
  for (const m of measurements) {
    const [tagRes, fieldRes] = await influx.query(db, `SHOW TAG KEYS FROM ${quoteIdent(m)}; SHOW FIELD KEYS FROM ${quoteIdent(m)}`);
    const tagKeys = new Set((tagRes[0]?.values ?? []).map((v) => String(v[0])));
    const intFields = new Set((fieldRes[0]?.values ?? []).filter((v) => v[1] === 'integer').map((v) => String(v[0])));
    const res = await influx.query(db, `SELECT * FROM ${quoteIdent(m)} WHERE time >= ${from}ms AND time < ${to}ms`, 'POST');
    let n = 0;
    for (const s of res[0] ?? []) {
      for (const row of s.values) {
        const tags: Record<string, string> = {};
        const fields: Record<string, FieldValue> = {};
        let time = NaN;
        s.columns.forEach((c, i) => {
          const v = row[i];
          if (c === 'time') time = Number(v);
          else if (v === null || v === undefined) return;
          else if (tagKeys.has(c)) tags[c] = String(v);
          else if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') fields[c] = v;
        });
        const line = toLine({ measurement: m, tags, fields, time }, intFields);
        if (line === null) {
          skipped++;
          continue;
        }
        // keep the timestamp apart so copies can be shifted without re-serialising
        lines.push({ m, time, rest: line.slice(0, line.lastIndexOf(' ')) });
        n++;
      }
    }
    perMeasurement[m] = n;
  }
  return { lines, perMeasurement, skipped };
}

export async function measureCeiling(
  influx: InfluxHttp,
  src: { lines: { m: string; time: number; rest: string }[]; perMeasurement: Record<string, number>; skipped: number },
  o: {
    windowMs: number;
    targetPoints: number;
    maxCopies: number;
    batchLines: number;
    writers: number[];
    repeats: number;
    deadline: number;
    tag: string;
    influxdPid: number | null;
    clkTck: number;
  },
): Promise<CeilingFigures> {
  const base = src.lines;
  const copies = base.length ? Math.min(o.maxCopies, Math.max(1, Math.ceil(o.targetPoints / base.length))) : 0;
  const batches: string[] = [];
  let cur: string[] = [];
  let bytes = 0;
  // copy k is shifted back by k windows: same series, as if the run had been k+1 windows long
  for (let k = copies - 1; k >= 0; k--) {
    for (const l of base) {
      cur.push(`${l.rest} ${l.time - k * o.windowMs}`);
      if (cur.length === o.batchLines) {
        const b = cur.join('\n');
        bytes += Buffer.byteLength(b);
        batches.push(b);
        cur = [];
      }
    }
  }
  if (cur.length) {
    const b = cur.join('\n');
    bytes += Buffer.byteLength(b);
    batches.push(b);
  }
  const points = base.length * copies;
  const runs: CeilingRun[] = [];
  // interleaved (1, 2, 1, 2, ...) so that drift of the shared machine hits both alike
  const plan = Array.from({ length: o.repeats }, (_, r) => o.writers.map((w) => ({ w, r }))).flat();
  for (const { w, r } of plan) {
    if (Date.now() > o.deadline) break;
    const database = `bench_ceiling_${o.tag}_w${w}_r${r}`;
    await influx.query(null, `CREATE DATABASE ${quoteIdent(database)}`, 'POST');
    let next = 0;
    const idleWaitS = await waitInfluxdIdle(o.influxdPid, Math.min(o.deadline, Date.now() + 15_000));
    const meter = new MachineMeter(o.clkTck);
    const influxdCpu = o.influxdPid ? new ProcSampler([{ name: 'influxd', pid: o.influxdPid }], 3_600_000) : null;
    meter.start();
    influxdCpu?.start();
    const cpu0 = process.cpuUsage();
    let failed = 0;
    let sentBytes = 0;
    const t0 = performance.now();
    const writer = async () => {
      while (next < batches.length && Date.now() < o.deadline) {
        const b = batches[next++];
        sentBytes += Buffer.byteLength(b);
        const status = await influx.write(database, b).catch(() => 0);
        if (status !== 204) failed++;
      }
    };
    await Promise.all(Array.from({ length: w }, writer));
    const seconds = (performance.now() - t0) / 1000;
    const machineBusyCores = meter.busyCores();
    const influxdCpuPct = influxdCpu?.snapshot() ?? null;
    const du = process.cpuUsage(cpu0);
    const writerCpuPct = ((du.user + du.system) / 1e6 / seconds) * 100;
    influxdCpu?.stop();
    const written = Math.min(next, batches.length);
    const pts = written === batches.length ? points : written * o.batchLines;
    runs.push({
      writers: w,
      database,
      points: pts,
      batches: written,
      failedBatches: failed,
      seconds,
      pointsPerS: pts / seconds,
      mbPerS: sentBytes / 1e6 / seconds,
      idleWaitS,
      machineBusyCores,
      influxdCpuPct,
      writerCpuPct,
      otherBusyCores: influxdCpuPct === null ? null : machineBusyCores - (influxdCpuPct + writerCpuPct) / 100,
    });
    await influx.query(null, `DROP DATABASE ${quoteIdent(database)}`, 'POST').catch(() => undefined);
  }
  const medianPointsPerS: Record<string, number> = {};
  const maxPointsPerS: Record<string, number> = {};
  for (const w of o.writers) {
    const v = runs
      .filter((x) => x.writers === w)
      .map((x) => x.pointsPerS)
      .sort((a, b) => a - b);
    if (v.length) medianPointsPerS[String(w)] = v[Math.floor((v.length - 1) / 2)];
    if (v.length) maxPointsPerS[String(w)] = v[v.length - 1];
  }
  return {
    medianPointsPerS,
    maxPointsPerS,
    windowPoints: base.length,
    perMeasurement: src.perMeasurement,
    copies,
    batchLines: o.batchLines,
    bytes,
    runs,
    skippedRows: src.skipped,
  };
}

/** Before a run: wait (bounded) until influxd uses < 10 % of a core over 0.5 s (compaction, drops done). */
async function waitInfluxdIdle(pid: number | null, until: number): Promise<number> {
  if (!pid) return 0;
  const start = Date.now();
  while (Date.now() < until) {
    const s = new ProcSampler([{ name: 'influxd', pid }], 3_600_000);
    s.start();
    await new Promise((r) => setTimeout(r, 500));
    const cpu = s.snapshot();
    s.stop();
    if (cpu === null || cpu < 10) break;
  }
  return (Date.now() - start) / 1000;
}
