/** `orlink sim` command line → options (all errors at once, SIM_ERR_USAGE). */
import { SIM_ERR, SimError } from './errors.js';
import { FAULT_NAMES, type FaultName } from './ge-dri/faults.js';

export interface SimArgs {
  protocol: string;
  link: { kind: 'serial'; path: string } | { kind: 'pty' } | { kind: 'tcp'; host: string; port: number };
  seed: number;
  clockOffsetMs: number;
  faults: FaultName[];
  recordTruth?: string;
  scenario?: string;
  replay?: string;
  dataDir?: string;
  driLevel?: number;
  realNumerics: boolean;
  help: boolean;
}

export const SIM_USAGE = `usage: orlink sim ge-dri (--serial PATH | --pty | --tcp HOST:PORT) [options]
  --seed N              physiology and fault randomness (default 1)
  --clock-offset-ms N   device clock minus true time (default 0)
  --fault NAME          garbage | checksum | silence | disconnect | clock-jump (repeatable)
  --record-truth FILE   write what went on the wire as canonical NDJSON
  --replay CAPTURE      play a real capture (raw or hexlog) instead of simulated physiology
  --scenario FILE       patient/case (YAML or JSON: agent, baseline, nibpIntervalMin, events, ...)
  --data-dir DIR        play real PhysioNet recordings from DIR (waves and s00001 numerics) instead
                        of the built-in synthetic physiology (default: $ORLINK_PHYSIONET_DIR if set)
  --dri-level N         DRI level the monitor answers with (default 10)
  --synthetic-numerics  with --data-dir: keep the synthetic numerics (no s00001 trend)
With --pty it prints {"event":"listening","hostPath":...} on stdout: open hostPath in the gateway.
Stops cleanly on SIGINT/SIGTERM.
`;

function int(name: string, v: string | undefined, errors: string[]): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n)) {
    errors.push(`${name} needs an integer`);
    return 0;
  }
  return n;
}

export function parseSimArgs(argv: string[]): SimArgs {
  const errors: string[] = [];
  const out: SimArgs = { protocol: '', link: { kind: 'pty' }, seed: 1, clockOffsetMs: 0, faults: [], realNumerics: true, help: false };
  let links = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string | undefined => argv[++i];
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
        const v = next() ?? '';
        const m = /^(.*):(\d+)$/.exec(v);
        if (!m) errors.push('--tcp needs HOST:PORT');
        else out.link = { kind: 'tcp', host: m[1] || '127.0.0.1', port: Number(m[2]) };
        links++;
        break;
      }
      case '--seed':
        out.seed = int(a, next(), errors);
        break;
      case '--clock-offset-ms':
        out.clockOffsetMs = int(a, next(), errors);
        break;
      case '--dri-level':
        out.driLevel = int(a, next(), errors);
        break;
      case '--record-truth': {
        const f = next();
        if (!f) errors.push('--record-truth needs a FILE');
        else out.recordTruth = f;
        break;
      }
      case '--replay': {
        const f = next();
        if (!f) errors.push('--replay needs a CAPTURE');
        else out.replay = f;
        break;
      }
      case '--scenario': {
        const f = next();
        if (!f) errors.push('--scenario needs a FILE');
        else out.scenario = f;
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
      case '--fault': {
        for (const f of (next() ?? '').split(',')) {
          if ((FAULT_NAMES as readonly string[]).includes(f)) out.faults.push(f as FaultName);
          else errors.push(`unknown fault '${f}' (${FAULT_NAMES.join(', ')})`);
        }
        break;
      }
      default:
        if (!a.startsWith('-') && !out.protocol) out.protocol = a;
        else errors.push(`unknown argument '${a}'`);
    }
  }
  if (!out.help) {
    if (out.protocol !== 'ge-dri') errors.push(out.protocol ? `unknown simulator '${out.protocol}' (available: ge-dri)` : 'which simulator? (ge-dri)');
    if (links !== 1) errors.push('give exactly one of --serial PATH, --pty, --tcp HOST:PORT');
  }
  if (errors.length) throw new SimError(SIM_ERR.USAGE, errors.join('; '));
  return out;
}
