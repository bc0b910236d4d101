/**
 * Durable intake for the embedded broker: the broker hands a gateway's `.../data` publish here
 * from aedes' `authorizePublish` hook and writes the PUBACK only when `submit()` resolves true,
 * i.e. after the envelope was decoded, deduped and stored (or dead-lettered as poison, or found
 * to be a duplicate). aedes (lib/handlers/publish.js) runs `authorizePublish` before it writes the
 * PUBACK, and it reads the client's socket again only after every packet of the current chunk was
 * handled, so a held callback is also TCP backpressure towards that gateway.
 *
 * Submissions are batched (whatever arrived in the same turn of the event loop, at most
 * `batchMaxEnvelopes`) and batches run strictly one after another through the same
 * `BatchProcessor` the external-broker subscriber uses, so a resend that arrives while the first
 * copy is still being retried is seen as a duplicate once that copy is stored: never written twice.
 * close() aborts the retry loop: pending submissions resolve false (no PUBACK; the gateway keeps
 * them in its outbox and resends after reconnecting).
 */
import type { Logger } from 'pino';
import type { BatchProcessor, InMessage, VitalsMessage } from '../mqtt/processor.js';

export interface DurableIntakeOptions {
  processor: BatchProcessor;
  batchMaxEnvelopes: number;
  logger: Logger;
  /** called with the vitals of every stored batch (the broker publishes them) */
  onVitals?: (vitals: VitalsMessage[]) => void;
}

interface Waiting extends InMessage { resolve: (stored: boolean) => void; alive?: () => boolean }

export class DurableIntake {
  private readonly queue: Waiting[] = [];
  /** the batch being processed (out of the queue) */
  private current: Waiting[] = [];
  private draining: Promise<void> | null = null;
  private scheduled = false;
  private readonly abort = new AbortController();
  private closing: Promise<void> | null = null;
  /** counters for tests and /metrics */
  readonly stats = { submitted: 0, acked: 0, refused: 0, batches: 0, abandoned: 0 };

  constructor(private readonly o: DurableIntakeOptions) {}

  /** messages received and not yet answered */
  get pending(): number { return this.queue.length + this.current.length; }

  /**
   * resolves true once the message may be acknowledged, false when it must not be (shutting down,
   * or `alive()` turned false before processing began: its connection is gone, nobody waits for a
   * PUBACK, the publisher resends on its new connection; this bounds the queue during outages).
   */
  submit(topic: string, payload: Uint8Array, alive?: () => boolean): Promise<boolean> {
    if (this.abort.signal.aborted) return Promise.resolve(false);
    this.stats.submitted++;
    this.prune();
    return new Promise<boolean>((resolve) => {
      this.queue.push({ topic, payload, resolve, ...(alive ? { alive } : {}) });
      this.kick();
    });
  }

  /** answers queued messages whose connection is gone (not the batch being processed) */
  private prune(): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const m = this.queue[i];
      if (m.alive && !m.alive()) { this.queue.splice(i, 1); this.stats.abandoned++; m.resolve(false); }
    }
  }

  private kick(): void {
    if (this.draining || this.scheduled || this.abort.signal.aborted) return;
    // wait for the rest of the socket chunk (aedes hands its packets over in the same turn)
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.draining || this.abort.signal.aborted) return;
      this.draining = this.drain().finally(() => {
        this.draining = null;
        if (this.queue.length && !this.abort.signal.aborted) this.kick();
      });
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length && !this.abort.signal.aborted) {
      this.prune();
      if (!this.queue.length) return;
      const batch = this.queue.splice(0, this.o.batchMaxEnvelopes);
      this.current = batch;
      let ack: boolean[];
      let vitals: VitalsMessage[] = [];
      try {
        const out = await this.o.processor.process(batch, this.abort.signal);
        ack = out.ack;
        vitals = out.vitals;
      } catch (err) {
        // a processor bug must not stall the queue: no PUBACK, the gateway resends later
        this.o.logger.error({ err }, 'intake batch failed');
        ack = batch.map(() => false);
      }
      if (this.abort.signal.aborted) return; // close() answers the whole queue and the batch
      this.current = [];
      this.stats.batches++;
      batch.forEach((m, i) => {
        if (ack[i]) this.stats.acked++;
        else this.stats.refused++;
        m.resolve(ack[i] === true);
      });
      if (vitals.length && this.o.onVitals) {
        try { this.o.onVitals(vitals); } catch (err) { this.o.logger.warn({ err }, 'vitals publish failed'); }
      }
    }
  }

  /** aborts retries; everything not yet stored is answered false (no PUBACK). Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        this.abort.abort();
        // answer at once (no PUBACK), then wait for the aborted write to return
        for (const m of [...this.current.splice(0), ...this.queue.splice(0)]) { this.stats.refused++; m.resolve(false); }
        await this.draining;
      })();
    }
    return this.closing;
  }
}
