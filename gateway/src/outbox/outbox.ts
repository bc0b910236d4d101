/**
 * The outbox: a durable, bounded, ordered queue of encoded Envelopes between the batcher (append)
 * and the MQTT publisher (peek → publish → ack on PUBACK). Sequence numbers come from the outbox
 * and are embedded in the Envelope bytes, so a record replayed after a restart keeps the
 * (bootId, seq) it was written with. See docs/outbox.md.
 */

export interface OutboxRecord {
  seq: number;
  payload: Uint8Array;
  /** Readings (observations) the record carries, for drop accounting. */
  readings: number;
}

export interface OutboxDepth {
  records: number; // unacked records
  bytes: number; // unacked payload bytes
}

export interface OutboxStats {
  appended: number;
  acked: number;
  /** Unacked records removed by the bound (drop-oldest policy) since open. */
  droppedRecords: number;
  droppedReadings: number;
  droppedBytes: number;
  /** Appends refused because one record exceeds the bound. */
  rejectedTooLarge: number;
  /** Corrupt/torn bytes found and truncated on open. */
  truncatedBytes: number;
  corruptSegments: number;
}

/** The payload, or a builder called once with the seq the record gets (to embed it). */
export type PayloadSource = Uint8Array | ((seq: number) => Uint8Array);

export interface AppendOptions {
  readings?: number;
}

export interface Outbox {
  readonly kind: string;
  open(): Promise<void>;
  /** Resolves with the record's seq once it is durable (file: after the group commit's fsync). */
  append(payload: PayloadSource, opts?: AppendOptions): Promise<number>;
  /** Up to `max` unacked records with seq >= fromSeq, in seq order. */
  peek(fromSeq: number, max: number): Promise<OutboxRecord[]>;
  /** Mark one record delivered (call on PUBACK only). Unknown/old seqs are ignored. */
  ack(seq: number): void;
  depth(): OutboxDepth;
  readonly stats: Readonly<OutboxStats>;
  /** Called after each durable append and after each drop; returns an unsubscribe function. */
  onChange(listener: (ev: { type: 'append' | 'drop'; seq: number }) => void): () => void;
  close(): Promise<void>;
}

export function emptyStats(): OutboxStats {
  return { appended: 0, acked: 0, droppedRecords: 0, droppedReadings: 0, droppedBytes: 0, rejectedTooLarge: 0, truncatedBytes: 0, corruptSegments: 0 };
}

/** Tiny listener set shared by the implementations. */
export class ChangeListeners {
  private readonly set = new Set<(ev: { type: 'append' | 'drop'; seq: number }) => void>();
  add(l: (ev: { type: 'append' | 'drop'; seq: number }) => void): () => void {
    this.set.add(l);
    return () => {
      this.set.delete(l);
    };
  }
  emit(type: 'append' | 'drop', seq: number): void {
    for (const l of this.set) {
      try {
        l({ type, seq });
      } catch {
        /* a listener never breaks the outbox */
      }
    }
  }
}
