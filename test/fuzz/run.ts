/**
 * `make fuzz` — node --expose-gc --import=tsx test/fuzz/run.ts [options]
 *   --cases N        cases per protocol, split evenly between its targets (default 1000000)
 *   --seconds S      wall-time cap of the whole run (default 3600); each target gets a fair share
 *   --seed N         run seed (default: time-based; printed, and in the report)
 *   --jobs N         targets fuzzed at once (default: CPUs)
 *   --only a,b       target or protocol names (default: all; --list shows them)
 *   --hang-ms MS     one case longer than this is a hang (default 1000)
 *   --heap-limit-mb  worker old-space limit (default 512); --heap-growth-mb (default 64)
 *   --out FILE       report (default bench/results/fuzz-<timestamp>.json)
 *   --crashers DIR   failing inputs (default test/fuzz/crashers)
 *   --replay         replay the saved crashers instead of fuzzing
 * Exit code 1 when anything failed. Not part of `make test` (that runs fuzz.test.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CRASHERS_DIR } from './crashers.js';
import { fuzz, loadTargets, replayCrashers } from './fuzz.js';

const ROOT = resolve(import.meta.dirname, '../..');

const { values } = parseArgs({
  options: {
    cases: { type: 'string' },
    seconds: { type: 'string' },
    seed: { type: 'string' },
    jobs: { type: 'string' },
    only: { type: 'string' },
    'hang-ms': { type: 'string' },
    'heap-limit-mb': { type: 'string' },
    'heap-growth-mb': { type: 'string' },
    out: { type: 'string' },
    crashers: { type: 'string' },
    replay: { type: 'boolean' },
    list: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

const num = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number >= 0`);
  return n;
};

async function main(): Promise<number> {
  if (values.help) {
    process.stdout.write((await import('node:fs')).readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0] + '*/\n');
    return 0;
  }
  if (values.list) {
    for (const t of await loadTargets()) process.stdout.write(`${t.name}\n`);
    return 0;
  }
  const crashersDir = values.crashers ? resolve(values.crashers) : CRASHERS_DIR;
  const log = (l: string): void => {
    process.stdout.write(`${l}\n`);
  };
  if (values.replay) {
    const res = await replayCrashers(crashersDir, { log });
    for (const r of res)
      log(`${r.failure ? 'FAIL' : 'ok  '} ${relative(ROOT, r.file)}${r.failure ? `: ${r.failure.kind}: ${r.failure.message.split('\n')[0]}` : ''}`);
    log(`${res.length} crasher(s), ${res.filter((r) => r.failure).length} still failing`);
    return res.some((r) => r.failure) ? 1 : 0;
  }
  const seed = num('seed', values.seed) ?? Date.now() % 2 ** 31;
  const report = await fuzz({
    seed,
    cases: num('cases', values.cases),
    seconds: num('seconds', values.seconds),
    jobs: num('jobs', values.jobs),
    hangMs: num('hang-ms', values['hang-ms']),
    heapLimitMb: num('heap-limit-mb', values['heap-limit-mb']),
    heapGrowthMb: num('heap-growth-mb', values['heap-growth-mb']),
    only: values.only
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    crashersDir,
    log,
  });
  const out = values.out ? resolve(values.out) : join(ROOT, 'bench/results', `fuzz-${report.startedAt.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  log('');
  log(
    `fuzz seed ${seed}: ${report.totals.cases} cases in ${report.wallSeconds} s on ${report.machine.cpus} CPUs (gc ${report.machine.gcExposed ? 'exposed' : 'not exposed: heap figures from the fallback'})`,
  );
  for (const [g, s] of Object.entries(report.groups))
    log(`  ${g.padEnd(20)} ${String(s.cases).padStart(9)} cases  ${String(s.casesPerSec).padStart(7)}/s  ${s.failures} failure(s)`);
  log(
    `crashes ${report.totals.crashes}, invariant violations ${report.totals.invariants}, hangs ${report.totals.hangs}, heap ${report.totals.heap}, slow ${report.totals.slow}`,
  );
  for (const t of report.targets)
    for (const f of t.failures)
      log(`  ${f.kind} ${t.target} ×${f.count}: ${f.message.split('\n')[0].slice(0, 200)}${f.file ? `\n    saved ${relative(ROOT, f.file)}` : ''}`);
  log(`report: ${relative(ROOT, out)}`);
  return report.ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`fuzz: ${err.stack ?? err.message}\n`);
    process.exitCode = 2;
  },
);
