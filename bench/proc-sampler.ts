/**
 * CPU % (of one core) and RSS of a set of processes, from /proc/<pid>/stat (utime+stime in clock
 * ticks) and /proc/<pid>/status (VmRSS), sampled every `intervalMs`. CPU % of an interval =
 * Δticks / CLK_TCK / Δwall × 100. A process that vanished stops contributing (counted in `lost`).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export interface ProcTarget {
  name: string;
  pid: number;
}
export interface ProcFigures {
  name: string;
  pid: number;
  samples: number;
  lost: boolean;
  cpuPctMean: number | null;
  cpuPctMax: number | null;
  rssMiBMean: number | null;
  rssMiBMax: number | null;
}

export function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

function readTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] = state (field 3)
  return Number(f[11]) + Number(f[12]); // utime (14) + stime (15)
}

function readRssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

interface Track {
  t: ProcTarget;
  lastTicks: number;
  lastWall: number;
  cpu: number[];
  rss: number[];
  lost: boolean;
}

export class ProcSampler {
  private readonly tracks: Track[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly hz = clockTicks();

  constructor(
    targets: ProcTarget[],
    private readonly intervalMs = 1000,
  ) {
    for (const t of targets) this.tracks.push({ t, lastTicks: 0, lastWall: 0, cpu: [], rss: [], lost: false });
  }

  get clkTck(): number {
    return this.hz;
  }

  start(): void {
    for (const k of this.tracks) {
      try {
        k.lastTicks = readTicks(k.t.pid);
        k.lastWall = performance.now();
      } catch {
        k.lost = true;
      }
    }
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  private sample(): void {
    for (const k of this.tracks) {
      if (k.lost) continue;
      try {
        const ticks = readTicks(k.t.pid);
        const wall = performance.now();
        k.cpu.push(((ticks - k.lastTicks) / this.hz / ((wall - k.lastWall) / 1000)) * 100);
        k.rss.push(readRssKiB(k.t.pid) / 1024);
        k.lastTicks = ticks;
        k.lastWall = wall;
      } catch {
        k.lost = true;
      }
    }
  }

  /** CPU % of the first target since start() (or the last snapshot), without waiting for the interval. */
  snapshot(): number | null {
    const k = this.tracks[0];
    if (!k || k.lost) return null;
    try {
      const ticks = readTicks(k.t.pid);
      const wall = performance.now();
      const pct = ((ticks - k.lastTicks) / this.hz / ((wall - k.lastWall) / 1000)) * 100;
      k.lastTicks = ticks;
      k.lastWall = wall;
      return pct;
    } catch {
      return null;
    }
  }

  stop(): ProcFigures[] {
    clearInterval(this.timer);
    this.timer = undefined;
    return this.tracks.map((k) => ({
      name: k.t.name,
      pid: k.t.pid,
      samples: k.cpu.length,
      lost: k.lost,
      cpuPctMean: mean(k.cpu),
      cpuPctMax: max(k.cpu),
      rssMiBMean: mean(k.rss),
      rssMiBMax: max(k.rss),
    }));
  }
}

/** Busy CPU time of the whole machine so far, in seconds of one core (all cores summed), from /proc/stat. */
export function machineBusySeconds(hz: number): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f; // idle and iowait are not busy
  return (user + nice + system + irq + softirq + (steal ?? 0)) / hz;
}

/** Busy cores of the machine between two calls (e.g. 1.3 = 130 % of one core). */
export class MachineMeter {
  private b0 = 0;
  private w0 = 0;
  constructor(private readonly hz: number) {}
  start(): void {
    this.b0 = machineBusySeconds(this.hz);
    this.w0 = performance.now();
  }
  busyCores(): number {
    return (machineBusySeconds(this.hz) - this.b0) / ((performance.now() - this.w0) / 1000);
  }
}

export const mean = (a: number[]): number | null => (a.length ? a.reduce((s, x) => s + x, 0) / a.length : null);
export const max = (a: number[]): number | null => (a.length ? a.reduce((m, x) => Math.max(m, x), -Infinity) : null);

/** The pid of the influxd started with `<confPath>` (the stack does not expose it): scan /proc. */
export function findPidByArg(arg: string): number | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (argv.includes(arg)) return Number(e);
    } catch {
      /* gone */
    }
  }
  return null;
}
