/**
 * `orlink sim <protocol> ...`: dispatches to the simulator of that protocol. Each simulator folder
 * has a `cli.ts` exporting `run(argv, io)`, which receives the whole argv (protocol name included).
 * A new simulator adds one line here.
 */
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';

export interface RunIo {
  stdout?: Writable;
  signal?: AbortSignal;
  logger?: Logger;
}

type SimCli = { run(argv: string[], io?: RunIo): Promise<number> };

const SIMULATORS: Record<string, () => Promise<SimCli>> = {
  'ge-dri': () => import('./ge-dri/cli.js'),
  'draeger-medibus': () => import('./draeger-medibus/cli.js'),
  'philips-intellivue': () => import('./philips-intellivue/cli.js'),
  'hl7-mllp': () => import('./hl7-mllp/cli.js'),
  masimo: () => import('./masimo/cli.js'),
  nonin: () => import('./nonin/cli.js'),
};

export function simulatorNames(): string[] {
  return Object.keys(SIMULATORS).sort();
}

export async function run(argv: string[], io: RunIo = {}): Promise<number> {
  const name = argv.find((a) => !a.startsWith('-'));
  if (!name) {
    const help = argv.includes('--help') || argv.includes('-h');
    (help ? (io.stdout ?? process.stdout) : process.stderr).write(`usage: orlink sim <${simulatorNames().join('|')}> [options]  (orlink sim <name> --help)\n`);
    return help ? 0 : 2;
  }
  const load = SIMULATORS[name];
  if (!load) {
    process.stderr.write(`orlink sim: unknown simulator '${name}' (available: ${simulatorNames().join(', ')})\n`);
    return 2;
  }
  return (await load()).run(argv, io);
}
