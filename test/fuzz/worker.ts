/**
 * Worker thread: loads the target module once, then runs jobs (slices of one target's cases —
 * generated from (seed, index range), or given for a replay) one after the other, reporting
 * failures, progress, heap samples. The orchestrator watches `beat` in shared memory:
 * a case (or a minimisation attempt) that does not end within the hang limit gets the worker
 * terminated, so an infinite loop is caught. Started through bootstrap code that registers tsx.
 */
import { performance } from 'node:perf_hooks';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { caseBytes, fromWire, kindOf, messageOf, minimise, runCase, signatureOf, toWire, type WireCase } from './engine.js';
import { generate, prepare } from './mutate.js';
import { caseRng } from './rng.js';
import type { FuzzCase, FuzzTarget } from './types.js';

/** Once per worker (workerData). */
export interface WorkerInit {
  module: string;
  /** Int32Array view: [0] case index, [1] beat (bumped per case / minimisation attempt), [2] phase 0 idle, 1 running */
  shared: SharedArrayBuffer;
}

/** One slice of one target (a message; a worker runs them one after the other). */
export interface WorkerJob {
  target: string;
  seed: number;
  start: number;
  end: number;
  /** ms this job may run, from its first case */
  budgetMs: number;
  /** replay these instead of generating */
  cases?: WireCase[];
  heapEvery: number;
  minimiseMs: number;
  /** stop after this many failures (all signatures) */
  maxFailures: number;
}

export type WorkerMsg =
  | { t: 'loaded' }
  | { t: 'ready'; seeds: number }
  | { t: 'failure'; index: number; kind: 'crash' | 'invariant'; message: string; stack: string; signature: string; case: WireCase; bytes: number }
  | { t: 'minimised'; index: number; signature: string; case: WireCase; attempts: number }
  | { t: 'progress'; done: number; productive: number; observations: number }
  | {
      t: 'done';
      done: number;
      productive: number;
      observations: number;
      elapsedMs: number;
      maxCaseMs: number;
      maxCaseIndex: number;
      counts: Record<string, number>;
      stoppedBy: 'cases' | 'seconds' | 'failures';
      heap: HeapReport;
    };

export interface HeapReport {
  gc: boolean;
  baselineMb?: number;
  finalMb?: number;
  maxMb?: number;
  samples: number;
}

function gcFunction(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

const mb = (n: number): number => Math.round((n / 1048576) * 10) / 10;

const init = workerData as WorkerInit;
const state = new Int32Array(init.shared);
const mod = (await import(init.module)) as { targets(): FuzzTarget[] };
const all = mod.targets();
const prepared = new Map<string, ReturnType<typeof prepare>>();
const setUp = new Set<string>();

async function runJob(job: WorkerJob): Promise<void> {
  const post = (m: WorkerMsg): void => parentPort!.postMessage(m);
  const target = all.find((x) => x.name === job.target);
  if (!target) throw new Error(`no target ${job.target} in ${init.module}`);
  const explicit = job.cases?.map(fromWire);
  let p = prepared.get(target.name);
  if (!explicit && !p) prepared.set(target.name, (p = prepare(target)));
  if (!setUp.has(target.name)) {
    await target.setup?.();
    // warm-up outside the hang watch: lazy loads (firmware profiles) happen in the first decoder
    await runCase(target, { chunks: [], clock: 'device', stepMs: 250, variant: 0 });
    setUp.add(target.name);
  }
  post({ t: 'ready', seeds: p?.seeds.length ?? 0 });

  const gc = gcFunction();
  const heap: HeapReport = { gc: !!gc, samples: 0 };
  const sample = (): void => {
    if (!gc) return;
    gc();
    const used = mb(process.memoryUsage().heapUsed);
    heap.samples++;
    heap.baselineMb ??= used;
    heap.finalMb = used;
    heap.maxMb = Math.max(heap.maxMb ?? 0, used);
  };
  const warmup = Math.min(2000, Math.max(1, Math.floor((job.end - job.start) / 20)));

  const counts: Record<string, number> = {};
  let failures = 0;
  let done = 0;
  let productive = 0;
  let observations = 0;
  let maxCaseMs = 0;
  let maxCaseIndex = -1;
  let stoppedBy: 'cases' | 'seconds' | 'failures' = 'cases';
  const t0 = performance.now();
  const deadline = Date.now() + job.budgetMs;
  let lastProgress = Date.now();
  Atomics.store(state, 2, 1);
  const last = explicit ? explicit.length : job.end;
  for (let index = explicit ? 0 : job.start; index < last; index++) {
    if ((done & 1023) === 1023) await new Promise((r) => setImmediate(r)); // let timers and I/O of the code under test run
    const now = Date.now();
    if (now > deadline) {
      stoppedBy = 'seconds';
      break;
    }
    if (now - lastProgress > 1000) {
      post({ t: 'progress', done, productive, observations });
      lastProgress = now;
    }
    if (done === warmup || (done > warmup && (done - warmup) % job.heapEvery === 0)) sample();
    const c: FuzzCase = explicit ? explicit[index] : generate(p!, caseRng(job.seed, target.name, index));
    Atomics.store(state, 0, index);
    Atomics.add(state, 1, 1);
    const s = performance.now();
    const { err, out } = await runCase(target, c);
    const ms = performance.now() - s;
    if (ms > maxCaseMs) {
      maxCaseMs = ms;
      maxCaseIndex = index;
    }
    done++;
    if (out > 0) {
      productive++;
      observations += out;
    }
    if (err === undefined) continue;
    const signature = signatureOf(err);
    failures++;
    counts[signature] = (counts[signature] ?? 0) + 1;
    if (counts[signature] === 1) {
      post({
        t: 'failure',
        index,
        kind: kindOf(err),
        message: messageOf(err).slice(0, 2000),
        stack: (err instanceof Error ? (err.stack ?? '') : '').slice(0, 4000),
        signature,
        case: toWire(c),
        bytes: caseBytes(c),
      });
      if (job.minimiseMs > 0) {
        const m = await minimise(target, c, signature, { attempts: 20_000, ms: job.minimiseMs, beat: () => Atomics.add(state, 1, 1) });
        post({ t: 'minimised', index, signature, case: toWire(m.case), attempts: m.attempts });
      }
    }
    if (failures >= job.maxFailures) {
      stoppedBy = 'failures';
      break;
    }
  }
  sample();
  Atomics.store(state, 2, 0);
  post({ t: 'done', done, productive, observations, elapsedMs: performance.now() - t0, maxCaseMs, maxCaseIndex, counts, stoppedBy, heap });
}

// jobs one at a time, in order
let queue = Promise.resolve();
parentPort!.on('message', (job: WorkerJob) => {
  queue = queue.then(() => runJob(job)); // a rejection ends the worker ('error' in the orchestrator)
});
parentPort!.postMessage({ t: 'loaded' } satisfies WorkerMsg);
