/**
 * `orlink sim philips-intellivue (--lan [--port N] [--announce-port N] | --serial PATH | --pty) [options]`
 * Runs the simulated IntelliVue until SIGINT/SIGTERM (or the injected abort signal). Events for
 * scripts go to stdout as JSON lines ({"event":"listening",...}); logs (pino JSON) to stderr.
 * LAN binds and announces on 127.0.0.1 only.
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import type { SerialLinkOptions } from '../link/serial-link.js';
import type { RunIo } from '../main.js';
import { SerialMonitorLink, UdpMonitorServer } from './links.js';
import { IntelliVueMonitor } from './monitor.js';
import { runSimCli, serveChosenLink, type SimLinkChoice } from '../cli-common.js';

const INTELLIVUE_LINE: SerialLinkOptions = { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false };

export const USAGE = `usage: orlink sim philips-intellivue (--lan [--port N] [--announce-port N] | --serial PATH | --pty) [options]
  --port N                  UDP port on 127.0.0.1 (default 0 = any; a real monitor uses 24105)
  --announce-port N         send Connect Indications to 127.0.0.1:N every 10 s (real: 24005)
  --seed N                  physiology seed (default 1)
  --model NAME              model string in the MDS create event (default MX800; MP20 → M8000 family)
  --clock-offset-ms N       monitor clock minus true time
  --max-reply-bytes N       split poll replies into RORLS + RORS above this size (default 1200)
  --refuse                  refuse associations (data export disabled)
  --demo                    DEMO_DATA state on every value
  --alarm                   one standing HR HIGH alert
  --spo2-unavailable        SpO2 NaN + UNAVAILABLE
  --keep-alive-timeout-ms N abort an association idle this long
  --record-truth FILE       append what went on the wire as canonical NDJSON
  --data-dir DIR            play real PhysioNet recordings for the waves from DIR instead of the
                            built-in synthetic physiology (default: $ORLINK_PHYSIONET_DIR if set)
`;

export async function run(argv: string[], io: RunIo = {}): Promise<number> {
  const out = io.stdout ?? process.stdout;
  let v: Record<string, string | boolean | undefined>;
  try {
    ({ values: v } = parseArgs({
      args: argv.filter((a) => a !== 'philips-intellivue'),
      options: {
        lan: { type: 'boolean' },
        serial: { type: 'string' },
        pty: { type: 'boolean' },
        port: { type: 'string' },
        'announce-port': { type: 'string' },
        seed: { type: 'string' },
        model: { type: 'string' },
        'clock-offset-ms': { type: 'string' },
        'max-reply-bytes': { type: 'string' },
        refuse: { type: 'boolean' },
        demo: { type: 'boolean' },
        alarm: { type: 'boolean' },
        'spo2-unavailable': { type: 'boolean' },
        'keep-alive-timeout-ms': { type: 'string' },
        'record-truth': { type: 'string' },
        'data-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    process.stderr.write(`orlink sim: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (v.help) {
    out.write(USAGE);
    return 0;
  }
  const links = [v.lan, v.serial, v.pty].filter(Boolean).length;
  const num = (k: string): number | undefined => (v[k] === undefined ? undefined : Number(v[k]));
  const bad = ['port', 'announce-port', 'seed', 'clock-offset-ms', 'max-reply-bytes', 'keep-alive-timeout-ms'].filter(
    (k) => v[k] !== undefined && !Number.isInteger(num(k)),
  );
  if (links !== 1 || bad.length) {
    process.stderr.write(`orlink sim: ${links !== 1 ? 'give exactly one of --lan, --serial PATH, --pty' : `${bad.join(', ')} need integers`}\n${USAGE}`);
    return 2;
  }
  const log = (io.logger ?? pino(pino.destination(2))).child({ component: 'sim-philips-intellivue' });
  const emit = (o: object): void => {
    out.write(`${JSON.stringify(o)}\n`);
  };
  let monitor: IntelliVueMonitor;
  try {
    monitor = new IntelliVueMonitor({
      seed: num('seed') ?? 1,
      clockOffsetMs: num('clock-offset-ms') ?? 0,
      logger: log,
      maxReplyBytes: num('max-reply-bytes'),
      ...(typeof v.model === 'string' ? { model: v.model } : {}),
      ...(typeof v['data-dir'] === 'string' ? { dataDir: v['data-dir'] } : {}),
      faults: {
        refuse: !!v.refuse,
        demo: !!v.demo,
        alarm: !!v.alarm,
        spo2Unavailable: !!v['spo2-unavailable'],
        keepAliveTimeoutMs: num('keep-alive-timeout-ms'),
      },
    });
  } catch (e) {
    log.error({ err: e }, 'simulator failed');
    process.stderr.write(`orlink sim: ${(e as Error).message}\n`);
    return 1;
  }
  return runSimCli({
    protocol: 'philips-intellivue',
    io,
    log,
    recordTruth: typeof v['record-truth'] === 'string' ? v['record-truth'] : undefined,
    device: monitor,
    report: () => monitor.counters,
    reportKey: 'counters',
    serve: async (closers) => {
      if (v.lan) {
        const server = new UdpMonitorServer(monitor, {
          port: num('port') ?? 0,
          announcePort: num('announce-port'),
          model: typeof v.model === 'string' ? v.model : undefined,
        });
        const addr = await server.listen();
        closers.push(() => server.close());
        return { udp: `${addr.host}:${addr.port}`, host: addr.host, port: addr.port };
      }
      // MIB/RS-232 on a real port: 115200 8N1 (a pty ignores line settings)
      const link: SimLinkChoice = v.pty ? { kind: 'pty' } : { kind: 'serial', path: String(v.serial) };
      return serveChosenLink(link, new SerialMonitorLink(monitor), log, closers, INTELLIVUE_LINE);
    },
  });
}
