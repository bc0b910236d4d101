/**
 * Test-only fault injection into the stack start-up (cli/stack.ts), so that a test can prove that a
 * failure half-way leaves no process behind. Off unless the environment says otherwise:
 *
 *   ORLINK_FAIL_AT=<stage>[:<n>][:uncaught|:hold]
 *
 * fails the n-th time (default the first) start-up passes <stage>. Plain: start-up throws
 * CLI_ERR_INJECTED there (a start-up error). `uncaught`: the error is thrown from a fresh event-loop
 * turn instead, as a crashing simulator or socket handler would, and start-up goes on (an
 * uncaughtException). `hold`: start-up waits there (at most 60 s, or until everything is stopping), so that a
 * test can deliver a signal at a known point of start-up instead of racing it. Stages, in the order start-up passes them:
 *   influxd   InfluxDB is up (its process started)
 *   ingest    ingest (in-process, with the embedded broker) is up
 *   pty       an OR's pty pair is open (its socat started)                 once per OR
 *   sim       that OR's simulator serves the device side of the pty        once per OR
 *   gateway   that OR's gateway started (in-process, or its child process) once per OR
 *   ready     the whole stack is up
 */
import { CLI_ERR, CliError } from './errors.js';

export const FAIL_STAGES = ['influxd', 'ingest', 'pty', 'sim', 'gateway', 'ready'] as const;
export type FailStage = (typeof FAIL_STAGES)[number];

export class FailAt {
  private passes = 0;

  private constructor(
    private readonly stage: FailStage,
    private readonly nth: number,
    private readonly mode: 'throw' | 'uncaught' | 'hold',
  ) {}

  /** The injection ORLINK_FAIL_AT asks for (null when it is unset); a malformed value throws. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): FailAt | null {
    const spec = env.ORLINK_FAIL_AT;
    if (!spec) return null;
    const [stage, ...rest] = spec.split(':');
    const mode = rest.at(-1) === 'uncaught' || rest.at(-1) === 'hold' ? (rest.pop() as 'uncaught' | 'hold') : 'throw';
    const nth = rest.length ? Number(rest[0]) : 1;
    if (!(FAIL_STAGES as readonly string[]).includes(stage) || rest.length > 1 || !Number.isInteger(nth) || nth < 1) {
      throw new CliError(CLI_ERR.INJECTED, `ORLINK_FAIL_AT='${spec}': expected <stage>[:<n>][:uncaught|:hold], stage one of ${FAIL_STAGES.join(', ')}`);
    }
    return new FailAt(stage as FailStage, nth, mode);
  }

  /**
   * Start-up passes `stage`: fail here if this is the pass the environment named; with `hold`, wait here
   * until `stopping()` says everything is stopping (or 60 s).
   */
  async pass(stage: FailStage, stopping: () => boolean = () => false): Promise<void> {
    if (stage !== this.stage || ++this.passes !== this.nth) return;
    if (this.mode === 'hold') {
      const end = Date.now() + 60_000;
      while (!stopping() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      return;
    }
    const err = new CliError(CLI_ERR.INJECTED, `injected failure at stage '${stage}' (pass ${this.nth}, ORLINK_FAIL_AT)`);
    if (this.mode === 'throw') throw err;
    setImmediate(() => {
      throw err;
    });
  }
}
