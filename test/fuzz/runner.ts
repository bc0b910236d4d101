/**
 * Orchestrator: runs each target's cases on a lane (lane.ts: a worker thread under a watchdog),
 * at most `jobs` lanes at once. After a hang the case is rebuilt from (seed, target, index) — or
 * taken from the replay list — and run once more alone in a fresh worker to confirm; the target
 * goes on after it. A worker that runs out of its heap limit is an `oom` failure; heap growth
 * (after GC, from the end of the warm-up to the end) over `heapGrowthMb` a `heap` failure.
 * Failing inputs are saved by crashers.ts (through fuzz.ts).
 */
import { availableParallelism } from 'node:os';
import { caseBytes, fromWire, toWire } from './engine.js';
import { Lane, type Slice } from './lane.js';
import { generate, prepare } from './mutate.js';
import { caseRng } from './rng.js';
import type { FuzzCase, FuzzTarget } from './types.js';
import type { HeapReport } from './worker.js';

/** unconfirmed slow cases after which a target is given up (the machine is too loaded to fuzz it meaningfully) */
const MAX_SLOW = 50;
export { Lane } from './lane.js';

export type FailureClass = 'crash' | 'invariant' | 'hang' | 'oom' | 'heap' | 'worker';

export interface Failure {
  target: string;
  kind: FailureClass;
  /** case index (generated) or position in the replay list; -1 when not tied to one case */
  index: number;
  message: string;
  signature: string;
  stack?: string;
  /** the failing input, minimised when possible */
  case?: FuzzCase;
  bytesBefore?: number;
  /** how often this signature was hit */
  count: number;
  /** crasher file, when saved */
  file?: string;
}

export interface TargetResult {
  target: string;
  group: string;
  cases: number;
  /** cases that produced at least one observation (got through the framer to the decoder) */
  productive: number;
  observations: number;
  seconds: number;
  casesPerSec: number;
  maxCaseMs: number;
  /** the slowest case (rebuild it with the seed to look at it) */
  maxCaseIndex: number;
  stoppedBy: 'cases' | 'seconds' | 'failures' | 'hangs' | 'error';
  heap: HeapReport & { growthMb?: number };
  failures: Failure[];
  /** slow cases that finished when run again: not failures, reported */
  slow: { index: number; message: string }[];
}

export interface RunOptions {
  module: string;
  seed: number;
  /** cases per protocol (target group), split evenly between the group's targets */
  cases: number;
  /** wall-time cap of the whole run (s); each target gets a fair share of what is left when it starts */
  seconds: number;
  jobs: number;
  hangMs: number;
  /** old-space limit of a worker (MB): a runaway allocation is caught as `oom` */
  heapLimitMb: number;
  /** growth over this (MB, after GC) is a `heap` failure */
  heapGrowthMb: number;
  heapEvery: number;
  minimiseMs: number;
  maxFailures: number;
  /** hangs per target before it is given up */
  maxHangs: number;
  log: (line: string) => void;
  onFailure?: (f: Failure) => void;
}

export const DEFAULTS: Omit<RunOptions, 'module'> = {
  seed: 1,
  cases: 1_000_000,
  seconds: 3600,
  jobs: availableParallelism(),
  hangMs: 1000,
  heapLimitMb: 512,
  heapGrowthMb: 64,
  heapEvery: 50_000,
  minimiseMs: 10_000,
  maxFailures: 200,
  maxHangs: 3,
  log: () => {},
};

/** Input of case `index` of a slice (rebuilt the way the worker built it). */
function caseAt(o: RunOptions, t: FuzzTarget, slice: Slice, index: number, cache: { p?: ReturnType<typeof prepare> }): FuzzCase {
  if (slice.cases) return fromWire(slice.cases[index]);
  cache.p ??= prepare(t);
  return generate(cache.p, caseRng(o.seed, t.name, index));
}

/**
 * Runs `cases` cases of one target (generated from index 0, or the given list) on `lane`, across
 * hangs, for at most `budgetMs` of case time.
 */
export async function runTarget(o: RunOptions, lane: Lane, t: FuzzTarget, cases: number, budgetMs: number, given?: FuzzCase[]): Promise<TargetResult> {
  const res: TargetResult = {
    target: t.name,
    group: t.group,
    cases: 0,
    productive: 0,
    observations: 0,
    seconds: 0,
    casesPerSec: 0,
    maxCaseMs: 0,
    maxCaseIndex: -1,
    stoppedBy: 'cases',
    heap: { gc: false, samples: 0 },
    failures: [],
    slow: [],
  };
  const wire = given?.map(toWire);
  const total = wire ? wire.length : cases;
  const t0 = Date.now();
  const cache: { p?: ReturnType<typeof prepare> } = {};
  const bySig = new Map<string, Failure>();
  let start = 0;
  let hangs = 0;
  let busyMs = 0;
  while (start < total) {
    const slice: Slice = { start, end: total, budgetMs: Math.max(0, budgetMs - (Date.now() - t0)), cases: wire };
    const r = await lane.run(t.name, slice);
    res.cases += r.done;
    res.productive += r.productive;
    res.observations += r.observations;
    busyMs += r.elapsedMs;
    if (r.maxCaseMs > res.maxCaseMs) {
      res.maxCaseMs = r.maxCaseMs;
      res.maxCaseIndex = r.maxCaseIndex;
    }
    if (r.heap) res.heap = r.heap;
    for (const [sig, f] of r.failures) {
      const prev = bySig.get(sig);
      if (prev) prev.count += f.count;
      else {
        bySig.set(sig, f);
        o.onFailure?.(f);
      }
    }
    if (!r.broke) {
      res.stoppedBy = r.stoppedBy;
      break;
    }
    // a hang, OOM or dead worker at r.broke.index: confirm on that case alone, then go on after it
    const { kind, index, message } = r.broke;
    if (index < 0) {
      const f: Failure = { target: t.name, kind, index, message, signature: `${kind}|${message}`, count: 1 };
      bySig.set(f.signature, f);
      o.onFailure?.(f);
      res.stoppedBy = 'error';
      break;
    }
    res.cases += index - start + 1 - r.done; // every case before it ran (progress reports lag), and the one it stopped on
    const c = caseAt(o, t, slice, index, cache);
    const confirm = new Lane({ ...o, minimiseMs: 0 });
    const again = await confirm.run(t.name, { start: 0, end: 1, budgetMs: 60_000, cases: [toWire(c)] }).finally(() => confirm.close());
    for (const [sig, f] of again.failures)
      if (!bySig.has(sig)) {
        f.index = index;
        bySig.set(sig, f);
        o.onFailure?.(f);
      }
    if (again.broke?.kind === kind) {
      const sig = `${kind}|${t.name}`;
      const f: Failure = bySig.get(sig) ?? { target: t.name, kind, index, message, signature: sig, case: c, bytesBefore: caseBytes(c), count: 0 };
      f.count++;
      if (!bySig.has(sig)) {
        bySig.set(sig, f);
        o.onFailure?.(f);
      }
      o.log(`  ! ${t.name}: ${kind} at case ${index} (confirmed): ${message}`);
    } else if (kind === 'hang') {
      res.slow.push({ index, message: `${message}; finished when run again alone` });
      o.log(`  ~ ${t.name}: case ${index} was slow (${message}) but finished when run again`);
    } else {
      // OOM / dead worker not reproduced by the case alone: memory built up over many cases
      const f: Failure = {
        target: t.name,
        kind: kind === 'oom' ? 'heap' : kind,
        index,
        message: `${message}; not reproduced by case ${index} alone (growth over many cases)`,
        signature: `${kind}-cumulative|${t.name}`,
        count: 1,
      };
      if (!bySig.has(f.signature)) {
        bySig.set(f.signature, f);
        o.onFailure?.(f);
      }
    }
    // only a confirmed hang (or a worker loss) counts toward giving the target up; a case that was merely slow on a
    // loaded machine and finished when run alone is reported, and many of them still end the target
    const slowOnly = kind === 'hang' && again.broke?.kind !== kind;
    if (slowOnly ? res.slow.length >= MAX_SLOW : ++hangs >= o.maxHangs) {
      res.stoppedBy = kind === 'hang' ? 'hangs' : 'error';
      break;
    }
    start = index + 1;
    if (Date.now() - t0 > budgetMs) {
      res.stoppedBy = 'seconds';
      break;
    }
  }
  res.seconds = Math.round((Date.now() - t0) / 100) / 10;
  res.casesPerSec = busyMs > 0 ? Math.round(res.cases / (busyMs / 1000)) : 0;
  if (res.heap.baselineMb !== undefined && res.heap.finalMb !== undefined) {
    res.heap.growthMb = Math.round((res.heap.finalMb - res.heap.baselineMb) * 10) / 10;
    if (res.heap.growthMb > o.heapGrowthMb) {
      const f: Failure = {
        target: t.name,
        kind: 'heap',
        index: -1,
        message: `heap grew ${res.heap.growthMb} MB after GC (limit ${o.heapGrowthMb} MB) over ${res.cases} cases`,
        signature: `heap|${t.name}`,
        count: 1,
      };
      bySig.set(f.signature, f);
      o.onFailure?.(f);
    }
  }
  res.failures = [...bySig.values()];
  return res;
}

/** Cases of each target: `o.cases` per group, split evenly between the group's targets. */
export function casesOf(o: RunOptions, list: FuzzTarget[], t: FuzzTarget): number {
  return Math.ceil(o.cases / list.filter((x) => x.group === t.group).length);
}

/**
 * Runs targets with at most `o.jobs` workers at once, in the order given, within `o.seconds`. A
 * target may use the time left minus a reserve for the targets still to start (one `floor` per
 * round of them, floor = min(60 s, an even share)): when the whole run fits in the cap every
 * target runs all its cases; when it does not, the later targets still get their floor.
 */
export async function runTargets(o: RunOptions, list: FuzzTarget[], onDone?: (r: TargetResult) => void): Promise<TargetResult[]> {
  const results: TargetResult[] = new Array(list.length);
  const end = Date.now() + o.seconds * 1000;
  const jobs = Math.max(1, Math.min(o.jobs, list.length));
  const floor = Math.min(60_000, (o.seconds * 1000) / Math.ceil(list.length / jobs));
  let next = 0;
  const lane = async (): Promise<void> => {
    const l = new Lane(o);
    try {
      while (next < list.length) {
        const i = next++;
        const roundsAfter = Math.ceil((list.length - i - 1) / jobs);
        const budget = Math.max(floor, end - Date.now() - roundsAfter * floor);
        o.log(`> ${list[i].name}`);
        results[i] = await runTarget(o, l, list[i], casesOf(o, list, list[i]), Math.min(budget, Math.max(0, end - Date.now())));
        onDone?.(results[i]);
      }
    } finally {
      await l.close();
    }
  };
  await Promise.all(Array.from({ length: jobs }, lane));
  return results;
}
