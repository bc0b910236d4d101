/**
 * In-memory outbox: same contract as the file outbox (seq from the outbox, ack on PUBACK, byte
 * bound with drop-oldest accounting) without durability. For tests and `outbox.kind: memory`.
 */
import { GatewayError, GW_ERR } from '../errors.js';
import {
  ChangeListeners,
  emptyStats,
  type AppendOptions,
  type Outbox,
  type OutboxDepth,
  type OutboxRecord,
  type OutboxStats,
  type PayloadSource,
} from './outbox.js';

export interface MemoryOutboxOptions {
  maxBytes: number;
  /** Largest single record accepted (mirrors the file outbox's segmentBytes rule). */
  segmentBytes: number;
}

export class MemoryOutbox implements Outbox {
  readonly kind = 'memory';
  /** Insertion order == seq order. */
  private readonly recs = new Map<number, OutboxRecord>();
  private nextSeq = 1;
  private bytes = 0;
  private readonly st: OutboxStats = emptyStats();
  private readonly listeners = new ChangeListeners();
  private state: 'new' | 'open' | 'closed' = 'new';

  constructor(private readonly opts: MemoryOutboxOptions) {}

  get stats(): Readonly<OutboxStats> {
    return this.st;
  }

  async open(): Promise<void> {
    if (this.state === 'new') this.state = 'open';
  }

  async append(src: PayloadSource, opts?: AppendOptions): Promise<number> {
    if (this.state !== 'open') throw new GatewayError(GW_ERR.OUTBOX_CLOSED, 'fatal', 'outbox is not open');
    const seq = this.nextSeq;
    const payload = Uint8Array.from(typeof src === 'function' ? src(seq) : src);
    if (payload.length > this.opts.segmentBytes) {
      this.st.rejectedTooLarge++;
      throw new GatewayError(GW_ERR.OUTBOX_TOO_LARGE, 'data', `record of ${payload.length} bytes exceeds segmentBytes ${this.opts.segmentBytes}`);
    }
    this.nextSeq++;
    let dropped = 0;
    for (const [s, r] of this.recs) {
      if (this.bytes + payload.length <= this.opts.maxBytes) break;
      this.recs.delete(s);
      this.bytes -= r.payload.length;
      this.st.droppedRecords++;
      this.st.droppedReadings += r.readings;
      this.st.droppedBytes += r.payload.length;
      dropped = s;
    }
    this.recs.set(seq, { seq, payload, readings: opts?.readings ?? 0 });
    this.bytes += payload.length;
    this.st.appended++;
    if (dropped) this.listeners.emit('drop', dropped);
    this.listeners.emit('append', seq);
    return seq;
  }

  async peek(fromSeq: number, max: number): Promise<OutboxRecord[]> {
    const out: OutboxRecord[] = [];
    for (const r of this.recs.values()) {
      if (out.length >= max) break;
      if (r.seq >= fromSeq) out.push({ ...r });
    }
    return out;
  }

  ack(seq: number): void {
    const r = this.recs.get(seq);
    if (!r) return;
    this.recs.delete(seq);
    this.bytes -= r.payload.length;
    this.st.acked++;
  }

  depth(): OutboxDepth {
    return { records: this.recs.size, bytes: this.bytes };
  }

  onChange(listener: (ev: { type: 'append' | 'drop'; seq: number }) => void): () => void {
    return this.listeners.add(listener);
  }

  async close(): Promise<void> {
    this.state = 'closed';
  }
}
