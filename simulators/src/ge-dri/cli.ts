/**
 * `orlink sim <protocol> ...`: runs a device simulator on a serial port, a pty pair it creates,
 * or a TCP port, until SIGINT/SIGTERM (or the injected abort signal). Events for scripts go to
 * stdout as JSON lines ({"event":"listening",...}); logs (pino JSON) go to stderr.
 */
import pino from 'pino';
import { SIM_USAGE, parseSimArgs, type SimArgs } from '../cli-args.js';
import { faultPreset } from './faults.js';
import { GeDriSimulator } from './simulator.js';
import { loadScenario, type Scenario } from '../scenario.js';
import type { LinkServer } from '../serve-serial.js';
import { GeDriReplay, loadCapture } from './replay.js';
import type { RunIo } from '../main.js';
import { runSimCli, serveChosenLink } from '../cli-common.js';

export async function run(argv: string[], io: RunIo = {}): Promise<number> {
  const out = io.stdout ?? process.stdout;
  let args: SimArgs;
  try {
    args = parseSimArgs(argv);
  } catch (e) {
    process.stderr.write(`orlink sim: ${(e as Error).message}\n${SIM_USAGE}`);
    return 2;
  }
  if (args.help) {
    out.write(SIM_USAGE);
    return 0;
  }
  const log = (io.logger ?? pino(pino.destination(2))).child({ component: 'sim-ge-dri' });
  let scenario: Scenario = {};
  try {
    if (args.scenario) scenario = loadScenario(args.scenario);
  } catch (e) {
    process.stderr.write(`orlink sim: ${(e as Error).message}\n`);
    return 2;
  }
  const { realNumerics, trendStartMinute, ...physiology } = scenario;
  const sim = new GeDriSimulator({
    seed: args.seed,
    clockOffsetMs: args.clockOffsetMs,
    faults: faultPreset(args.faults),
    logger: log,
    realNumerics: realNumerics ?? args.realNumerics,
    physiology: { seed: args.seed, ...physiology },
    ...(trendStartMinute !== undefined ? { trendStartMinute } : {}),
    ...(args.dataDir ? { dataDir: args.dataDir } : {}),
    ...(args.driLevel ? { driLevel: args.driLevel } : {}),
  });
  sim.on('fault', (f: object) => log.info({ fault: f }, 'fault injected'));
  // a replay serves the captured bytes instead of the simulator (which then stays idle, no truth)
  let replay: GeDriReplay | undefined;
  try {
    if (args.replay) replay = new GeDriReplay(loadCapture(args.replay), { clockOffsetMs: args.clockOffsetMs });
  } catch (e) {
    log.error({ err: e }, 'simulator failed');
    process.stderr.write(`orlink sim: ${(e as Error).message}\n`);
    return 1;
  }
  const served: LinkServer = replay ?? sim;
  return runSimCli({
    protocol: args.protocol,
    io,
    log,
    recordTruth: args.recordTruth,
    device: {
      on: (ev, fn) => sim.on(ev, fn),
      start: () => (replay ?? sim).start(),
      close: async () => {
        await replay?.close();
        await sim.close();
      },
    },
    serve: (closers) => serveChosenLink(args.link, served, log, closers),
    report: () => sim.stats(),
  });
}
