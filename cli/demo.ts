/**
 * `orlink demo`: a real InfluxDB, ingest with the embedded broker, and two simulated ORs (a GE S/5
 * simulator on a pty read by its own gateway), a case opened per OR, the URLs to look at with an
 * admin API token (made at start as `orlink admin create-token` makes one) and a ready curl line,
 * and a live line of vitals per OR until Ctrl-C, which stops everything.
 */
import { resolve } from 'node:path';
import { rmSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import { startStack } from './stack.js';
import { runGuarded, type ProcessGroup } from './process-group.js';
import { CLI_ERR, CliError } from './errors.js';

const USAGE = `usage: orlink demo [--ors N] [--dir DIR] [--keep-data] [--log-level LEVEL]
  --ors N        simulated operating rooms (default 2)
  --dir DIR      where InfluxDB, the registry and the outboxes live (default .data/demo)
  --keep-data    keep DIR from the previous run (default: start empty)
`;

/** The vitals shown on the live line, in the order an anesthetist reads them. */
const LIVE: [label: string, mdc: string, digits: number][] = [
  ['HR', 'MDC_ECG_HEART_RATE', 0],
  ['SpO2', 'MDC_PULS_OXIM_SAT_O2', 0],
  ['ART', 'MDC_PRESS_BLD_ART_SYS', 0],
  ['/', 'MDC_PRESS_BLD_ART_DIA', 0],
  ['NIBP', 'MDC_PRESS_BLD_NONINV_SYS', 0],
  ['/', 'MDC_PRESS_BLD_NONINV_DIA', 0],
  ['EtCO2', 'MDC_CONC_AWAY_CO2_ET', 0],
  ['RR', 'MDC_AWAY_RESP_RATE', 0],
  ['T', 'MDC_TEMP_ESOPH', 1],
];

interface Latest {
  caseId?: string | null;
  numerics: { mdc: string | null; value: number | null; t: number }[];
}

function liveLine(room: string, latest: Latest): string {
  const byMdc = new Map(latest.numerics.map((n) => [n.mdc, n]));
  const parts: string[] = [];
  for (const [label, mdc, digits] of LIVE) {
    const v = byMdc.get(mdc)?.value;
    const s = v === null || v === undefined ? '--' : v.toFixed(digits);
    parts.push(label === '/' ? `/${s}` : ` ${label} ${s}`);
  }
  const newest = latest.numerics.reduce((m, n) => Math.max(m, n.t), 0);
  const age = newest ? `newest ${((Date.now() - newest) / 1000).toFixed(1)} s old` : 'no data yet';
  return `${room.padEnd(4)}${parts.join('')}  (${latest.numerics.length} params, ${age})`;
}

export async function run(argv: string[]): Promise<number> {
  let ors = 2;
  let dir = resolve('.data/demo');
  let keep = false;
  let level = 'warn';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--ors') ors = Number(argv[++i]);
    else if (a === '--dir') dir = resolve(argv[++i]);
    else if (a === '--keep-data') keep = true;
    else if (a === '--log-level') level = argv[++i];
    else if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      return 0;
    } else {
      process.stderr.write(`orlink demo: unknown argument ${a}\n${USAGE}`);
      return 2;
    }
  }
  if (!Number.isInteger(ors) || ors < 1 || ors > 50) {
    process.stderr.write('--ors must be 1..50\n');
    return 2;
  }
  if (!keep) rmSync(dir, { recursive: true, force: true });

  const logger = pino({ level }, pino.destination(2));
  // Whatever ends the demo (start-up failure, crash, Ctrl-C, SIGTERM, SIGHUP), every process it
  // started is stopped before it exits (cli/process-group.ts).
  return runGuarded({ verb: 'demo', logger, forceExitAfterMs: 5000 }, (group) => runDemo(group, dir, ors, logger));
}

async function runDemo(group: ProcessGroup, dir: string, ors: number, logger: Logger): Promise<number> {
  process.stdout.write(`starting InfluxDB, ingest and ${ors} simulated ORs under ${dir} ...\n`);
  const stack = await startStack({ dir, ors, logger, group, waves: ['ECG1', 'INVP1', 'PLETH', 'CO2'] }).catch((err: unknown) => {
    throw new CliError(CLI_ERR.START, 'the demo could not start', { cause: err });
  });
  const cases: { room: string; bed: string; id: string }[] = [];
  for (const or of stack.ors) {
    const c = await stack.api<{ id: string }>('POST', '/cases', { bed: or.bed, start: Date.now() - 60_000 });
    cases.push({ room: or.room, bed: or.bed, id: c.id });
  }

  const out = process.stdout;
  out.write(`\norlink demo is running. Where to look:\n`);
  out.write(
    `  ingest REST      ${stack.ingest.url}   (OpenAPI: ${stack.ingest.url}/docs/json, health: ${stack.ingest.url}/health, metrics: ${stack.ingest.url}/metrics)\n`,
  );
  out.write(`  API token        ${stack.adminToken}   (admin, expires in 7 days; every route but /health/live needs it)\n`);
  out.write(`  MQTT broker      ${stack.ingest.mqttUrl}   (vitals: orlink/v1/+/+/+/vitals; gateway status: orlink/v1/+/+/+/+/status)\n`);
  out.write(`  InfluxDB         ${stack.influxUrl}   database '${stack.database}':\n`);
  out.write(
    `                   influx -host 127.0.0.1 -port ${new URL(stack.influxUrl).port} -database ${stack.database} -execute 'SELECT * FROM numeric ORDER BY time DESC LIMIT 10'\n`,
  );
  for (const c of cases) {
    out.write(`  ${c.room} case       ${stack.ingest.url}/cases/${c.id}/timeline   (latest: ${stack.ingest.url}/beds/${c.bed}/latest)\n`);
  }
  const first = cases[0];
  out.write(`  try it           curl -H 'Authorization: Bearer ${stack.adminToken}' '${stack.ingest.url}/beds/${first.bed}/latest'\n`);
  out.write(`Ctrl-C stops everything.\n\n`);

  let stopping = false;
  const timer = setInterval(async () => {
    if (stopping) return;
    const lines: string[] = [];
    for (const or of stack.ors) {
      try {
        lines.push(liveLine(or.room, await stack.api<Latest>('GET', `/beds/${or.bed}/latest?windowMs=60000`)));
      } catch (err) {
        lines.push(`${or.room} (${(err as Error).message})`);
      }
    }
    if (!stopping) out.write(`${new Date().toISOString().slice(11, 19)} ${lines.join('\n         ')}\n`);
  }, 2000);
  group.defer('live line', () => {
    stopping = true;
    clearInterval(timer);
  });

  // from here a signal is the way to stop: exit 0 once the group (and so the stack) is closed
  group.signalIsStop = true;
  const how = await group.interrupted;
  if (how.kind === 'signal') out.write('\nstopping gateways, simulators, ingest and InfluxDB ...\n');
  await group.close();
  if (how.kind === 'signal') out.write('stopped.\n');
  return 0;
}
