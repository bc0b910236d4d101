/**
 * Running cases: one case (any exception is the result), failure signatures (to tell a new defect
 * from the same one found again), and minimisation (drop chunks, then byte ranges, while the case
 * still fails the same way; bounded by attempts and time).
 */
import { InvariantError, type Chunk, type FuzzCase, type FuzzTarget } from './types.js';

export type FailureKind = 'crash' | 'invariant';

/** Runs one case: what it threw (`err`, undefined: passed) and how many observations it produced. */
export async function runCase(target: FuzzTarget, c: FuzzCase): Promise<{ err?: unknown; out: number }> {
  try {
    let r = target.run(c);
    if (r instanceof Promise) r = await r;
    return { out: typeof r === 'number' ? r : 0 };
  } catch (err) {
    return { err: err ?? new Error(`threw ${String(err)}`), out: 0 };
  }
}

export const kindOf = (err: unknown): FailureKind => (err instanceof InvariantError ? 'invariant' : 'crash');

export function messageOf(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return `non-Error thrown: ${String(err)}`;
}

/** The first stack frame in the project (not node internals, not the fuzzer's own oracle). */
export function topFrame(err: unknown): string {
  const stack = err instanceof Error ? (err.stack ?? '') : '';
  for (const line of stack.split('\n').slice(1)) {
    const m = /\((?:file:\/\/)?(.*?):(\d+):\d+\)$|at (?:file:\/\/)?(.*?):(\d+):\d+$/.exec(line.trim());
    if (!m) continue;
    const file = m[1] ?? m[3];
    if (file.includes('node_modules') || file.startsWith('node:') || file.includes('/test/fuzz/')) continue;
    const rel = file.replace(/^.*?\/(gateway|schemas|ingest|cli|simulators|test)\//, '$1/');
    return `${rel}:${m[2] ?? m[4]}`;
  }
  return '?';
}

/** Same defect = same kind, same message shape (numbers masked), same throwing line. */
export function signatureOf(err: unknown): string {
  if (err instanceof InvariantError) return `invariant|${err.rule}`;
  const msg = messageOf(err)
    .replace(/0x[0-9a-f]+|\d+(\.\d+)?/gi, 'N')
    .slice(0, 160);
  return `crash|${msg}|${topFrame(err)}`;
}

export interface MinimiseBudget {
  attempts: number;
  ms: number;
  beat?: () => void;
}

const without = (chunks: Chunk[], i: number): Chunk[] => [...chunks.slice(0, i), ...chunks.slice(i + 1)];

/** Smallest variant of `c` found that still fails with `signature`. */
export async function minimise(target: FuzzTarget, c: FuzzCase, signature: string, budget: MinimiseBudget): Promise<{ case: FuzzCase; attempts: number }> {
  const end = Date.now() + budget.ms;
  let attempts = 0;
  let best = c;
  const fails = async (cand: FuzzCase): Promise<boolean> => {
    attempts++;
    budget.beat?.();
    const { err } = await runCase(target, cand);
    return err !== undefined && signatureOf(err) === signature;
  };
  const left = (): boolean => attempts < budget.attempts && Date.now() < end;
  // 1. whole chunks, from the end
  for (let i = best.chunks.length - 1; i >= 0 && left(); i--) {
    const cand = { ...best, chunks: without(best.chunks, i) };
    if (await fails(cand)) best = cand;
  }
  // 2. byte ranges of each chunk, halving the range size
  for (let i = 0; i < best.chunks.length && left(); i++) {
    for (let size = Math.max(1, best.chunks[i].bytes.length >> 1); size >= 1 && left(); size >>= 1) {
      for (let at = 0; at < best.chunks[i].bytes.length && left();) {
        const b = best.chunks[i].bytes;
        const chunks = best.chunks.slice();
        chunks[i] = { dir: chunks[i].dir, bytes: Buffer.concat([b.subarray(0, at), b.subarray(at + size)]) };
        const cand = { ...best, chunks };
        if (await fails(cand)) best = cand;
        else at += size;
      }
    }
  }
  // 3. simpler feeding, when it still fails: one chunk per direction run, no receive times
  if (left() && best.chunks.length > 1 && best.chunks.every((ch) => ch.dir === best.chunks[0].dir)) {
    const cand = { ...best, chunks: [{ dir: best.chunks[0].dir, bytes: Buffer.concat(best.chunks.map((ch) => ch.bytes)) }] };
    if (await fails(cand)) best = cand;
  }
  if (left() && best.clock !== 'device') {
    const cand: FuzzCase = { ...best, clock: 'device' };
    if (await fails(cand)) best = cand;
  }
  return { case: best, attempts };
}

/** Structured-clone form (Buffers arrive as Uint8Arrays on the other side). */
export interface WireCase {
  chunks: { dir: Chunk['dir']; bytes: Uint8Array }[];
  profileId?: string;
  clock: FuzzCase['clock'];
  stepMs: number;
  variant: number;
}

export const toWire = (c: FuzzCase): WireCase => ({ ...c, chunks: c.chunks.map((ch) => ({ dir: ch.dir, bytes: new Uint8Array(ch.bytes) })) });
export const fromWire = (w: WireCase): FuzzCase => ({
  ...w,
  chunks: w.chunks.map((ch) => ({ dir: ch.dir, bytes: Buffer.from(ch.bytes.buffer, ch.bytes.byteOffset, ch.bytes.byteLength) })),
});
export const caseBytes = (c: FuzzCase): number => c.chunks.reduce((n, ch) => n + ch.bytes.length, 0);
