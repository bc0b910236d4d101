/**
 * `orlink bench`: one run of the whole real path (influxd, ingest + embedded broker, N simulated
 * S/5 monitors on ptys, each read by its own `orlink gateway` process) measured over one window:
 * throughput stored in InfluxDB vs produced vs ingest's counters, device→queryable latency, CPU/RSS
 * per process, and the raw /write ceiling of the same influxd for the same points. Writes one JSON
 * file to bench/results/ and a summary to stdout. Measures only: nothing here asserts on time.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import pino from 'pino';
import { startStack } from '../cli/stack.js';
import { runGuarded, type ProcessGroup } from '../cli/process-group.js';
import { CLI_ERR, CliError } from '../cli/errors.js';
import { InfluxHttp } from './influx-http.js';
import { LatencyProber } from './latency-prober.js';
import { MachineMeter, ProcSampler, findPidByArg, mean, max, type ProcFigures } from './proc-sampler.js';
import { measureCeiling, readBackLines } from './ceiling.js';
import { delta, machineInfo, parseProm, summary } from './report.js';
import { METHODS } from './methods.js';
import { USAGE, parse } from './args.js';

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
/** The developers' PhysioNet copy beside the repository: the simulators play it when present. */
const PHYSIONET = fileURLToPath(new URL('../../shared/data/physionet', import.meta.url));
const PROBE_INTERVAL_MS = 100;
const DRAIN_MAX_S = 20;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** `p`, or give up waiting after `ms` (the timer is cleared either way, so it never holds the process). */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p,
    new Promise<void>((r) => {
      timer = setTimeout(r, ms);
    }),
  ]);
  clearTimeout(timer);
}

export async function run(argv: string[]): Promise<number> {
  const a = parse(argv);
  if (a === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (typeof a === 'string') {
    process.stderr.write(`orlink bench: ${a}\n${USAGE}`);
    return 2;
  }
  if (!process.env.ORLINK_PHYSIONET_DIR && existsSync(PHYSIONET)) process.env.ORLINK_PHYSIONET_DIR = PHYSIONET; // real recordings, not the synthetic model
  // hard bound for the whole run: start-up, warm-up, window, drain, ceiling, each with its budget
  const budgetMs = (120 + a.warmup + a.seconds + DRAIN_MAX_S + 120) * 1000;
  const deadline = Date.now() + budgetMs;
  rmSync(a.dir, { recursive: true, force: true });
  const logger = pino({ level: a.level }, pino.destination(2));
  let prober: LatencyProber | undefined;
  let sampler: ProcSampler | undefined;
  let hardTimer: NodeJS.Timeout | undefined;
  const begun = Date.now();
  const loadAvgAtStart = os.loadavg();
  const out = {
    write: (s: string) =>
      process.stdout.write(s.startsWith('orlink bench:') || s.startsWith('  ') ? s : `[${((Date.now() - begun) / 1000).toFixed(1).padStart(5)} s] ${s}`),
  };

  // truth: what the simulators put on the wire (window = device time [t0, t1))
  let t0 = Infinity;
  let t1 = Infinity;
  const truth = { numerics: 0, samples: 0, waveRecords: 0 };
  const seenMdc = new Map<string, number>();
  const bedsProducing = new Set<string>();

  const body = async (group: ProcessGroup): Promise<number> => {
    out.write(`orlink bench: starting InfluxDB, ingest and ${a.beds} ORs (gateway processes) under ${a.dir} ...\n`);
    const stack = await startStack({
      group, // owns influxd, the ptys' socat and the gateway processes (cli/process-group.ts)
      dir: a.dir,
      ors: a.beds,
      logger,
      gatewayMode: 'process',
      waves: a.waves,
      ...(a.publishIntervalMs ? { publishIntervalMs: a.publishIntervalMs } : {}),
      onProduced: (or, r) => {
        const wall = Date.now();
        bedsProducing.add(or.bed);
        const key = `${r.kind}:${r.mdc}`;
        seenMdc.set(key, (seenMdc.get(key) ?? 0) + 1);
        if (r.kind === 'numeric') {
          if (r.t >= t0 && r.t < t1) truth.numerics++;
        } else if (r.t0 >= t0 && r.t0 < t1) {
          truth.samples += r.samples.length;
          truth.waveRecords++;
        }
        prober?.produced(or.bed, r, wall);
      },
    });
    const st = stack;
    const influx = new InfluxHttp(st.influxUrl);
    const influxdPid = findPidByArg(join(a.dir, 'influxdb', 'influxdb.conf'));
    const startWait = Date.now() + 60_000;
    while (bedsProducing.size < a.beds && Date.now() < startWait) await sleep(200);
    out.write(`${bedsProducing.size}/${a.beds} ORs producing; warm-up ${a.warmup} s ...\n`);
    await sleep(a.warmup * 1000);

    t0 = Math.ceil((Date.now() + 1) / 1000) * 1000; // whole device seconds (sim clock offset is 0)
    const windowMs = a.seconds * 1000;
    await sleep(t0 - Date.now());
    t1 = t0 + windowMs;
    const pick = (kind: string, prefer: string) => {
      if (seenMdc.has(`${kind}:${prefer}`)) return prefer;
      const best = [...seenMdc.entries()].filter(([k]) => k.startsWith(`${kind}:`)).sort((x, y) => y[1] - x[1])[0];
      return best ? best[0].slice(kind.length + 1) : prefer;
    };
    prober = new LatencyProber(
      influx,
      st.database,
      pick('numeric', 'MDC_ECG_HEART_RATE'),
      pick('wave', 'MDC_ECG_ELEC_POTL_II'),
      t0 - 60_000,
      PROBE_INTERVAL_MS,
    );
    const metrics = async () =>
      parseProm(
        await (
          await fetch(`${st.ingest.url}/metrics`, {
            headers: { authorization: `Bearer ${st.adminToken}` },
            signal: AbortSignal.timeout(5000),
          })
        ).text(),
      );
    const m0 = await metrics();
    const targets = st.ors.filter((o) => o.child?.pid).map((o) => ({ name: o.gatewayId, pid: o.child!.pid as number }));
    targets.push({ name: 'harness', pid: process.pid });
    if (influxdPid) targets.push({ name: 'influxd', pid: influxdPid });
    sampler = new ProcSampler(targets);
    const machine = new MachineMeter(sampler.clkTck);
    sampler.start();
    machine.start();
    prober.start();
    out.write(`window ${new Date(t0).toISOString()} + ${a.seconds} s ...\n`);
    await sleep(t1 - Date.now());
    const procs = sampler.stop();
    const machineBusyCores = machine.busyCores();
    prober.stopRecording();
    const m1 = await metrics();

    // drain: wait until the window's stored counts stop moving and the prober has seen everything
    const countQ =
      `SELECT count(value) FROM numeric WHERE time >= ${t0}ms AND time < ${t1}ms; ` +
      `SELECT count(flags) FROM numeric WHERE time >= ${t0}ms AND time < ${t1}ms; ` +
      `SELECT sum(n), count(n) FROM wave WHERE time >= ${t0}ms AND time < ${t1}ms`;
    let counts = await influx.query(st.database, countQ);
    const drainEnd = Date.now() + DRAIN_MAX_S * 1000;
    let stable = 0;
    let drainedS = 0;
    while (Date.now() < drainEnd && stable < 2) {
      await sleep(1000);
      const c = await influx.query(st.database, countQ);
      stable = JSON.stringify(c) === JSON.stringify(counts) && prober.pendingCount() === 0 ? stable + 1 : 0;
      counts = c;
      drainedS++;
    }
    await prober.stop();
    const lat = prober.figures();
    const numericValues = InfluxHttp.scalar(counts, 0, 'count') ?? 0;
    const numericPoints = InfluxHttp.scalar(counts, 1, 'count') ?? 0;
    const samples = InfluxHttp.scalar(counts, 2, 'sum') ?? 0;
    const wavePoints = InfluxHttp.scalar(counts, 2, 'count') ?? 0;

    // quiet the machine (gateways, simulators) before the ceiling; influxd and ingest stay up
    out.write(`window done (drained ${drainedS} s); stopping gateways and simulators, measuring the /write ceiling ...\n`);
    await Promise.all(
      st.ors.map(async (o) => {
        const c = o.child;
        if (c && c.exitCode === null && c.signalCode === null) {
          const exited = new Promise<void>((r) => c.once('exit', () => r()));
          c.kill('SIGTERM');
          await within(exited, 10_000);
        }
        await o.sim.close();
      }),
    );
    const src = await readBackLines(influx, st.database, t0, t1);
    const ceiling = await measureCeiling(influx, src, {
      windowMs,
      targetPoints: 500_000,
      maxCopies: 2000,
      batchLines: 5000,
      writers: [1, 2],
      repeats: 3,
      deadline: deadline - 30_000,
      tag: String(t0),
      influxdPid,
      clkTck: sampler.clkTck,
    });
    const bestCeiling = Math.max(0, ...Object.values(ceiling.medianPointsPerS));

    const S = a.seconds;
    const md = delta(m0, m1);
    const gws = procs.filter((p) => p.name.startsWith('gw-'));
    const over = (k: keyof ProcFigures) => gws.map((p) => p[k]).filter((v): v is number => typeof v === 'number');
    const storedPointsPerS = src.lines.length / S;
    const result = {
      kind: 'orlink-bench',
      version: 1,
      startedAt: new Date(t0 - a.warmup * 1000).toISOString(),
      machine: { ...machineInfo(await influx.version(), sampler.clkTck), loadAvgAtStart },
      parameters: {
        beds: a.beds,
        seconds: S,
        warmup: a.warmup,
        waves: a.waves,
        gatewayMode: 'process',
        publishIntervalMs: a.publishIntervalMs ?? 'gateway default (1000)',
        windowStart: t0,
        windowEnd: t1,
        probeIntervalMs: PROBE_INTERVAL_MS,
        drainMaxS: DRAIN_MAX_S,
        budgetS: budgetMs / 1000,
      },
      throughput: {
        stored: {
          numericsPerS: numericValues / S,
          samplesPerS: samples / S,
          numericValues,
          numericPoints,
          waveSamples: samples,
          wavePoints,
          allPoints: src.lines.length,
          allPointsPerS: storedPointsPerS,
        },
        produced: {
          numericsPerS: truth.numerics / S,
          samplesPerS: truth.samples / S,
          numerics: truth.numerics,
          waveSamples: truth.samples,
          waveRecords: truth.waveRecords,
        },
        storedOverProduced: { numerics: truth.numerics ? numericValues / truth.numerics : null, samples: truth.samples ? samples / truth.samples : null },
        ingestMetrics: { pointsWrittenPerS: (md.points_written_total ?? 0) / S, envelopesPerS: (md.envelopes_written_total ?? 0) / S, delta: md },
        drainedS,
      },
      latency: { ...lat, intervalMs: PROBE_INTERVAL_MS },
      resources: {
        gateways: gws,
        gatewaysMean: {
          cpuPctMean: mean(over('cpuPctMean')),
          cpuPctMax: max(over('cpuPctMax')),
          rssMiBMean: mean(over('rssMiBMean')),
          rssMiBMax: max(over('rssMiBMax')),
        },
        harness: procs.find((p) => p.name === 'harness'),
        influxd: procs.find((p) => p.name === 'influxd') ?? null,
        machineBusyCores,
        /** busy cores of the machine not used by the measured processes (other work on the box: noise) */
        otherBusyCores: machineBusyCores - procs.reduce((s, p) => s + (p.cpuPctMean ?? 0), 0) / 100,
      },
      ceiling,
      ratioToCeiling: bestCeiling ? storedPointsPerS / bestCeiling : null,
      ratioToCeilingMetrics: bestCeiling ? (md.points_written_total ?? 0) / S / bestCeiling : null,
      loadAvgAtEnd: os.loadavg(),
      methods: METHODS,
    };
    const file =
      a.out ??
      join(
        RESULTS,
        `${new Date(t0)
          .toISOString()
          .replace(/[:]/g, '-')
          .replace(/\.\d+Z$/, 'Z')}-beds${a.beds}.json`,
      );
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    out.write(summary(result));
    out.write(`result: ${file}\n`);
    return 0;
  };

  // Whatever ends the run (failure, deadline, crash, signal), the group stops every process the
  // bench started before it exits; a failure is reported as one coded line.
  return runGuarded({ verb: 'bench', logger, forceExitAfterMs: 5000 }, async (group) => {
    group.defer('deadline, sampler and prober', async () => {
      clearTimeout(hardTimer);
      sampler?.stop();
      await prober?.stop();
    });
    try {
      const hard = new Promise<never>((_, reject) => {
        hardTimer = setTimeout(() => reject(new CliError(CLI_ERR.RUN, `hard deadline of ${budgetMs / 1000} s reached`)), budgetMs);
      });
      return await Promise.race([body(group), hard]);
    } finally {
      clearTimeout(hardTimer);
      out.write('stopping the stack ...\n');
      await group.close();
      out.write('stopped.\n');
    }
  });
}
