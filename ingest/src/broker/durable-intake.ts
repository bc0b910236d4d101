/**
 * Durable intake for the embedded broker: the broker hands a gateway's `.../data` publish here
 * from aedes' `authorizePublish` hook and writes the PUBACK only when `submit()` resolves true,
 * i.e. after the envelope was decoded, deduped and stored (or dead-lettered as poison, or found
 * to be a duplicate). aedes (lib/handlers/publish.js) runs `authorizePublish` before it writes the
 * PUBACK, and it reads the client's socket again only after every packet of the current chunk was
 * handled, so a held callback is also TCP backpressure towards that gateway.
 *
 * Submissions are batched (whatever arrived in the same turn of the event loop, at most
 * `batchMaxEnvelopes` and `batchMaxBytes` of payload, at least one) and go through the same
 * `BatchProcessor` the external-broker subscriber uses. Each submission has a lane (the broker passes
 * the gateway id): a lane is in at most one batch at a time and its messages are taken in order, so
 * a resend that arrives while the first copy is still being retried is seen as a duplicate once that
 * copy is stored — never written twice. Up to `concurrency` batches run at once and lanes are served
 * round-robin, so one gateway's large envelope (or long backlog) does not hold every other gateway's
 * PUBACK behind it (docs/security.md "Broker limits").
 * close() aborts the retry loop: pending submissions resolve false (no PUBACK; the gateway keeps
 * them in its outbox and resends after reconnecting).
 */
import type { Logger } from 'pino';
import type { BatchProcessor, InMessage, VitalsMessage } from '../mqtt/processor.js';

export interface DurableIntakeOptions {
  processor: BatchProcessor;
  batchMaxEnvelopes: number;
  /** payload bytes per batch (default unlimited); a batch always takes at least one message */
  batchMaxBytes?: number;
  /** batches processed at once (default 1) */
  concurrency?: number;
  logger: Logger;
  /** called with the vitals of every stored batch (the broker publishes them) */
  onVitals?: (vitals: VitalsMessage[]) => void;
}

interface Waiting extends InMessage {
  resolve: (stored: boolean) => void;
  alive?: () => boolean;
  lane: string;
}

export class DurableIntake {
  /** waiting messages per lane; Map order is the round-robin order */
  private readonly lanes = new Map<string, Waiting[]>();
  /** lanes in a batch being processed */
  private readonly busy = new Set<string>();
  /** the batches being processed (out of the lanes) */
  private readonly current = new Set<Waiting[]>();
  private readonly running = new Set<Promise<void>>();
  private scheduled = false;
  private readonly abort = new AbortController();
  private closing: Promise<void> | null = null;
  /** counters for tests and /metrics */
  readonly stats = { submitted: 0, acked: 0, refused: 0, batches: 0, abandoned: 0 };

  constructor(private readonly o: DurableIntakeOptions) {}

  /** messages received and not yet answered */
  get pending(): number {
    let n = 0;
    for (const q of this.lanes.values()) n += q.length;
    for (const b of this.current) n += b.length;
    return n;
  }

  /**
   * resolves true once the message may be acknowledged, false when it must not be (shutting down,
   * or `alive()` turned false before processing began: its connection is gone, nobody waits for a
   * PUBACK, the publisher resends on its new connection; this bounds the queue during outages).
   * `lane` (default: the topic): messages of one lane are processed in order, one batch at a time.
   */
  submit(topic: string, payload: Uint8Array, alive?: () => boolean, lane: string = topic): Promise<boolean> {
    if (this.abort.signal.aborted) return Promise.resolve(false);
    this.stats.submitted++;
    this.prune();
    return new Promise<boolean>((resolve) => {
      let q = this.lanes.get(lane);
      if (!q) this.lanes.set(lane, (q = []));
      q.push({ topic, payload, resolve, lane, ...(alive ? { alive } : {}) });
      this.kick();
    });
  }

  /** answers queued messages whose connection is gone (not the batches being processed) */
  private prune(): void {
    for (const [lane, q] of this.lanes) {
      for (let i = q.length - 1; i >= 0; i--) {
        const m = q[i];
        if (m.alive && !m.alive()) {
          q.splice(i, 1);
          this.stats.abandoned++;
          m.resolve(false);
        }
      }
      if (!q.length) this.lanes.delete(lane);
    }
  }

  private kick(): void {
    if (this.scheduled || this.abort.signal.aborted) return;
    // wait for the rest of the socket chunk (aedes hands its packets over in the same turn)
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.startBatches();
    });
  }

  private startBatches(): void {
    while (!this.abort.signal.aborted && this.running.size < (this.o.concurrency ?? 1)) {
      this.prune();
      const batch = this.takeBatch();
      if (!batch.length) return;
      const run: Promise<void> = this.runBatch(batch).finally(() => {
        this.running.delete(run);
        if (this.lanes.size && !this.abort.signal.aborted) this.startBatches();
      });
      this.running.add(run);
    }
  }

  /** round-robin over the lanes that are not busy: one message per lane per round, within the budgets */
  private takeBatch(): Waiting[] {
    const batch: Waiting[] = [];
    const maxBytes = this.o.batchMaxBytes ?? Infinity;
    let bytes = 0;
    const served: string[] = [];
    for (let progress = true; progress && batch.length < this.o.batchMaxEnvelopes;) {
      progress = false;
      for (const [lane, q] of this.lanes) {
        if (this.busy.has(lane) && !served.includes(lane)) continue;
        if (batch.length >= this.o.batchMaxEnvelopes) break;
        const next = q[0];
        if (batch.length && bytes + next.payload.length > maxBytes) continue;
        q.shift();
        batch.push(next);
        bytes += next.payload.length;
        progress = true;
        if (!served.includes(lane)) {
          served.push(lane);
          this.busy.add(lane);
        }
        if (!q.length) this.lanes.delete(lane);
      }
    }
    // lanes served go to the back of the round-robin order
    for (const lane of served) {
      const q = this.lanes.get(lane);
      if (q) {
        this.lanes.delete(lane);
        this.lanes.set(lane, q);
      }
    }
    return batch;
  }

  private async runBatch(batch: Waiting[]): Promise<void> {
    this.current.add(batch);
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
    for (const m of batch) this.busy.delete(m.lane);
    if (!this.current.delete(batch)) return; // close() answered the batch already
    this.stats.batches++;
    batch.forEach((m, i) => {
      if (ack[i]) this.stats.acked++;
      else this.stats.refused++;
      m.resolve(ack[i] === true);
    });
    if (vitals.length && this.o.onVitals) {
      try {
        this.o.onVitals(vitals);
      } catch (err) {
        this.o.logger.warn({ err }, 'vitals publish failed');
      }
    }
  }

  /** aborts retries; everything not yet stored is answered false (no PUBACK). Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        this.abort.abort();
        // answer at once (no PUBACK), then wait for the aborted writes to return
        const all = [...this.current].flat().concat([...this.lanes.values()].flat());
        this.current.clear();
        this.lanes.clear();
        for (const m of all) {
          this.stats.refused++;
          m.resolve(false);
        }
        await Promise.all(this.running);
      })();
    }
    return this.closing;
  }
}
