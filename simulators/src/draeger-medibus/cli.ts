/**
 * `orlink sim draeger-medibus (--serial PATH | --pty | --tcp HOST:PORT) [options]`: the simulated
 * MEDIBUS workstation until SIGINT/SIGTERM (or the injected abort signal). Events go to stdout as
 * JSON lines ({"event":"listening",...}); logs (pino JSON) to stderr.
 */
import pino from 'pino';
import { SIM_ERR, SimError } from '../errors.js';
import type { SerialLinkOptions } from '../link/serial-link.js';
import type { RunIo } from '../main.js';
import { MedibusSimulator } from './simulator.js';
import { runSimCli, serveChosenLink } from '../cli-common.js';

/** MEDIBUS RS-232: 9600 bit/s, 8 data bits, even parity, 1 stop bit, no handshake. */
const MEDIBUS_LINE: SerialLinkOptions = { baudRate: 9600, dataBits: 8, parity: 'even', stopBits: 1, rtscts: false };

export const USAGE = `usage: orlink sim draeger-medibus (--serial PATH | --pty | --tcp HOST:PORT) [options]
  --seed N              physiology randomness (default 1)
  --device-name NAME    name in the ESC R answer (default A3XX = Atlan; selects the gateway profile)
  --interleave-every N  put a device command inside every N-th answer (default 4, 0 = never)
  --record-truth FILE   write what went on the wire as canonical NDJSON
With --pty it prints {"event":"listening","hostPath":...} on stdout: open hostPath in the gateway
(9600 8E1). Stops cleanly on SIGINT/SIGTERM.
`;

export interface MedibusSimArgs {
  link: { kind: 'serial'; path: string } | { kind: 'pty' } | { kind: 'tcp'; host: string; port: number };
  seed: number;
  deviceName: string;
  interleaveEvery: number;
  recordTruth?: string;
  help: boolean;
}

export function parseArgs(argv: string[]): MedibusSimArgs {
  const errors: string[] = [];
  const out: MedibusSimArgs = { link: { kind: 'pty' }, seed: 1, deviceName: 'A3XX', interleaveEvery: 4, help: false };
  let links = 0;
  const int = (name: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < 0) {
      errors.push(`${name} needs a non-negative integer`);
      return 0;
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string | undefined => argv[++i];
    switch (a) {
      case 'draeger-medibus':
        break;
      case '--help':
      case '-h':
        out.help = true;
        break;
      case '--pty':
        out.link = { kind: 'pty' };
        links++;
        break;
      case '--serial': {
        const p = next();
        if (!p) errors.push('--serial needs a PATH');
        else out.link = { kind: 'serial', path: p };
        links++;
        break;
      }
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
      case '--interleave-every':
        out.interleaveEvery = int(a, next());
        break;
      case '--device-name': {
        const n = next();
        if (!n || n.includes("'")) errors.push('--device-name needs a NAME without quotes');
        else out.deviceName = n;
        break;
      }
      case '--record-truth': {
        const f = next();
        if (!f) errors.push('--record-truth needs a FILE');
        else out.recordTruth = f;
        break;
      }
      default:
        errors.push(`unknown argument '${a}'`);
    }
  }
  if (!out.help && links !== 1) errors.push('give exactly one of --serial PATH, --pty, --tcp HOST:PORT');
  if (errors.length) throw new SimError(SIM_ERR.USAGE, errors.join('; '));
  return out;
}

export async function run(argv: string[], io: RunIo = {}): Promise<number> {
  const out = io.stdout ?? process.stdout;
  let args: MedibusSimArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`orlink sim: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    out.write(USAGE);
    return 0;
  }
  const log = (io.logger ?? pino(pino.destination(2))).child({ component: 'sim-draeger-medibus' });
  const sim = new MedibusSimulator({ seed: args.seed, deviceName: args.deviceName, interleaveEvery: args.interleaveEvery, logger: log });
  // a pty ignores line settings; a real port gets MEDIBUS' 9600 8E1
  return runSimCli({
    protocol: 'draeger-medibus',
    io,
    log,
    recordTruth: args.recordTruth,
    device: sim,
    serve: (closers) => serveChosenLink(args.link, sim, log, closers, MEDIBUS_LINE),
    report: () => sim.stats(),
  });
}
