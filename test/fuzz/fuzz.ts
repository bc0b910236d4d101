/**
 * The fuzzer's API (run.ts is its CLI, fuzz.test.ts its short seeded run): fuzz targets and build
 * the JSON report; replay saved crashers.
 */
import { availableParallelism, cpus, totalmem } from 'node:os';
import { listCrashers, saveCrasher } from './crashers.js';
import { DEFAULTS, Lane, runTarget, runTargets, type Failure, type RunOptions, type TargetResult } from './runner.js';
import type { FuzzTarget } from './types.js';

export interface FuzzOptions extends Partial<Omit<RunOptions, 'module'>> {
  /** module exporting `targets()` (default: test/fuzz/targets/index.ts) */
  module?: string;
  /** target names or group names (e.g. `nonin`, `ge-dri/decode`); default all */
  only?: string[];
  /** save failing inputs here (default: don't) */
  crashersDir?: string;
}

export interface GroupSummary {
  cases: number;
  casesPerSec: number;
  failures: number;
}

export interface FuzzReport {
  kind: 'orlink-fuzz';
  startedAt: string;
  finishedAt: string;
  wallSeconds: number;
  ok: boolean;
  machine: { cpus: number; cpuModel: string; memGb: number; node: string; gcExposed: boolean };
  options: Omit<RunOptions, 'log' | 'onFailure'>;
  totals: { cases: number; failures: number; crashes: number; invariants: number; hangs: number; heap: number; slow: number };
  /** per protocol (and ingest): cases over all its targets */
  groups: Record<string, GroupSummary>;
  targets: (Omit<TargetResult, 'failures'> & { failures: (Omit<Failure, 'case' | 'stack'> & { bytes?: number })[] })[];
}

const DEFAULT_MODULE = new URL('./targets/index.ts', import.meta.url).href;

export async function loadTargets(module = DEFAULT_MODULE): Promise<FuzzTarget[]> {
  return ((await import(module)) as { targets(): FuzzTarget[] }).targets();
}

export function selectTargets(all: FuzzTarget[], only?: string[]): FuzzTarget[] {
  if (!only?.length) return all;
  const picked = all.filter((t) => only.includes(t.name) || only.includes(t.group));
  const unknown = only.filter((n) => !all.some((t) => t.name === n || t.group === n));
  if (unknown.length) throw new Error(`unknown fuzz target(s): ${unknown.join(', ')} (known: ${all.map((t) => t.name).join(', ')})`);
  return picked;
}

function options(o: FuzzOptions): RunOptions {
  const { only: _o, crashersDir: _c, ...rest } = o;
  const given = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)); // undefined = the default
  return { ...DEFAULTS, ...given, module: o.module ?? DEFAULT_MODULE };
}

export async function fuzz(o: FuzzOptions = {}): Promise<FuzzReport> {
  const opts = options(o);
  const started = new Date();
  const list = selectTargets(await loadTargets(opts.module), o.only);
  const kinds = new Map(list.map((t) => [t.name, t.kind]));
  const onFailure = (f: Failure): void => {
    if (o.crashersDir) f.file = saveCrasher(o.crashersDir, kinds.get(f.target) ?? 'stream', f, opts.seed);
    o.onFailure?.(f);
  };
  const results = await runTargets({ ...opts, onFailure }, list, (r) => opts.log(summaryLine(r)));
  const finished = new Date();
  const groups: Record<string, GroupSummary> = {};
  for (const r of results) {
    const g = (groups[r.group] ??= { cases: 0, casesPerSec: 0, failures: 0 });
    g.cases += r.cases;
    g.failures += r.failures.length;
  }
  for (const [name, g] of Object.entries(groups)) {
    const busy = results.filter((r) => r.group === name).reduce((s, r) => s + (r.casesPerSec ? r.cases / r.casesPerSec : 0), 0);
    g.casesPerSec = busy ? Math.round(g.cases / busy) : 0;
  }
  const all = results.flatMap((r) => r.failures);
  const count = (k: Failure['kind'][]): number => all.filter((f) => k.includes(f.kind)).length;
  const { log: _l, onFailure: _f, ...shown } = opts;
  return {
    kind: 'orlink-fuzz',
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    wallSeconds: Math.round((finished.getTime() - started.getTime()) / 100) / 10,
    ok: all.length === 0,
    machine: {
      cpus: availableParallelism(),
      cpuModel: cpus()[0]?.model ?? '?',
      memGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
    },
    options: shown,
    totals: {
      cases: results.reduce((s, r) => s + r.cases, 0),
      failures: all.length,
      crashes: count(['crash', 'worker']),
      invariants: count(['invariant']),
      hangs: count(['hang']),
      heap: count(['heap', 'oom']),
      slow: results.reduce((s, r) => s + r.slow.length, 0),
    },
    groups,
    targets: results.map((r) => ({
      ...r,
      failures: r.failures.map(({ case: c, stack: _s, ...f }) => ({ ...f, bytes: c?.chunks.reduce((n, ch) => n + ch.bytes.length, 0) })),
    })),
  };
}

export function summaryLine(r: TargetResult): string {
  const heap =
    r.heap.growthMb === undefined ? 'heap n/a' : `heap ${r.heap.baselineMb}→${r.heap.finalMb} MB (${r.heap.growthMb >= 0 ? '+' : ''}${r.heap.growthMb})`;
  const bad = r.failures.length ? `  FAILURES ${r.failures.map((f) => `${f.kind}×${f.count}`).join(' ')}` : '';
  const through = r.cases ? `${Math.round((100 * r.productive) / r.cases)}% with output` : '';
  return `  ${r.target.padEnd(26)} ${String(r.cases).padStart(8)} cases ${String(r.casesPerSec).padStart(6)}/s  ${through.padStart(16)}  max ${r.maxCaseMs.toFixed(0)} ms  ${heap}  [${r.stoppedBy}]${bad}`;
}

export interface ReplayResult {
  file: string;
  target: string;
  failure?: Failure;
}

/**
 * Replays every crasher under `dir` through its target, in worker threads under the same
 * watchdog (a crasher that still hangs fails instead of hanging the caller).
 */
export async function replayCrashers(dir: string, o: FuzzOptions = {}): Promise<ReplayResult[]> {
  const opts = options({ minimiseMs: 0, seconds: 120, ...o });
  const crashers = listCrashers(dir);
  const all = await loadTargets(opts.module);
  const out: ReplayResult[] = [];
  for (const name of [...new Set(crashers.map((c) => c.target))]) {
    const mine = crashers.filter((c) => c.target === name);
    const t = all.find((x) => x.name === name);
    if (!t) {
      for (const c of mine)
        out.push({
          file: c.file,
          target: name,
          failure: { target: name, kind: 'worker', index: -1, message: `no target named ${name}`, signature: 'no-target', count: 1 },
        });
      continue;
    }
    // every case reports its own failure: one slice per crasher (they are few), on one worker
    const lane = new Lane(opts);
    try {
      for (const c of mine) {
        const r = await runTarget({ ...opts, maxFailures: 1 }, lane, t, 1, opts.seconds * 1000, [c.case]);
        out.push({ file: c.file, target: name, failure: r.failures[0] });
      }
    } finally {
      await lane.close();
    }
  }
  return out;
}
