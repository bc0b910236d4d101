/**
 * `orlink sim draeger-medibus (--serial PATH | --pty | --tcp HOST:PORT) [options]`: the simulated
 * MEDIBUS workstation until SIGINT/SIGTERM (or the injected abort signal). Events go to stdout as
 * JSON lines ({"event":"listening",...}); logs (pino JSON) to stderr.
 */
import type { WriteStream } from 'node:fs';
import pino from 'pino';
import { SIM_ERR, SimError } from '../errors.js';
import { openPtyPair } from '../link/pty.js';
import { TcpDeviceServer } from '../link/tcp-link.js';
import type { RunIo } from '../main.js';
import { serveSerial } from '../serve-serial.js';
import type { Produced } from '../ge-dri/truth.js';
import { MedibusSimulator } from './simulator.js';
import { openTruthFile, waitForStop } from '../cli-common.js';

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
  seed: number; deviceName: string; interleaveEvery: number; recordTruth?: string; help: boolean;
}

export function parseArgs(argv: string[]): MedibusSimArgs {
  const errors: string[] = [];
  const out: MedibusSimArgs = { link: { kind: 'pty' }, seed: 1, deviceName: 'A3XX', interleaveEvery: 4, help: false };
  let links = 0;
  const int = (name: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < 0) { errors.push(`${name} needs a non-negative integer`); return 0; }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string | undefined => argv[++i];
    switch (a) {
      case 'draeger-medibus': break;
      case '--help': case '-h': out.help = true; break;
      case '--pty': out.link = { kind: 'pty' }; links++; break;
      case '--serial': { const p = next(); if (!p) errors.push('--serial needs a PATH'); else out.link = { kind: 'serial', path: p }; links++; break; }
      case '--tcp': {
        const m = /^(.*):(\d+)$/.exec(next() ?? '');
        if (!m) errors.push('--tcp needs HOST:PORT'); else out.link = { kind: 'tcp', host: m[1] || '127.0.0.1', port: Number(m[2]) };
        links++;
        break;
      }
      case '--seed': out.seed = int(a, next()); break;
      case '--interleave-every': out.interleaveEvery = int(a, next()); break;
      case '--device-name': { const n = next(); if (!n || n.includes("'")) errors.push('--device-name needs a NAME without quotes'); else out.deviceName = n; break; }
      case '--record-truth': { const f = next(); if (!f) errors.push('--record-truth needs a FILE'); else out.recordTruth = f; break; }
      default: errors.push(`unknown argument '${a}'`);
    }
  }
  if (!out.help && links !== 1) errors.push('give exactly one of --serial PATH, --pty, --tcp HOST:PORT');
  if (errors.length) throw new SimError(SIM_ERR.USAGE, errors.join('; '));
  return out;
}


export async function run(argv: string[], io: RunIo = {}): Promise<number> {
  const out = io.stdout ?? process.stdout;
  let args: MedibusSimArgs;
  try { args = parseArgs(argv); } catch (e) {
    process.stderr.write(`orlink sim: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) { out.write(USAGE); return 0; }
  const log = (io.logger ?? pino(pino.destination(2))).child({ component: 'sim-draeger-medibus' });
  const emit = (o: object): void => { out.write(`${JSON.stringify(o)}\n`); };
  const sim = new MedibusSimulator({ seed: args.seed, deviceName: args.deviceName, interleaveEvery: args.interleaveEvery, logger: log });
  const closers: (() => Promise<void>)[] = [];
  let truth: WriteStream | undefined;
  try {
    if (args.recordTruth) {
      const ts = await openTruthFile(args.recordTruth);
      truth = ts.stream;
      sim.on('produced', (r: Produced) => { ts.write(r); });
    }
    sim.start();
    if (args.link.kind === 'tcp') {
      const server = new TcpDeviceServer(args.link.host, args.link.port);
      const addr = await server.listen();
      server.on('client', (sock) => { log.info({ remote: `${String(sock.remoteAddress)}:${String(sock.remotePort)}` }, 'host connected'); sim.attach(sock); });
      closers.push(() => server.close());
      emit({ event: 'listening', protocol: 'draeger-medibus', tcp: `${addr.host}:${addr.port}`, host: addr.host, port: addr.port });
    } else {
      let devicePath: string;
      let hostPath: string | undefined;
      if (args.link.kind === 'pty') {
        const pair = await openPtyPair();
        closers.push(() => pair.close());
        devicePath = pair.devicePath;
        hostPath = pair.hostPath;
      } else devicePath = args.link.path;
      const serving = serveSerial(devicePath, sim, log);
      closers.unshift(() => serving.stop());
      await serving.opened;
      emit({ event: 'listening', protocol: 'draeger-medibus', ...(hostPath ? { hostPath } : {}), devicePath });
    }
    const why = await waitForStop(io.signal);
    log.info({ why, stats: sim.stats() }, 'stopping');
    return 0;
  } catch (e) {
    const err = e as SimError;
    log.error({ err, code: err.code }, 'simulator failed');
    process.stderr.write(`orlink sim: ${err.message}\n`);
    return 1;
  } finally {
    await sim.close();
    for (const c of closers) await c().catch(() => undefined);
    if (truth) await new Promise<void>((resolve) => truth!.end(() => resolve()));
    emit({ event: 'stopped', stats: sim.stats() });
  }
}
