/**
 * Owns the HTTP sending of line protocol (TOOLCHAIN-NOTES: the client library's write API must
 * not be trusted): fetch (undici, keep-alive), bounded concurrency, every request awaited,
 * retry with exponential backoff + jitter on network errors, 429 and 5xx; 400 is a data error
 * (InfluxDB stored the valid lines of a partial write); other statuses are fatal.
 */
import { IngestError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { INT_FIELDS } from './layout.js';
import { toLine } from './line-protocol.js';
import type { SeriesPoint, WriteResult } from './types.js';

export interface SenderOptions {
  writeUrl: string;
  headers: Record<string, string>;
  concurrency: number;
  maxLinesPerRequest: number;
  requestTimeoutMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  retryAttempts: number;
  metrics?: Metrics;
}

export class Semaphore {
  private active = 0;
  private readonly waiters: (() => void)[] = [];
  constructor(private readonly max: number) {}
  async acquire(): Promise<void> {
    if (this.active < this.max) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.active--;
  }
}

export function backoffMs(attempt: number, min: number, max: number): number {
  const base = Math.min(max, min * 2 ** attempt);
  return Math.round(base / 2 + Math.random() * (base / 2));
}

export function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new IngestError('ING_ERR_CLOSED', 'fatal', 'aborted'));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new IngestError('ING_ERR_CLOSED', 'fatal', 'aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class LineSender {
  private readonly sem: Semaphore;
  constructor(private readonly opts: SenderOptions) {
    this.sem = new Semaphore(opts.concurrency);
  }

  /** Sends all lines in chunks; resolves after every chunk got a 2xx. */
  async send(lines: readonly string[], signal?: AbortSignal): Promise<void> {
    const chunks: string[] = [];
    for (let i = 0; i < lines.length; i += this.opts.maxLinesPerRequest) {
      chunks.push(lines.slice(i, i + this.opts.maxLinesPerRequest).join('\n'));
    }
    const results = await Promise.allSettled(chunks.map((body) => this.sendChunk(body, signal)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
    if (!failed.length) return;
    // Precedence: fatal > transient > data, so callers retry or stop appropriately.
    const rank = (e: unknown) => (e instanceof IngestError ? { fatal: 0, transient: 1, data: 2 }[e.kind] : 0);
    failed.sort((a, b) => rank(a) - rank(b));
    throw failed[0];
  }

  private async sendChunk(body: string, signal?: AbortSignal): Promise<void> {
    await this.sem.acquire();
    try {
      for (let attempt = 0; ; attempt++) {
        if (signal?.aborted) throw new IngestError('ING_ERR_CLOSED', 'fatal', 'write aborted');
        let err: IngestError;
        let retryAfterMs = 0;
        try {
          this.opts.metrics?.inc('series_requests_total');
          const res = await fetch(this.opts.writeUrl, {
            method: 'POST',
            body,
            headers: { 'content-type': 'text/plain; charset=utf-8', ...this.opts.headers },
            signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(this.opts.requestTimeoutMs)]) : AbortSignal.timeout(this.opts.requestTimeoutMs),
          });
          const text = await res.text();
          if (res.status >= 200 && res.status < 300) return;
          const msg = `series write HTTP ${res.status}: ${text.slice(0, 500)}`;
          if (res.status === 400) throw new IngestError('ING_ERR_SERIES_PARTIAL', 'data', msg);
          if (res.status === 429 || res.status >= 500) {
            err = new IngestError('ING_ERR_SERIES_TRANSIENT', 'transient', msg);
            retryAfterMs = Math.min(this.opts.retryMaxMs, Number(res.headers.get('retry-after') ?? 0) * 1000 || 0);
          } else throw new IngestError('ING_ERR_SERIES_FATAL', 'fatal', msg);
        } catch (e) {
          if (e instanceof IngestError) throw e;
          if (signal?.aborted) throw new IngestError('ING_ERR_CLOSED', 'fatal', 'write aborted', { cause: e });
          err = new IngestError('ING_ERR_SERIES_TRANSIENT', 'transient', `series write failed: ${(e as Error).message}`, { cause: e });
        }
        if (attempt + 1 >= this.opts.retryAttempts) throw err;
        this.opts.metrics?.inc('series_retries_total');
        await abortableDelay(Math.max(retryAfterMs, backoffMs(attempt, this.opts.retryMinMs, this.opts.retryMaxMs)), signal);
      }
    } finally {
      this.sem.release();
    }
  }
}

/** Serialise points to line protocol (skipping those with no field) and send them; the write of
 * every InfluxDB flavour (v1 /write, v2 /api/v2/write) differs only in the sender's URL and auth. */
export async function writePoints(sender: LineSender, points: readonly SeriesPoint[], signal?: AbortSignal): Promise<WriteResult> {
  const lines: string[] = [];
  for (const p of points) {
    const l = toLine(p, INT_FIELDS);
    if (l !== null) lines.push(l);
  }
  if (lines.length) await sender.send(lines, signal);
  return { points: lines.length, skipped: points.length - lines.length };
}
