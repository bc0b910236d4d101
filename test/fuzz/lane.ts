/**
 * A lane: one worker thread that runs job after job (slices of one target's cases), watched by a
 * watchdog on the beat the worker bumps in shared memory. A job whose beat stops for `hangMs` gets
 * the worker terminated (an infinite loop included); the next job gets a fresh worker. Workers
 * start through bootstrap code that registers tsx (a worker does not inherit --import).
 */
import { Worker } from 'node:worker_threads';
import { fromWire, type WireCase } from './engine.js';
import type { Failure, RunOptions, TargetResult } from './runner.js';
import type { HeapReport, WorkerInit, WorkerJob, WorkerMsg } from './worker.js';

const WORKER_URL = new URL('./worker.ts', import.meta.url).href;
const TSX_API = import.meta.resolve('tsx/esm/api');
const BOOT = `import(${JSON.stringify(TSX_API)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL)}); })`;
const LOAD_TIMEOUT_MS = 120_000;

export interface Slice {
  start: number;
  end: number;
  budgetMs: number;
  cases?: WireCase[];
}

export interface SliceOutcome {
  done: number;
  productive: number;
  observations: number;
  elapsedMs: number;
  maxCaseMs: number;
  maxCaseIndex: number;
  stoppedBy: TargetResult['stoppedBy'];
  heap?: HeapReport;
  /** the index a hang / OOM / worker error happened at */
  broke?: { kind: 'hang' | 'oom' | 'worker'; index: number; message: string };
  failures: Map<string, Failure>;
}

/** One worker thread, reused job after job; replaced after a hang or a death. */
export class Lane {
  private w?: Worker;
  private state?: Int32Array;
  private loaded = false;

  constructor(private readonly o: RunOptions) {}

  private spawn(): Worker {
    const shared = new SharedArrayBuffer(12);
    this.state = new Int32Array(shared);
    this.loaded = false;
    const w = new Worker(BOOT, {
      eval: true,
      workerData: { module: this.o.module, shared } satisfies WorkerInit,
      resourceLimits: { maxOldGenerationSizeMb: this.o.heapLimitMb },
      stdout: false,
      stderr: false,
    });
    w.on('message', (m: WorkerMsg) => {
      if (m.t === 'loaded') this.loaded = true;
    });
    w.on('error', () => {}); // reported by the job that was running
    this.w = w;
    return w;
  }

  /** Runs one slice; resolves when it ends, hangs or the worker dies. */
  run(target: string, slice: Slice): Promise<SliceOutcome> {
    const o = this.o;
    const w = this.w ?? this.spawn();
    const state = this.state!;
    const out: SliceOutcome = {
      done: 0,
      productive: 0,
      observations: 0,
      elapsedMs: 0,
      maxCaseMs: 0,
      maxCaseIndex: -1,
      stoppedBy: 'cases',
      failures: new Map(),
    };
    const job: WorkerJob = {
      target,
      seed: o.seed,
      start: slice.start,
      end: slice.end,
      budgetMs: slice.budgetMs,
      cases: slice.cases,
      heapEvery: o.heapEvery,
      minimiseMs: o.minimiseMs,
      maxFailures: o.maxFailures,
    };
    return new Promise((resolve) => {
      let settled = false;
      let lastBeat = -1;
      let beatAt = Date.now();
      const started = Date.now();
      const finish = (): void => {
        if (settled) return;
        settled = true;
        clearInterval(watch);
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
        resolve(out);
      };
      const kill = (broke: NonNullable<SliceOutcome['broke']>): void => {
        out.broke = broke;
        out.stoppedBy = broke.kind === 'hang' ? 'hangs' : 'error';
        this.w = undefined;
        clearInterval(watch);
        void w.terminate().then(finish, finish);
      };
      const watch = setInterval(
        () => {
          const now = Date.now();
          if (!this.loaded) {
            if (now - started > LOAD_TIMEOUT_MS) kill({ kind: 'worker', index: -1, message: `worker did not load within ${LOAD_TIMEOUT_MS} ms` });
            return;
          }
          if (Atomics.load(state, 2) !== 1) {
            // preparing seeds, setting up, warming up
            if (now - started > LOAD_TIMEOUT_MS)
              kill({ kind: 'worker', index: -1, message: `job did not start within ${LOAD_TIMEOUT_MS} ms (seeds, setup or warm-up stuck)` });
            return;
          }
          const beat = Atomics.load(state, 1);
          if (beat !== lastBeat) {
            lastBeat = beat;
            beatAt = now;
            return;
          }
          if (now - beatAt > o.hangMs)
            kill({ kind: 'hang', index: Atomics.load(state, 0), message: `no progress for ${now - beatAt} ms (limit ${o.hangMs} ms)` });
        },
        Math.max(20, Math.min(100, o.hangMs / 5)),
      );
      const onMessage = (m: WorkerMsg): void => {
        switch (m.t) {
          case 'failure': {
            const f: Failure = {
              target,
              kind: m.kind,
              index: m.index,
              message: m.message,
              signature: m.signature,
              stack: m.stack,
              case: fromWire(m.case),
              bytesBefore: m.bytes,
              count: 1,
            };
            out.failures.set(m.signature, f);
            o.log(`  ! ${target}: ${m.kind} at case ${m.index}: ${m.message.split('\n')[0].slice(0, 200)}`);
            break;
          }
          case 'minimised': {
            const f = out.failures.get(m.signature);
            if (f) f.case = fromWire(m.case);
            break;
          }
          case 'progress':
            Object.assign(out, { done: m.done, productive: m.productive, observations: m.observations });
            break;
          case 'done':
            Object.assign(out, {
              done: m.done,
              productive: m.productive,
              observations: m.observations,
              elapsedMs: m.elapsedMs,
              maxCaseMs: m.maxCaseMs,
              maxCaseIndex: m.maxCaseIndex,
              stoppedBy: m.stoppedBy,
              heap: m.heap,
            });
            for (const [sig, n] of Object.entries(m.counts)) {
              const f = out.failures.get(sig);
              if (f) f.count = n;
            }
            finish();
            break;
          default:
            break;
        }
      };
      const onError = (err: Error & { code?: string }): void => {
        const loading = !this.loaded || Atomics.load(state, 2) !== 1;
        const oom = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
        out.broke = {
          kind: oom ? 'oom' : 'worker',
          index: loading ? -1 : Atomics.load(state, 0),
          message: `${loading ? 'outside a case: ' : ''}${err.name}: ${err.message}`,
        };
        out.stoppedBy = 'error';
      };
      const onExit = (): void => {
        this.w = undefined;
        out.broke ??= { kind: 'worker', index: -1, message: 'worker exited' };
        finish();
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      w.postMessage(job);
    });
  }

  async close(): Promise<void> {
    const w = this.w;
    this.w = undefined;
    if (w) await w.terminate();
  }
}
