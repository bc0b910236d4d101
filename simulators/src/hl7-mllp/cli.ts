/**
 * `orlink sim hl7-mllp --client HOST:PORT | --server PORT [--vendor ge-b40|mindray|mindray-pds|comen|pcd01]
 *  [--seed N] [--interval-ms N] [--sentinel-every N] [--bed PV1-3] [--udp-announce PORT] [--count N]
 *  [--record-truth FILE] [--tls-ca FILE [--tls-cert FILE --tls-key FILE]]`. Events on stdout as JSON lines; runs until SIGINT/SIGTERM or --count.
 */
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import pino from 'pino';
import type { RunIo } from '../main.js';
import { Hl7Monitor } from './simulator.js';
import { VENDOR_NAMES, vendorFor } from './vendors.js';

export const USAGE = `usage: orlink sim hl7-mllp (--client HOST:PORT | --server PORT) [options]
  --vendor NAME         ${VENDOR_NAMES.join(' | ')} (default ge-b40; mindray + --server = mindray-pds)
  --seed N              physiology seed (default 1)
  --interval-ms N       one ORU^R01 per N ms (default 1000)
  --sentinel-every N    every Nth message carries the vendor's sentinel (default 5, 0 = never)
  --bed PV1-3           point of care in PV1-3 (default OR1^^BED1)
  --udp-announce PORT   server role: announce on UDP 127.0.0.1:PORT (Mindray PDS discovery)
  --count N             stop after N messages
  --record-truth FILE   write what went on the wire as canonical NDJSON
  --tls-ca FILE         client role: MLLP over TLS, trusting this CA (PEM) for the gateway's certificate
  --tls-cert FILE       with --tls-key: the monitor's client certificate (PEM), when the gateway asks for one
  --tls-key FILE
`;

interface Args {
  client?: { host: string; port: number };
  server?: number;
  vendor: string;
  seed: number;
  intervalMs: number;
  sentinelEvery: number;
  bed?: string;
  udp?: number;
  count: number;
  truth?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  help: boolean;
}

export function parseArgs(argv: string[]): Args {
  const a: Args = { vendor: 'ge-b40', seed: 1, intervalMs: 1000, sentinelEvery: 5, count: 0, help: false };
  const errors: string[] = [];
  const int = (name: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < 0) errors.push(`${name} needs a non-negative integer`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const next = () => argv[++i];
    switch (k) {
      case 'hl7-mllp':
        break;
      case '--help':
      case '-h':
        a.help = true;
        break;
      case '--client': {
        const m = /^(.*):(\d+)$/.exec(next() ?? '');
        if (!m) errors.push('--client needs HOST:PORT');
        else a.client = { host: m[1] || '127.0.0.1', port: Number(m[2]) };
        break;
      }
      case '--server':
        a.server = int(k, next());
        break;
      case '--vendor':
        a.vendor = next() ?? '';
        break;
      case '--seed':
        a.seed = int(k, next());
        break;
      case '--interval-ms':
        a.intervalMs = int(k, next());
        break;
      case '--sentinel-every':
        a.sentinelEvery = int(k, next());
        break;
      case '--bed':
        a.bed = next();
        break;
      case '--udp-announce':
        a.udp = int(k, next());
        break;
      case '--count':
        a.count = int(k, next());
        break;
      case '--record-truth':
        a.truth = next();
        break;
      case '--tls-ca':
        a.tlsCa = next();
        break;
      case '--tls-cert':
        a.tlsCert = next();
        break;
      case '--tls-key':
        a.tlsKey = next();
        break;
      default:
        errors.push(`unknown option '${k}'`);
    }
  }
  if (!a.help && (a.client === undefined) === (a.server === undefined)) errors.push('give exactly one of --client HOST:PORT or --server PORT');
  if ((a.tlsCa || a.tlsCert || a.tlsKey) && !a.client) errors.push('--tls-* need the client role (--client)');
  if ((a.tlsCert === undefined) !== (a.tlsKey === undefined)) errors.push('--tls-cert and --tls-key go together');
  if (a.tlsCert && !a.tlsCa) errors.push('--tls-cert needs --tls-ca');
  if (a.intervalMs !== undefined && a.intervalMs < 100) errors.push('--interval-ms must be >= 100');
  if (!vendorFor(a.vendor, a.server !== undefined ? 'server' : 'client')) errors.push(`unknown vendor '${a.vendor}'`);
  if (errors.length) throw new Error(errors.join('; '));
  return a;
}

export async function run(argv: string[], io: RunIo = {}): Promise<number> {
  const out = io.stdout ?? process.stdout;
  let a: Args;
  try {
    a = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`orlink sim hl7-mllp: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (a.help) {
    out.write(USAGE);
    return 0;
  }
  const style = vendorFor(a.vendor, a.server !== undefined ? 'server' : 'client')!;
  const log = (io.logger ?? pino(pino.destination(2))).child({ component: 'sim-hl7-mllp', vendor: style.name });
  const emit = (o: object): void => {
    out.write(`${JSON.stringify(o)}\n`);
  };
  let tls: { ca: Buffer; cert?: Buffer; key?: Buffer } | undefined;
  try {
    if (a.tlsCa) tls = { ca: readFileSync(a.tlsCa), ...(a.tlsCert && a.tlsKey ? { cert: readFileSync(a.tlsCert), key: readFileSync(a.tlsKey) } : {}) };
  } catch (e) {
    process.stderr.write(`orlink sim hl7-mllp: cannot read a TLS file: ${(e as Error).message}\n`);
    return 2;
  }
  const mon = new Hl7Monitor({
    style,
    physiology: { seed: a.seed },
    intervalMs: a.intervalMs,
    sentinelEvery: a.sentinelEvery,
    count: a.count,
    logger: log,
    ...(a.bed ? { bed: a.bed } : {}),
    ...(tls ? { tls } : {}),
  });
  let truth: WriteStream | undefined;
  if (a.truth) {
    const ts = createWriteStream(a.truth, { flags: 'a' });
    truth = ts;
    mon.on('produced', (p: object) => ts.write(`${JSON.stringify(p)}\n`));
  }
  mon.on('ack', (ack: { code: string }) => {
    if (ack.code !== 'AA' && ack.code !== 'CA') log.warn({ ack }, 'negative acknowledgment');
  });
  try {
    if (a.client) {
      await mon.connect(a.client.host, a.client.port);
      emit({ event: 'connecting', protocol: 'hl7-mllp', vendor: style.name, profile: style.profile, to: `${a.client.host}:${a.client.port}` });
    } else {
      const port = await mon.listen(a.server!);
      if (a.udp) mon.announce(a.udp, port);
      emit({ event: 'listening', protocol: 'hl7-mllp', vendor: style.name, profile: style.profile, host: '127.0.0.1', port });
    }
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        io.signal?.removeEventListener('abort', stop);
        mon.off('done', stop);
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      io.signal?.addEventListener('abort', stop);
      mon.once('done', stop);
      if (io.signal?.aborted) stop();
    });
  } catch (e) {
    log.error({ err: e }, 'simulator failed');
    return 1;
  } finally {
    await mon.close();
    emit({ event: 'stopped', stats: mon.stats });
    if (truth) await new Promise<void>((r) => truth!.end(() => r()));
  }
  return 0;
}
