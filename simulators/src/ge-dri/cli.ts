/**
 * `orlink sim <protocol> ...`: runs a device simulator on a serial port, a pty pair it creates,
 * or a TCP port, until SIGINT/SIGTERM (or the injected abort signal). Events for scripts go to
 * stdout as JSON lines ({"event":"listening",...}); logs (pino JSON) go to stderr.
 */
import type { WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { SIM_USAGE, parseSimArgs, type SimArgs } from '../cli-args.js';
import { SimError } from '../errors.js';
import { faultPreset } from './faults.js';
import { GeDriSimulator } from './simulator.js';
import type { Produced } from './truth.js';
import { openPtyPair } from '../link/pty.js';
import { loadScenario, type Scenario } from '../scenario.js';
import { serveSerial, type LinkServer } from '../serve-serial.js';
import { GeDriReplay, loadCapture } from './replay.js';
import { TcpDeviceServer } from '../link/tcp-link.js';

import type { RunIo } from '../main.js';
import { openTruthFile, waitForStop } from '../cli-common.js';


export async function run(argv: string[], io: RunIo = {}): Promise<number> {
  const out = io.stdout ?? process.stdout;
  let args: SimArgs;
  try { args = parseSimArgs(argv); } catch (e) {
    process.stderr.write(`orlink sim: ${(e as Error).message}\n${SIM_USAGE}`);
    return 2;
  }
  if (args.help) { out.write(SIM_USAGE); return 0; }
  const log = (io.logger ?? pino(pino.destination(2))).child({ component: 'sim-ge-dri' });
  const emit = (o: object): void => { out.write(`${JSON.stringify(o)}\n`); };
  let truth: WriteStream | undefined;
  const closers: (() => Promise<void>)[] = [];
  let scenario: Scenario = {};
  try { if (args.scenario) scenario = loadScenario(args.scenario); } catch (e) {
    process.stderr.write(`orlink sim: ${(e as Error).message}\n`);
    return 2;
  }
  const { realNumerics, trendStartMinute, ...physiology } = scenario;
  const sim = new GeDriSimulator({
    seed: args.seed, clockOffsetMs: args.clockOffsetMs, faults: faultPreset(args.faults), logger: log,
    realNumerics: realNumerics ?? args.realNumerics, physiology: { seed: args.seed, ...physiology },
    ...(trendStartMinute !== undefined ? { trendStartMinute } : {}),
    ...(args.dataDir ? { dataDir: args.dataDir } : {}), ...(args.driLevel ? { driLevel: args.driLevel } : {}),
  });
  try {
    if (args.recordTruth) {
      const ts = await openTruthFile(args.recordTruth);
      truth = ts.stream;
      sim.on('produced', (r: Produced) => { ts.write(r); });
    }
    sim.on('fault', (f: object) => log.info({ fault: f }, 'fault injected'));
    const device: LinkServer & { start(): void; close(): Promise<void> } = args.replay
      ? new GeDriReplay(loadCapture(args.replay), { clockOffsetMs: args.clockOffsetMs })
      : sim;
    closers.push(() => device.close());
    device.start();
    if (args.link.kind === 'tcp') {
      const server = new TcpDeviceServer(args.link.host, args.link.port);
      const addr = await server.listen();
      server.on('client', (sock) => { log.info({ remote: `${String(sock.remoteAddress)}:${String(sock.remotePort)}` }, 'host connected'); device.attach(sock); });
      closers.push(() => server.close());
      emit({ event: 'listening', protocol: args.protocol, tcp: `${addr.host}:${addr.port}`, host: addr.host, port: addr.port });
    } else {
      let devicePath: string;
      if (args.link.kind === 'pty') {
        const pair = await openPtyPair();
        closers.push(() => pair.close());
        devicePath = pair.devicePath;
        const serving = serveSerial(devicePath, device, log);
        closers.unshift(() => serving.stop());
        await serving.opened;
        emit({ event: 'listening', protocol: args.protocol, hostPath: pair.hostPath, devicePath });
      } else {
        devicePath = args.link.path;
        const serving = serveSerial(devicePath, device, log);
        closers.unshift(() => serving.stop());
        await serving.opened;
        emit({ event: 'listening', protocol: args.protocol, devicePath });
      }
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
