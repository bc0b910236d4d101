/**
 * Device→queryable latency. For one numeric and one wave parameter on every bed, each reading the
 * simulator put on the wire during the window is remembered with the wall clock at that moment.
 * A poller asks InfluxDB every `intervalMs` for the newest stored point of those parameters per bed
 * (`SELECT … GROUP BY bed ORDER BY time DESC LIMIT 1`). A numeric is visible once the newest stored
 * time ≥ its device time; a wave record once the newest stored block's end (t0 + n/rate) reaches the
 * record's end (half a sample tolerance). Latency = wall clock when the poll that first saw it
 * returned − wall clock at production (an upper bound); the lower bound is the send time of the
 * previous poll (which did not see it). Resolution: one poll interval plus the query's duration.
 */
import type { Produced } from '../simulators/src/index.js';
import { InfluxHttp } from './influx-http.js';
import { quoteString } from '../ingest/src/series/influxql.js';

interface Pending {
  end: number;
  wall: number;
}
export interface LatencyFigures {
  kind: 'numeric' | 'wave';
  mdc: string;
  tracked: number;
  seen: number;
  unseen: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  minMs: number | null;
  lowerBoundP50Ms: number | null;
  lowerBoundP99Ms: number | null;
}

export function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

class Tracker {
  readonly pending = new Map<string, Pending[]>(); // bed → readings not yet seen, in production order
  readonly upper: number[] = [];
  readonly lower: number[] = [];
  tracked = 0;
  constructor(
    readonly kind: 'numeric' | 'wave',
    readonly mdc: string,
  ) {}

  add(bed: string, end: number, wall: number): void {
    let q = this.pending.get(bed);
    if (!q) this.pending.set(bed, (q = []));
    q.push({ end, wall });
    this.tracked++;
  }

  /** newest stored end of `bed` seen by the poll that returned at `recv`; the one before was sent at `prevSent`. */
  observe(bed: string, storedEnd: number, recv: number, prevSent: number): void {
    const q = this.pending.get(bed);
    if (!q?.length) return;
    let i = 0;
    for (; i < q.length && q[i].end <= storedEnd; i++) {
      this.upper.push(recv - q[i].wall);
      this.lower.push(Math.max(0, prevSent - q[i].wall));
    }
    if (i) q.splice(0, i);
  }

  unseen(): number {
    let n = 0;
    for (const q of this.pending.values()) n += q.length;
    return n;
  }

  figures(): LatencyFigures {
    const u = [...this.upper].sort((a, b) => a - b);
    const l = [...this.lower].sort((a, b) => a - b);
    return {
      kind: this.kind,
      mdc: this.mdc,
      tracked: this.tracked,
      seen: u.length,
      unseen: this.unseen(),
      p50Ms: percentile(u, 50),
      p90Ms: percentile(u, 90),
      p99Ms: percentile(u, 99),
      maxMs: u.length ? u[u.length - 1] : null,
      minMs: u.length ? u[0] : null,
      lowerBoundP50Ms: percentile(l, 50),
      lowerBoundP99Ms: percentile(l, 99),
    };
  }
}

export class LatencyProber {
  private readonly numeric: Tracker;
  private readonly wave: Tracker;
  private recording = false;
  private running = false;
  private loop: Promise<void> | undefined;
  private prevSent = 0;
  polls = 0;
  pollErrors = 0;
  private pollMsTotal = 0;

  constructor(
    private readonly influx: InfluxHttp,
    private readonly db: string,
    numericMdc: string,
    waveMdc: string,
    private readonly sinceMs: number,
    readonly intervalMs = 100,
  ) {
    this.numeric = new Tracker('numeric', numericMdc);
    this.wave = new Tracker('wave', waveMdc);
  }

  /** Feed every produced reading; only those of the probed parameters during recording are kept. */
  produced(bed: string, r: Produced, wall: number): void {
    if (!this.recording) return;
    if (r.kind === 'numeric' && r.mdc === this.numeric.mdc) this.numeric.add(bed, r.t, wall);
    else if (r.kind === 'wave' && r.mdc === this.wave.mdc && r.samples.length) {
      const end = r.t0 + ((r.samples.length - 0.5) * 1000) / r.rateHz;
      this.wave.add(bed, end, wall);
    }
  }

  start(): void {
    this.running = true;
    this.recording = true;
    this.loop = this.run();
  }

  /** Stop taking new readings (window end); polling goes on until drained or stop(). */
  stopRecording(): void {
    this.recording = false;
  }
  pendingCount(): number {
    return this.numeric.unseen() + this.wave.unseen();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    const since = `time >= ${Math.trunc(this.sinceMs)}ms`;
    const q =
      `SELECT flags FROM numeric WHERE mdc = ${quoteString(this.numeric.mdc)} AND ${since} GROUP BY bed ORDER BY time DESC LIMIT 1; ` +
      `SELECT n, rate FROM wave WHERE mdc = ${quoteString(this.wave.mdc)} AND ${since} GROUP BY bed ORDER BY time DESC LIMIT 1`;
    while (this.running) {
      const sent = Date.now();
      try {
        const res = await this.influx.query(this.db, q);
        const recv = Date.now();
        this.polls++;
        this.pollMsTotal += recv - sent;
        for (const s of res[0] ?? []) {
          const t = s.values[0]?.[0];
          if (s.tags?.bed && typeof t === 'number') this.numeric.observe(s.tags.bed, t, recv, this.prevSent);
        }
        for (const s of res[1] ?? []) {
          const [t, n, rate] = s.values[0] ?? [];
          if (s.tags?.bed && typeof t === 'number' && typeof n === 'number' && typeof rate === 'number' && rate > 0) {
            this.wave.observe(s.tags.bed, t + (n * 1000) / rate, recv, this.prevSent);
          }
        }
      } catch {
        this.pollErrors++;
      }
      this.prevSent = sent;
      const wait = this.intervalMs - (Date.now() - sent);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }

  figures(): { numeric: LatencyFigures; wave: LatencyFigures; polls: number; pollErrors: number; meanPollMs: number | null } {
    return {
      numeric: this.numeric.figures(),
      wave: this.wave.figures(),
      polls: this.polls,
      pollErrors: this.pollErrors,
      meanPollMs: this.polls ? this.pollMsTotal / this.polls : null,
    };
  }
}
