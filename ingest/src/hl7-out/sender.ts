/**
 * Drains one endpoint's queue in order, one message at a time:
 *   AA / CA            → done (row deleted)
 *   AE / CE            → sent again after a backoff; dead after `maxAttempts` such answers
 *   AR / CR, other     → dead at once (the receiver refuses the message itself: resending it cannot help)
 *   no ACK, no connect → sent again after a backoff, without limit (an endpoint down for hours loses nothing)
 * The head stays in place until it is done or dead, so later messages never overtake it.
 */
import type { Logger } from 'pino';
import { backoffMs } from '../series/http-sender.js';
import { MllpClient, type MllpTarget } from './mllp-client.js';
import type { OutboundQueue, QueuedMessage } from './queue.js';

export interface SenderOptions {
  name: string;
  target: MllpTarget;
  ackTimeoutMs: number;
  maxAttempts: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** how often an idle sender looks for new rows (enqueue also wakes it) */
  idlePollMs: number;
  queue: OutboundQueue;
  logger: Logger;
  now?: () => number;
  onOutcome?: (o: 'acked' | 'retry' | 'dead' | 'transport', m: QueuedMessage) => void;
}

export class EndpointSender {
  private readonly client: MllpClient;
  private stopped = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private transportFailures = 0;
  readonly stats = { sent: 0, acked: 0, dead: 0, transportFailures: 0 };

  constructor(private readonly o: SenderOptions) {
    this.client = new MllpClient(o.target);
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** something was enqueued (or retried): look now */
  poke(): void {
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(
        () => {
          this.wake = null;
          resolve();
        },
        Math.max(0, ms),
      );
      this.wake = () => {
        clearTimeout(t);
        this.wake = null;
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    const now = this.o.now ?? Date.now;
    const q = this.o.queue;
    while (!this.stopped) {
      try {
        await this.step(now, q);
      } catch (err) {
        // a sqlite failure: logged, tried again after a pause (the row's state is whatever was committed)
        this.o.logger.error({ endpoint: this.o.name, err: (err as Error).message }, 'HL7 sender step failed');
        await this.sleep(this.o.retryMaxMs);
      }
    }
  }

  private async step(now: () => number, q: OutboundQueue): Promise<void> {
    const m = q.head(this.o.name);
    if (!m) {
      await this.sleep(this.o.idlePollMs);
      return;
    }
    if (m.nextAt > now()) {
      await this.sleep(Math.min(m.nextAt - now(), this.o.idlePollMs));
      return;
    }
    q.markSent(m.id);
    this.stats.sent++;
    let ack;
    try {
      ack = await this.client.send(m.message, m.controlId, this.o.ackTimeoutMs);
    } catch (err) {
      if (this.stopped) return;
      this.stats.transportFailures++;
      const delay = backoffMs(Math.min(this.transportFailures++, 10), this.o.retryMinMs, this.o.retryMaxMs);
      q.retryLater(m.id, now() + delay, (err as Error).message, false);
      if (this.transportFailures === 1 || this.transportFailures % 50 === 0) {
        this.o.logger.warn(
          { endpoint: this.o.name, err: (err as Error).message, failures: this.transportFailures, controlId: m.controlId },
          'HL7 endpoint unreachable or silent, will resend',
        );
      }
      this.o.onOutcome?.('transport', m);
      return;
    }
    if (this.transportFailures) this.o.logger.info({ endpoint: this.o.name, failures: this.transportFailures }, 'HL7 endpoint answering again');
    this.transportFailures = 0;
    const code = ack.code.toUpperCase();
    if (code === 'AA' || code === 'CA') {
      q.done(m, code);
      this.stats.acked++;
      this.o.onOutcome?.('acked', m);
    } else if ((code === 'AE' || code === 'CE') && m.attempts + 1 < this.o.maxAttempts) {
      const delay = backoffMs(Math.min(m.attempts, 10), this.o.retryMinMs, this.o.retryMaxMs);
      q.retryLater(m.id, now() + delay, `${code}: ${ack.text}`, true, code);
      this.o.logger.warn(
        { endpoint: this.o.name, ack: code, controlId: m.controlId, attempt: m.attempts + 1 },
        'HL7 endpoint answered with an error, will resend',
      );
      this.o.onOutcome?.('retry', m);
    } else {
      const why =
        code === 'AE' || code === 'CE'
          ? `${code} ${m.attempts + 1} times (hl7Out maxAttempts)`
          : code === 'AR' || code === 'CR'
            ? `${code}: rejected`
            : `unknown ACK code ${code || '(empty)'}`;
      q.dead(m.id, `${why}: ${ack.text}`, code || null);
      this.stats.dead++;
      this.o.logger.error({ endpoint: this.o.name, ack: code, controlId: m.controlId, kind: m.kind }, 'HL7 message dead-lettered');
      this.o.onOutcome?.('dead', m);
    }
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.client.close();
    this.wake?.();
    await this.loop;
  }
}
