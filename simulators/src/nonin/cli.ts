/** `orlink sim nonin --format 2|7|8 (--serial PATH | --pty | --tcp HOST:PORT) [options]` */
import type { RunIo } from '../main.js';
import { runOxiCli } from '../masimo/oximeter-cli.js';
import { NONIN_FAULTS, NoninSimulator, noninFaultPreset } from './simulator.js';

export const NONIN_USAGE = `usage: orlink sim nonin --format 2|7|8 (--serial PATH | --pty | --tcp HOST:PORT) [options]
  --seed N              physiology and fault randomness (default 1)
  --fault NAME          garbage | checksum | missing | sensor-off (comma list or repeated)
  --record-truth FILE   append what went on the wire as canonical NDJSON
  --data-dir DIR        play the real PLETH of a103l (resampled to 75 Hz) and s00001 numerics from
                        DIR (default: $ORLINK_PHYSIONET_DIR if set, else the synthetic physiology)
  --synthetic-numerics  with --data-dir: keep the synthetic numerics
Format #2/#7: 75 frames/s; #8: 4 bytes/s. Answers the select-format command (ACK) and switches.
`;

export function run(argv: string[], io?: RunIo): Promise<number> {
  return runOxiCli(
    {
      name: 'nonin',
      deviceFlag: '--format',
      deviceValues: ['2', '7', '8'],
      faults: NONIN_FAULTS,
      usage: NONIN_USAGE,
      create: (a, log) =>
        new NoninSimulator({
          format: Number(a.device ?? '2') as 2 | 7 | 8,
          seed: a.seed,
          clockOffsetMs: a.clockOffsetMs,
          logger: log,
          faults: noninFaultPreset(a.faults),
          realNumerics: a.realNumerics,
          ...(a.dataDir ? { dataDir: a.dataDir } : {}),
        }),
    },
    argv,
    io,
  );
}
