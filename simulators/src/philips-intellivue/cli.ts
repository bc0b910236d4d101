/**
 * `orlink sim philips-intellivue (--lan [--port N] [--announce-port N] | --serial PATH | --pty) [options]`
 * Runs the simulated IntelliVue until SIGINT/SIGTERM (or the injected abort signal). Events for
 * scripts go to stdout as JSON lines ({"event":"listening",...}); logs (pino JSON) to stderr.
 * LAN binds and announces on 127.0.0.1 only.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { openPtyPair } from '../link/pty.js';
import type { RunIo } from '../main.js';
import { serveSerial } from '../serve-serial.js';
import { SerialMonitorLink, UdpMonitorServer } from './links.js';
import { IntelliVueMonitor } from './monitor.js';
import type { Produced } from './truth.js';
import { waitForStop } from '../cli-common.js';

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
`;


export async function run(argv: string[], io: RunIo = {}): Promise<number> {
  const out = io.stdout ?? process.stdout;
  let v: Record<string, string | boolean | undefined>;
  try {
    ({ values: v } = parseArgs({ args: argv.filter((a) => a !== 'philips-intellivue'), options: {
      lan: { type: 'boolean' }, serial: { type: 'string' }, pty: { type: 'boolean' }, port: { type: 'string' }, 'announce-port': { type: 'string' },
      seed: { type: 'string' }, model: { type: 'string' }, 'clock-offset-ms': { type: 'string' }, 'max-reply-bytes': { type: 'string' },
      refuse: { type: 'boolean' }, demo: { type: 'boolean' }, alarm: { type: 'boolean' }, 'spo2-unavailable': { type: 'boolean' },
      'keep-alive-timeout-ms': { type: 'string' }, 'record-truth': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    } }));
  } catch (e) {
    process.stderr.write(`orlink sim: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (v.help) { out.write(USAGE); return 0; }
  const links = [v.lan, v.serial, v.pty].filter(Boolean).length;
  const num = (k: string): number | undefined => (v[k] === undefined ? undefined : Number(v[k]));
  const bad = ['port', 'announce-port', 'seed', 'clock-offset-ms', 'max-reply-bytes', 'keep-alive-timeout-ms'].filter((k) => v[k] !== undefined && !Number.isInteger(num(k)));
  if (links !== 1 || bad.length) {
    process.stderr.write(`orlink sim: ${links !== 1 ? 'give exactly one of --lan, --serial PATH, --pty' : `${bad.join(', ')} need integers`}\n${USAGE}`);
    return 2;
  }
  const log = (io.logger ?? pino(pino.destination(2))).child({ component: 'sim-philips-intellivue' });
  const emit = (o: object): void => { out.write(`${JSON.stringify(o)}\n`); };
  const monitor = new IntelliVueMonitor({
    seed: num('seed') ?? 1, clockOffsetMs: num('clock-offset-ms') ?? 0, logger: log, maxReplyBytes: num('max-reply-bytes'),
    ...(typeof v.model === 'string' ? { model: v.model } : {}),
    faults: { refuse: !!v.refuse, demo: !!v.demo, alarm: !!v.alarm, spo2Unavailable: !!v['spo2-unavailable'], keepAliveTimeoutMs: num('keep-alive-timeout-ms') },
  });
  const closers: (() => Promise<void>)[] = [];
  let truth: WriteStream | undefined;
  try {
    if (typeof v['record-truth'] === 'string') {
      const ts = createWriteStream(v['record-truth'], { flags: 'a' });
      truth = ts;
      await new Promise<void>((resolve, reject) => { ts.once('open', () => resolve()); ts.once('error', reject); });
      monitor.on('produced', (r: Produced) => { ts.write(`${JSON.stringify(r)}\n`); });
    }
    if (v.lan) {
      const server = new UdpMonitorServer(monitor, { port: num('port') ?? 0, announcePort: num('announce-port'), model: typeof v.model === 'string' ? v.model : undefined });
      const addr = await server.listen();
      closers.push(() => server.close());
      emit({ event: 'listening', protocol: 'philips-intellivue', udp: `${addr.host}:${addr.port}`, host: addr.host, port: addr.port });
    } else {
      const link = new SerialMonitorLink(monitor);
      let devicePath = typeof v.serial === 'string' ? v.serial : '';
      let hostPath: string | undefined;
      if (v.pty) {
        const pair = await openPtyPair();
        closers.push(() => pair.close());
        devicePath = pair.devicePath;
        hostPath = pair.hostPath;
      }
      const serving = serveSerial(devicePath, link, log);
      closers.unshift(() => serving.stop());
      await serving.opened;
      emit({ event: 'listening', protocol: 'philips-intellivue', devicePath, ...(hostPath ? { hostPath } : {}) });
    }
    const why = await waitForStop(io.signal);
    log.info({ why, counters: monitor.counters }, 'stopping');
    return 0;
  } catch (e) {
    log.error({ err: e }, 'simulator failed');
    process.stderr.write(`orlink sim: ${(e as Error).message}\n`);
    return 1;
  } finally {
    monitor.close();
    for (const c of closers) await c().catch(() => undefined);
    if (truth) await new Promise<void>((resolve) => truth!.end(() => resolve()));
    emit({ event: 'stopped', counters: monitor.counters });
  }
}
