/** `orlink sim masimo --model radical7|rad8|radical5|root (--serial PATH | --pty | --tcp HOST:PORT) [options]` */
import type { RunIo } from '../main.js';
import { MASIMO_MODELS, type MasimoModel } from './models.js';
import { runOxiCli } from './oximeter-cli.js';
import { MASIMO_FAULTS, MasimoSimulator, masimoFaultPreset } from './simulator.js';

export const MASIMO_USAGE = `usage: orlink sim masimo --model radical7|rad8|radical5|root (--serial PATH | --pty | --tcp HOST:PORT) [options]
  --seed N              physiology and fault randomness (default 1)
  --clock-offset-ms N   device clock minus true time (default 0)
  --fault NAME          garbage | dashes | sensor-off (comma list or repeated)
  --record-truth FILE   append what went on the wire as canonical NDJSON
  --data-dir DIR        drive SpO2/pulse rate with the real s00001 numerics from DIR
                        (default: $ORLINK_PHYSIONET_DIR if set, else the synthetic physiology)
  --synthetic-numerics  with --data-dir: keep the synthetic numerics
ASCII 1 lines at 9600 8N1, one per second. With --pty it prints {"event":"listening","hostPath":...}.
`;

export function run(argv: string[], io?: RunIo): Promise<number> {
  return runOxiCli(
    {
      name: 'masimo',
      deviceFlag: '--model',
      deviceValues: MASIMO_MODELS,
      faults: MASIMO_FAULTS,
      usage: MASIMO_USAGE,
      create: (a, log) =>
        new MasimoSimulator({
          model: (a.device ?? 'radical7') as MasimoModel,
          seed: a.seed,
          clockOffsetMs: a.clockOffsetMs,
          logger: log,
          faults: masimoFaultPreset(a.faults),
          realNumerics: a.realNumerics,
          ...(a.dataDir ? { dataDir: a.dataDir } : {}),
        }),
    },
    argv,
    io,
  );
}
