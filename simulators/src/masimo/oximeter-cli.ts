/**
 * Command line shared by `orlink sim masimo` and `orlink sim nonin`: link (--serial PATH | --pty |
 * --tcp HOST:PORT), --seed, --clock-offset-ms, --fault (comma list), --record-truth FILE,
 * --data-dir, --synthetic-numerics, plus one device option (--model / --format). Runs until
 * SIGINT/SIGTERM or the abort signal; events as JSON lines on stdout, pino logs on stderr.
 */
import pino from 'pino';
import { SIM_ERR, SimError } from '../errors.js';
import type { SerialLinkOptions } from '../link/serial-link.js';
import type { RunIo } from '../main.js';
import type { OxiDeviceBase } from './device-base.js';
import { runSimCli, serveChosenLink } from '../cli-common.js';

/** Masimo ASCII 1 and Nonin: 9600 8N1, no flow control. */
export const OXIMETER_LINK: SerialLinkOptions = { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false };

export interface OxiArgs {
  link: { kind: 'serial'; path: string } | { kind: 'pty' } | { kind: 'tcp'; host: string; port: number };
  seed: number;
  clockOffsetMs: number;
  faults: string[];
  recordTruth?: string;
  dataDir?: string;
  realNumerics: boolean;
  device?: string;
  help: boolean;
}

export interface OxiCliSpec {
  name: string;
  deviceFlag: '--model' | '--format';
  deviceValues: readonly string[];
  faults: readonly string[];
  usage: string;
  create(a: OxiArgs, log: pino.Logger): OxiDeviceBase;
}

export function parseOxiArgs(argv: string[], spec: Pick<OxiCliSpec, 'name' | 'deviceFlag' | 'deviceValues' | 'faults'>): OxiArgs {
  const errors: string[] = [];
  const out: OxiArgs = { link: { kind: 'pty' }, seed: 1, clockOffsetMs: 0, faults: [], realNumerics: true, help: false };
  let links = 0;
  let seenName = false;
  const int = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n)) {
      errors.push(`${flag} needs an integer`);
      return 0;
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string | undefined => argv[++i];
    if (a === spec.deviceFlag) {
      const v = next() ?? '';
      if (spec.deviceValues.includes(v)) out.device = v;
      else errors.push(`${a} must be one of ${spec.deviceValues.join('|')}`);
      continue;
    }
    switch (a) {
      case '--help':
      case '-h':
        out.help = true;
        break;
      case '--serial': {
        const p = next();
        if (!p) errors.push('--serial needs a PATH');
        else out.link = { kind: 'serial', path: p };
        links++;
        break;
      }
      case '--pty':
        out.link = { kind: 'pty' };
        links++;
        break;
      case '--tcp': {
        const m = /^(.*):(\d+)$/.exec(next() ?? '');
        if (!m) errors.push('--tcp needs HOST:PORT');
        else out.link = { kind: 'tcp', host: m[1] || '127.0.0.1', port: Number(m[2]) };
        links++;
        break;
      }
      case '--seed':
        out.seed = int(a, next());
        break;
      case '--clock-offset-ms':
        out.clockOffsetMs = int(a, next());
        break;
      case '--record-truth': {
        const f = next();
        if (!f) errors.push('--record-truth needs a FILE');
        else out.recordTruth = f;
        break;
      }
      case '--data-dir': {
        const d = next();
        if (!d) errors.push('--data-dir needs a DIR');
        else out.dataDir = d;
        break;
      }
      case '--synthetic-numerics':
        out.realNumerics = false;
        break;
      case '--fault':
        for (const f of (next() ?? '').split(',')) {
          if (spec.faults.includes(f)) out.faults.push(f);
          else errors.push(`unknown fault '${f}' (${spec.faults.join(', ')})`);
        }
        break;
      default:
        if (a === spec.name && !seenName) seenName = true;
        else errors.push(`unknown argument '${a}'`);
    }
  }
  if (!out.help && links !== 1) errors.push('give exactly one of --serial PATH, --pty, --tcp HOST:PORT');
  if (errors.length) throw new SimError(SIM_ERR.USAGE, errors.join('; '));
  return out;
}

export async function runOxiCli(spec: OxiCliSpec, argv: string[], io: RunIo = {}): Promise<number> {
  const out = io.stdout ?? process.stdout;
  let args: OxiArgs;
  try {
    args = parseOxiArgs(argv, spec);
  } catch (e) {
    process.stderr.write(`orlink sim: ${(e as Error).message}\n${spec.usage}`);
    return 2;
  }
  if (args.help) {
    out.write(spec.usage);
    return 0;
  }
  const log = (io.logger ?? pino(pino.destination(2))).child({ component: `sim-${spec.name}` });
  let dev: OxiDeviceBase;
  try {
    dev = spec.create(args, log);
  } catch (e) {
    log.error({ err: e }, 'simulator failed');
    process.stderr.write(`orlink sim: ${(e as Error).message}\n`);
    return 1;
  }
  return runSimCli({
    protocol: spec.name,
    io,
    log,
    recordTruth: args.recordTruth,
    device: dev,
    // a real port gets the oximeters' 9600 8N1 (a pty ignores line settings)
    serve: (closers) => serveChosenLink(args.link, dev, log, closers, OXIMETER_LINK),
    report: () => dev.stats(),
  });
}
