/**
 * The newest bytes of a stream, addressed by stream offset (bytes since the stream began), with
 * the receive time of each chunk they came in, so they can be handed on later cut as they arrived.
 * One buffer of fixed capacity, compacted when full; the owner drops old bytes (dropBefore) so
 * that what it keeps plus the next chunk fits.
 */
export class ByteWindow {
  readonly buf: Buffer;
  private head = 0; // buf index of the oldest held byte
  private tail = 0; // buf index after the newest byte
  private first = 0; // stream offset of the oldest held byte
  private marks: { at: number; rx?: number }[] = [];

  constructor(capacity: number) {
    this.buf = Buffer.alloc(capacity);
  }

  /** Stream offset of the oldest held byte. */
  get start(): number {
    return this.first;
  }
  /** Stream offset after the newest byte. */
  get end(): number {
    return this.first + this.tail - this.head;
  }
  /** Stream offset of buf[0]. */
  get base(): number {
    return this.start - this.head;
  }

  append(bytes: Uint8Array, rx: number | undefined): void {
    if (this.tail + bytes.length > this.buf.length) {
      this.buf.copy(this.buf, 0, this.head, this.tail);
      this.tail -= this.head;
      this.head = 0;
    }
    this.marks.push({ at: this.end, rx });
    this.buf.set(bytes, this.tail);
    this.tail += bytes.length;
  }

  /** Drops the bytes before stream offset `at`; returns how many went. */
  dropBefore(at: number): number {
    const n = Math.min(Math.max(0, at - this.start), this.tail - this.head);
    this.head += n;
    this.first += n;
    while (this.marks.length > 1 && this.marks[1].at <= this.start) this.marks.shift();
    return n;
  }

  /** The held bytes of [from, to) cut where the chunks were, each with its receive time. */
  *pieces(from: number, to: number): Generator<[Buffer, number | undefined]> {
    for (let i = 0; i < this.marks.length; i++) {
      const a = Math.max(from, this.marks[i].at, this.start);
      const b = Math.min(to, this.marks[i + 1]?.at ?? this.end);
      if (a < b) yield [this.buf.subarray(a - this.base, b - this.base), this.marks[i].rx];
    }
  }
}
