/**
 * Long-window read bench (issue "trust boundary", item 9): a real influxd 1.6 populated with one bed
 * of `--params` numerics at 1 Hz for `--days` days (3 × 7 d = 1.81 M points, 5,000-line batches), then
 * for each window a fresh `orlink ingest` process (its own RSS high-water mark) answers
 * GET /cases/:id/timeline for the window — every page, following `next` — and GET /beds/:bed/latest
 * (24 h, the API's maximum look-back); the reader's latestNumerics is also timed over the window itself.
 *
 *   node --import=tsx bench/timeline-window.ts [--days 7] [--params 3] [--windows 26h,6d,7d] [--limit N] [--out FILE]
 *
 * Measures only (not part of `make test`). Every process it starts (influxd, the ingest children) is
 * owned by a ProcessGroup (cli/process-group.ts): stopped however the run ends, within a hard deadline.
 * Result JSON: bench/results/timeline-<iso>.json.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runGuarded, type ProcessGroup } from '../cli/process-group.js';
import type { NumericObs } from '../schemas/src/observation.js';
import { freePort, startInfluxd } from '../ingest/src/series/influxd-launcher.js';
import { InfluxV1Store } from '../ingest/src/series/influx-v1.js';
import { envelopeToPoints, INT_FIELDS } from '../ingest/src/series/layout.js';
import { toLine } from '../ingest/src/series/line-protocol.js';

const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : d;
};
const DAYS = Number(arg('days', '7'));
const PARAMS = Number(arg('params', '3'));
const LIMIT = arg('limit', '');
const WINDOWS = arg('windows', '26h,6d,7d').split(',');
const ms = (w: string) => Number(w.slice(0, -1)) * (w.endsWith('d') ? 86_400_000 : 3_600_000);
const ROOT = path.resolve(import.meta.dirname, '..');
const BED = 'bench-bed';
const kib = (pid: number, key: 'VmRSS' | 'VmHWM') =>
  Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
const mib = (k: number) => Math.round(k / 102.4) / 10;

async function until(what: string, deadlineMs: number, ok: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function populate(url: string, start: number, seconds: number): Promise<number> {
  const perBatch = Math.floor(5000 / PARAMS);
  let next = 0;
  let points = 0;
  const writer = async () => {
    while (next < seconds) {
      const from = next;
      next = Math.min(seconds, next + perBatch);
      const numerics: NumericObs[] = [];
      for (let s = from; s < next; s++) {
        for (let k = 0; k < PARAMS; k++)
          numerics.push({
            kind: 'numeric',
            mdc: `MDC_BENCH_${k}`,
            code: k,
            value: 60 + k * 10 + (s % 600) / 10,
            unit: '1',
            t: start + s * 1000,
            vendorCode: `p${k}`,
          });
      }
      const env = {
        gatewayId: 'gw',
        bootId: 'b',
        seq: from,
        sentAt: start,
        devices: [{ deviceId: 'mon', profileId: 'p', numerics, waves: [], alarms: [], settings: [] }],
      };
      const body = envelopeToPoints(env, { site: 's', room: 'r', bed: BED })
        .map((p) => toLine(p, INT_FIELDS))
        .join('\n');
      const res = await fetch(`${url}/write?db=orlink&rp=raw&precision=ms`, { method: 'POST', body, signal: AbortSignal.timeout(60_000) });
      if (res.status !== 204) throw new Error(`write ${res.status}: ${(await res.text()).slice(0, 200)}`);
      points += numerics.length;
    }
  };
  await Promise.all([writer(), writer()]);
  return points;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function main(group: ProcessGroup): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-tlbench-'));
  group.defer('temp dir', () => rmSync(dir, { recursive: true, force: true }));
  const influxd = await startInfluxd({ dir: path.join(dir, 'influx'), spawn: group.spawn });
  group.defer('influxd', () => influxd.stop());
  const store = new InfluxV1Store({
    url: influxd.url,
    database: 'orlink',
    retentionPolicy: 'raw',
    retentionDuration: '30d',
    createDatabase: true,
    maxLinesPerRequest: 5000,
    concurrency: 2,
    requestTimeoutMs: 120_000,
    retryMinMs: 100,
    retryMaxMs: 1000,
    retryAttempts: 3,
  });
  await store.open();
  const seconds = DAYS * 86_400;
  const end = Math.floor(Date.now() / 1000) * 1000 - 1000;
  const start = end - (seconds - 1) * 1000;
  let t = performance.now();
  const points = await populate(influxd.url, start, seconds);
  const populateS = (performance.now() - t) / 1000;
  process.stderr.write(`populated ${points} points in ${populateS.toFixed(1)} s\n`);

  const [httpPort, mqttPort] = [await freePort(), await freePort()];
  const config = path.join(dir, 'ingest.yaml');
  writeFileSync(
    config,
    `http: { host: 127.0.0.1, port: ${httpPort} }\ndb: { path: ${JSON.stringify(path.join(dir, 'ingest.sqlite'))} }\n` +
      `series: { kind: influx-v1, url: ${JSON.stringify(influxd.url)}, database: orlink, retentionPolicy: raw }\n` +
      `broker: { kind: embedded, host: 127.0.0.1, port: ${mqttPort} }\nlog: { level: warn }\n`,
  );
  const token = execFileSync(
    process.execPath,
    [path.join(ROOT, 'bin/orlink.js'), 'admin', 'create-token', '--config', config, '--name', 'bench', '--role', 'admin'],
    { cwd: ROOT, encoding: 'utf8' },
  ).trim();
  const base = `http://127.0.0.1:${httpPort}`;
  const api = async (method: string, p: string, body?: object) => {
    const res = await fetch(`${base}${p}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(600_000),
    });
    const text = await res.text();
    return { status: res.status, text, bytes: Buffer.byteLength(text) };
  };

  const results = [];
  let caseId = '';
  for (const w of WINDOWS) {
    const child = group.spawn(process.execPath, [path.join(ROOT, 'bin/orlink.js'), 'ingest', '--config', config], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await until('ingest ready', 60_000, async () => (await fetch(`${base}/health/live`)).status === 200);
    if (!caseId) {
      await api('POST', '/sites', { id: 's', name: 'S' });
      await api('POST', '/rooms', { id: 'r', siteId: 's', name: 'R' });
      await api('POST', '/beds', { id: BED, roomId: 'r', name: 'B' });
      caseId = JSON.parse((await api('POST', '/cases', { bed: BED, start })).text).id;
    }
    const pid = child.pid as number;
    const idleMiB = mib(kib(pid, 'VmRSS'));
    let peak = 0;
    let influxPeak = 0;
    const sampler = setInterval(() => {
      try {
        peak = Math.max(peak, kib(pid, 'VmRSS'));
        influxPeak = Math.max(influxPeak, kib(influxd.pid, 'VmRSS'));
      } catch {
        /* exited */
      }
    }, 50);
    const to = Date.now();
    const from = to - ms(w);
    let next: string | undefined = `/cases/${caseId}/timeline?from=${from}&to=${to}${LIMIT ? `&limit=${LIMIT}` : ''}`;
    const pages: { ms: number; bytes: number; points: number; status: number }[] = [];
    t = performance.now();
    while (next && pages.length < 1000) {
      const p0 = performance.now();
      const res = await api('GET', next);
      const body = res.status === 200 ? JSON.parse(res.text) : null;
      pages.push({
        ms: Math.round(performance.now() - p0),
        bytes: res.bytes,
        status: res.status,
        points: body ? body.numerics.reduce((s: number, n: { points: unknown[] }) => s + n.points.length, 0) : 0,
      });
      next = body?.next;
      if (!body) process.stderr.write(`timeline ${w}: HTTP ${res.status} ${res.text.slice(0, 200)}\n`);
    }
    const timelineMs = Math.round(performance.now() - t);
    t = performance.now();
    const latest = await api('GET', `/beds/${BED}/latest?windowMs=86400000`);
    const latestMs = Math.round(performance.now() - t);
    clearInterval(sampler);
    const hwm = mib(kib(pid, 'VmHWM'));
    t = performance.now();
    const direct = await store.latestNumerics({ bed: BED, from, to });
    const readerLatestMs = Math.round(performance.now() - t);
    await stop(child);
    const r = {
      window: w,
      timelineMs,
      pages: pages.length,
      points: pages.reduce((s, p) => s + p.points, 0),
      bytes: pages.reduce((s, p) => s + p.bytes, 0),
      statuses: [...new Set(pages.map((p) => p.status))],
      slowestPageMs: pages.reduce((m, p) => Math.max(m, p.ms), 0),
      latest24hMs: latestMs,
      latestStatus: latest.status,
      latestNumerics: latest.status === 200 ? JSON.parse(latest.text).numerics.length : 0,
      readerLatestOverWindowMs: readerLatestMs,
      readerLatestSeries: direct.length,
      ingestRssIdleMiB: idleMiB,
      ingestRssPeakMiB: mib(peak),
      ingestVmHwmMiB: hwm,
      influxdRssPeakMiB: mib(influxPeak),
    };
    process.stderr.write(`${JSON.stringify(r)}\n`);
    results.push(r);
  }
  const out = arg('out', path.join(ROOT, 'bench/results', `timeline-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}Z.json`));
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        machine: { cpus: os.cpus().length, loadavg: os.loadavg(), node: process.version },
        parameters: { days: DAYS, params: PARAMS, rateHz: 1, points, populateS: Math.round(populateS), limit: LIMIT || 'default' },
        results,
        method:
          'one fresh ingest process per window; timeline = wall time of all pages (sequential, following next); RSS sampled every 50 ms from /proc during the pages and latest; VmHWM = the ingest process high-water mark since its start',
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(`${out}\n`);
  return 0;
}

const RUN_DEADLINE_MS = 60 * 60_000;
process.exitCode = await runGuarded({ verb: 'bench timeline-window' }, (group) =>
  Promise.race([
    main(group),
    new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`not done after ${RUN_DEADLINE_MS / 60_000} min`)), RUN_DEADLINE_MS).unref()),
  ]),
);
