/** `orlink bench` arguments: defaults, validation, usage text. */
import { resolve } from 'node:path';

export const USAGE = `usage: orlink bench [--beds N] [--seconds S] [--warmup S] [--out FILE] [--waves ECG1,INVP1,PLETH,CO2]
  --beds N       simulated ORs, each with its own gateway process (default 10)
  --seconds S    measurement window (default 60)
  --warmup S     run before the window opens (default 10)
  --out FILE     JSON result (default bench/results/<iso-date>-beds<N>.json)
  --waves LIST   GE waves requested by every gateway (default ECG1,INVP1,PLETH,CO2)
  --publish-interval-ms MS  gateway MQTT publish interval (default: the gateway's, 1000)
  --dir DIR      working directory, emptied first (default .data/bench)
  --log-level L  pino level on stderr (default warn)
`;

export interface Args {
  beds: number;
  seconds: number;
  warmup: number;
  out?: string;
  waves: string[];
  dir: string;
  level: string;
  publishIntervalMs?: number;
}

export function parse(argv: string[]): Args | string {
  const a: Args = { beds: 10, seconds: 60, warmup: 10, waves: ['ECG1', 'INVP1', 'PLETH', 'CO2'], dir: resolve('.data/bench'), level: 'warn' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === '--help' || k === '-h') return 'help';
    if (v === undefined) return `missing value for ${k}`;
    i++;
    if (k === '--beds') a.beds = Number(v);
    else if (k === '--seconds') a.seconds = Number(v);
    else if (k === '--warmup') a.warmup = Number(v);
    else if (k === '--out') a.out = resolve(v);
    else if (k === '--waves')
      a.waves = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (k === '--dir') a.dir = resolve(v);
    else if (k === '--log-level') a.level = v;
    else if (k === '--publish-interval-ms') a.publishIntervalMs = Number(v);
    else return `unknown argument ${k}`;
  }
  if (!Number.isInteger(a.beds) || a.beds < 1 || a.beds > 50) return '--beds must be 1..50';
  if (!Number.isFinite(a.seconds) || a.seconds < 5 || a.seconds > 3600) return '--seconds must be 5..3600';
  if (!Number.isFinite(a.warmup) || a.warmup < 0 || a.warmup > 600) return '--warmup must be 0..600';
  if (a.publishIntervalMs !== undefined && (!Number.isInteger(a.publishIntervalMs) || a.publishIntervalMs < 50 || a.publishIntervalMs > 60_000))
    return '--publish-interval-ms must be 50..60000';
  if (!a.waves.length) return '--waves must name at least one wave';
  return a;
}
