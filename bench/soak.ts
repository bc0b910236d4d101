/**
 * Soak: N beds (default 50) on the real path for M minutes (default 60) with a fault every F
 * seconds (default 120), cycling through: ingest restart (embedded broker restart), ingest SIGKILL,
 * InfluxDB answering 503, one gateway partitioned from the broker, one gateway SIGKILLed and
 * restarted (monitor silenced around it), InfluxDB stopped and restarted.
 * Report (JSON, bench/results/soak-<time>-beds<N>.json): the audit (loss must be 0), RSS of ingest,
 * influxd and the gateways over time, outbox depths over time, device→queryable latency p50/p99.
 *   npx tsx bench/soak.ts [--beds 50] [--minutes 60] [--fault-every 120] [--waves ECG1,PLETH|none] [--out FILE]
 * Not part of `make test` (`make soak`).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { startInfluxd } from '../ingest/src/series/influxd-launcher.js';
import { FaultRig, type Bed } from '../test/faults/harness/rig.js';
import { outboxBytes } from '../test/faults/harness/outbox-files.js';
import { pollUntil, runFor } from '../test/faults/harness/processes.js';
import { sumAudits, type AuditResult } from '../test/faults/harness/audit.js';
import { runGuarded, type ProcessGroup } from '../cli/process-group.js';

interface Args {
  beds: number;
  minutes: number;
  faultEveryS: number;
  waves: string[];
  out?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { beds: 50, minutes: 60, faultEveryS: 120, waves: ['ECG1', 'PLETH'] };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[++i];
    if (k === '--beds') a.beds = Number(v);
    else if (k === '--minutes') a.minutes = Number(v);
    else if (k === '--fault-every') a.faultEveryS = Number(v);
    else if (k === '--waves') a.waves = v === 'none' ? [] : v.split(',');
    else if (k === '--out') a.out = v;
    else throw new Error(`unknown argument ${k}`);
  }
  if (!(a.beds >= 1 && a.minutes > 0 && a.faultEveryS >= 10)) throw new Error('bad arguments');
  return a;
}

const rssMiB = (pid: number | undefined): number | null => {
  if (!pid) return null;
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : null;
  } catch {
    return null;
  }
};

function pct(sorted: number[], p: number): number | null {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : null;
}

async function isStored(rig: FaultRig, device: string, vendor: string, t: number): Promise<boolean> {
  const q = `SELECT "value" FROM "numeric" WHERE "device" = '${device}' AND "vendor" = '${vendor}' AND time = ${t}ms`;
  try {
    const res = await fetch(`${rig.influxUrl}/query?db=${rig.database}&epoch=ms`, {
      method: 'POST',
      body: new URLSearchParams({ q }),
      signal: AbortSignal.timeout(5000),
    });
    const j = (await res.json()) as { results?: { series?: unknown[] }[] };
    return (j.results?.[0]?.series?.length ?? 0) > 0;
  } catch {
    return false;
  }
}

/** The earliest numeric produced at or after `since`, looking only at the newest readings. */
function firstNumericSince(b: Bed, since: number): Bed['produced'][number] | undefined {
  let found: Bed['produced'][number] | undefined;
  for (let k = b.produced.length - 1; k >= 0 && k >= b.produced.length - 200; k--) {
    const r = b.produced[k];
    if (r.at < since) break;
    if (r.kind === 'numeric') found = r;
  }
  return found;
}

type Fault = { name: string; run: (rig: FaultRig, bed: Bed) => Promise<void> };

const FAULTS: Fault[] = [
  {
    name: 'ingest restart (embedded broker)',
    run: async (rig) => {
      await rig.ingest.stop();
      await runFor(3_000);
      await rig.startIngest();
    },
  },
  {
    name: 'ingest SIGKILL',
    run: async (rig) => {
      await rig.ingest.kill('SIGKILL');
      await runFor(2_000);
      await rig.startIngest();
    },
  },
  {
    name: 'InfluxDB 503 for 15 s',
    run: async (rig) => {
      rig.influxProxy!.fault = { kind: 'status', status: 503 };
      await runFor(15_000);
      rig.influxProxy!.fault = { kind: 'pass' };
    },
  },
  {
    name: 'gateway partition 30 s',
    run: async (_rig, b) => {
      b.proxy!.mode = 'blackhole';
      await runFor(30_000);
      b.proxy!.mode = 'pass';
      b.proxy!.cut();
    },
  },
  {
    name: 'gateway SIGKILL + restart',
    run: async (rig, b) => {
      b.sim.silence(120_000);
      await runFor(2_000); // the batcher writes what it holds to the outbox (≤ one publish interval)
      await b.child!.kill('SIGKILL');
      const asked = new Promise<void>((r) => b.sim.once('request', () => r()));
      await rig.startGateway(b);
      await Promise.race([asked, runFor(30_000)]);
      b.sim.silence(0);
    },
  },
  {
    name: 'InfluxDB stopped 10 s',
    run: async (rig) => {
      const port = rig.influx.port;
      await rig.influx.stop();
      await runFor(10_000);
      rig.influx = await startInfluxd({ dir: join(rig.dir, 'influxdb'), port, spawn: rig.o.spawn });
    },
  },
];

const log = pino({ level: 'warn' });

async function main(group: ProcessGroup): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  // the simulators play the developers' PhysioNet copy beside the repository when present (else the synthetic model)
  const physionet = fileURLToPath(new URL('../../shared/data/physionet', import.meta.url));
  if (!process.env.ORLINK_PHYSIONET_DIR && existsSync(physionet)) process.env.ORLINK_PHYSIONET_DIR = physionet;
  const rig = new FaultRig({
    name: 'soak',
    beds: args.beds,
    gatewayMode: 'process',
    brokerProxy: true,
    influxProxy: true,
    waves: args.waves,
    publishIntervalMs: 1000,
    logger: log,
    spawn: group.spawn, // every child process (influxd, ingest, gateways, socat) is owned by the group
  });
  // the rig stops in its own order; whatever it misses, the group kills after (cli/process-group.ts)
  const stop = async () => {
    await rig.close();
  };
  group.defer('fault rig', stop);
  const startedAt = Date.now();
  const samples: Record<string, unknown>[] = [];
  const faults: { at: number; name: string; bed: string; ms: number }[] = [];
  const latencies: number[] = [];
  let unseenProbes = 0;
  let audit: AuditResult | undefined;
  const bedsWithLoss: Record<string, unknown>[] = [];
  try {
    await rig.start();
    console.error(`soak: ${args.beds} beds up in ${Date.now() - startedAt} ms; running ${args.minutes} min`);
    const endAt = Date.now() + args.minutes * 60_000;
    let stopSampling = false;
    const sampler = (async () => {
      for (let i = 0; !stopSampling && i < 100_000; i++) {
        const gw = rig.beds.map((b) => rssMiB(b.child?.pid)).filter((x): x is number => x !== null);
        const depths = rig.beds.map((b) => rig.publishedStatus(b)?.outbox.records ?? 0);
        const disk = rig.beds.map((b) => outboxBytes(b.outboxDir));
        samples.push({
          tS: Math.round((Date.now() - startedAt) / 1000),
          ingestRssMiB: rssMiB(rig.ingest.pid),
          influxdRssMiB: rssMiB(rig.influx.pid),
          gatewayRssMiB: {
            mean: gw.length ? Math.round((gw.reduce((s, x) => s + x, 0) / gw.length) * 10) / 10 : null,
            max: gw.length ? Math.max(...gw) : null,
          },
          // unacked records as last published by each gateway (a gateway cut off cannot publish it),
          // and the outbox segment bytes on disk (includes acked records of a not fully acked segment)
          outboxRecords: { total: depths.reduce((s, x) => s + x, 0), max: Math.max(0, ...depths) },
          outboxDiskBytes: { total: disk.reduce((s, x) => s + x, 0), max: Math.max(0, ...disk) },
        });
        await runFor(10_000);
      }
    })();
    const prober = (async () => {
      for (let i = 0; !stopSampling && i < 1_000_000; i++) {
        const b = rig.beds[i % rig.beds.length];
        const before = Date.now();
        const probe = await pollUntil(() => firstNumericSince(b, before), { timeoutMs: 5_000, intervalMs: 20 });
        if (probe && probe.kind === 'numeric') {
          const ok = await pollUntil(() => isStored(rig, b.deviceId, probe.vendorCode, probe.t), { timeoutMs: 120_000, intervalMs: 50 });
          if (ok) latencies.push(Date.now() - probe.at);
          else unseenProbes++;
        }
        await runFor(1_000);
      }
    })();
    for (let k = 0; Date.now() < endAt && k < 10_000; k++) {
      await runFor(Math.min(args.faultEveryS * 1000, Math.max(0, endAt - Date.now())));
      if (Date.now() >= endAt - 20_000) break;
      const f = FAULTS[k % FAULTS.length];
      const bed = rig.beds[k % rig.beds.length];
      const t0 = Date.now();
      console.error(`soak: fault ${f.name} (${bed.gatewayId}) at ${Math.round((t0 - startedAt) / 1000)} s`);
      await f.run(rig, bed);
      faults.push({ at: Math.round((t0 - startedAt) / 1000), name: f.name, bed: bed.gatewayId, ms: Date.now() - t0 });
    }
    await rig.stopDevices();
    stopSampling = true;
    await Promise.all([sampler, prober]);
    writeReport(); // the run's figures are kept even if the audit cannot finish
    // One bed at a time, each until clean or the shared deadline; an audited bed's truth is freed
    // (an hour of 50 beds is millions of readings: auditing all of them on every poll exhausted a
    // 4 GB heap once)
    const deadline = Date.now() + 300_000;
    const perBed: AuditResult[] = [];
    for (const b of rig.beds) {
      let a = await rig.audit(b);
      while ((a.numerics.lost > 0 || a.waves.lost > 0) && Date.now() < deadline) {
        await runFor(2_000);
        a = await rig.audit(b);
      }
      perBed.push(a);
      if (a.numerics.lost || a.waves.lost || a.numerics.duplicated || a.waves.duplicated || a.numerics.invented || a.waves.invented) {
        bedsWithLoss.push({ bed: b.gatewayId, numerics: a.numerics, waveSamples: a.waves, examples: a.examples });
      }
      b.produced.length = 0;
    }
    audit = { ...sumAudits(perBed), broker: rig.broker };
  } finally {
    writeReport();
    await stop();
  }
  return 0;

  function writeReport(): void {
    const sorted = [...latencies].sort((a, b) => a - b);
    const report = {
      kind: 'orlink-soak',
      startedAt: new Date(startedAt).toISOString(),
      durationS: Math.round((Date.now() - startedAt) / 1000),
      args,
      faults,
      audit: audit ? { numerics: audit.numerics, waveSamples: audit.waves, absentPoints: audit.absent, examples: audit.examples } : null,
      loss: audit ? audit.numerics.lost + audit.waves.lost : null,
      bedsWithFindings: bedsWithLoss,
      latencyMs: { probes: sorted.length, unseen: unseenProbes, p50: pct(sorted, 50), p99: pct(sorted, 99), max: sorted.at(-1) ?? null },
      samples,
    };
    const dir = fileURLToPath(new URL('./results/', import.meta.url));
    mkdirSync(dir, { recursive: true });
    const out = args.out ?? join(dir, `soak-${new Date(startedAt).toISOString().replace(/[:.]/g, '-').slice(0, 19)}Z-beds${args.beds}.json`);
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    console.error(`soak: report ${out}: loss ${String(report.loss)}, p99 ${String(report.latencyMs.p99)} ms`);
  }
}

// a signal, a crash or a failure stops every process the soak started before it exits (coded one-line error)
runGuarded({ verb: 'soak', logger: log }, main).then((code) => process.exit(code));
