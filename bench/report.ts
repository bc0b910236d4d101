/** Machine facts, Prometheus text parsing, and the human summary of one bench run. */
import os from 'node:os';

export function machineInfo(influxdVersion: string | null, clkTck: number): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    nproc: os.availableParallelism(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuMHz: cpus[0]?.speed ?? null,
    memTotalMiB: Math.round(os.totalmem() / 1048576),
    kernel: os.release(),
    node: process.version,
    influxd: influxdVersion,
    clkTck,
  };
}

/** `name value` lines of a Prometheus text exposition (no labels needed here). */
export function parseProm(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return out;
}

export function delta(a: Record<string, number>, b: Record<string, number>, prefix = 'orlink_ingest_'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b)) if (k.startsWith(prefix) && k.endsWith('_total')) out[k.slice(prefix.length)] = v - (a[k] ?? 0);
  return out;
}

const f = (v: unknown, d = 1): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '–');

/** A dozen lines for stdout; the JSON holds everything. */
export function summary(r: any): string {
  const t = r.throughput;
  const L = r.latency;
  const c = r.ceiling;
  const g = r.resources.gatewaysMean;
  const lines = [
    `orlink bench: ${r.parameters.beds} beds, ${r.parameters.seconds} s window after ${r.parameters.warmup} s warm-up, waves ${r.parameters.waves.join(',')}`,
    `  machine       ${r.machine.nproc} cores ${r.machine.cpuModel}, node ${r.machine.node}, influxd ${r.machine.influxd}`,
    `  stored        ${f(t.stored.samplesPerS)} wave samples/s, ${f(t.stored.numericsPerS)} numerics/s (${t.stored.wavePoints} wave blocks + ${t.stored.numericPoints} numeric points in window)`,
    `  produced      ${f(t.produced.samplesPerS)} samples/s, ${f(t.produced.numericsPerS)} numerics/s → stored/produced ${f(t.storedOverProduced.samples * 100, 2)} % samples, ${f(t.storedOverProduced.numerics * 100, 2)} % numerics`,
    `  ingest        ${f(t.ingestMetrics.pointsWrittenPerS)} points/s written (metrics), ${f(t.ingestMetrics.envelopesPerS)} envelopes/s, dead-lettered ${t.ingestMetrics.delta.envelopes_dead_lettered_total ?? 0}`,
    `  latency       numeric ${L.numeric.mdc}: p50 ${f(L.numeric.p50Ms, 0)} / p99 ${f(L.numeric.p99Ms, 0)} / max ${f(L.numeric.maxMs, 0)} ms (${L.numeric.seen}/${L.numeric.tracked} seen)`,
    `                wave ${L.wave.mdc}: p50 ${f(L.wave.p50Ms, 0)} / p99 ${f(L.wave.p99Ms, 0)} / max ${f(L.wave.maxMs, 0)} ms (${L.wave.seen}/${L.wave.tracked} seen); poll ${L.intervalMs} ms, mean query ${f(L.meanPollMs, 1)} ms`,
    `  gateway       mean CPU ${f(g.cpuPctMean, 2)} % of a core (max ${f(g.cpuPctMax, 1)} %), RSS ${f(g.rssMiBMean, 1)} MiB per bed`,
    `  harness proc  (ingest + ${r.parameters.beds} sims + prober) CPU ${f(r.resources.harness.cpuPctMean, 1)} % (max ${f(r.resources.harness.cpuPctMax, 1)}), RSS ${f(r.resources.harness.rssMiBMean, 0)} MiB`,
    `  machine load  ${f(r.resources.machineBusyCores, 2)} busy cores during the window, of which ${f(r.resources.otherBusyCores, 2)} outside the measured processes`,
    `  influxd       CPU ${f(r.resources.influxd?.cpuPctMean, 1)} % (max ${f(r.resources.influxd?.cpuPctMax, 1)}), RSS ${f(r.resources.influxd?.rssMiBMean, 0)} MiB`,
  ];
  for (const [w, med] of Object.entries(c.medianPointsPerS ?? {})) {
    const runs = (c.runs ?? []).filter((x: any) => String(x.writers) === w);
    lines.push(
      `  ceiling       ${w} writer(s): median ${f(med, 0)} points/s raw /write (runs ${runs.map((x: any) => `${f(x.pointsPerS, 0)} (other load ${f(x.otherBusyCores, 1)} cores)`).join(', ')}; ${c.windowPoints} window points × ${c.copies}, ${c.batchLines}-line batches, ${runs.reduce((s: number, x: any) => s + x.failedBatches, 0)} failed)`,
    );
  }
  lines.push(
    `  ratio         stored ${f(t.stored.allPointsPerS)} points/s (all measurements) = ${f((r.ratioToCeiling ?? NaN) * 100, 3)} % of the best median ceiling`,
  );
  return lines.join('\n') + '\n';
}
