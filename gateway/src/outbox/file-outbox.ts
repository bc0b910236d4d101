/**
 * File outbox (default): append-only segment files `seg-<firstSeq>.ob` of CRC'd records
 * (record-codec.ts) in one directory, an `ack` file holding the delivered watermark, group commit
 * (one fdatasync per batch of concurrent appends), torn tails truncated on open, fully acked
 * segments deleted, and a byte bound that drops the OLDEST segment (counted). docs/outbox.md.
 * Owner-only: the directory 0700, segment and ack files 0600 (private-fs.ts; an outbox left by an
 * older version with wider modes is tightened on open).
 */
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import { GatewayError, GW_ERR } from '../errors.js';
import { encodeRecord, decodeRecordAt, HEADER_BYTES } from './record-codec.js';
import { mkdirPrivate, openPrivate, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './private-fs.js';
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

const fdatasync = promisify(fs.fdatasync);
const SEG_RE = /^seg-(\d{16})\.ob$/;

export interface FileOutboxOptions {
  dir: string;
  maxBytes: number;
  segmentBytes: number;
  fsync?: boolean;
  /** Debounce of the ack-file write (ms). */
  ackPersistMs?: number;
}

/** Best effort on what an older version left (not ours to chmod → left as it is, still readable). */
function tighten(fn: () => void): void {
  try {
    fn();
  } catch {
    /* not the owner */
  }
}

interface Rec {
  seq: number;
  off: number;
  len: number;
  readings: number;
  acked: boolean;
}
interface Segment {
  firstSeq: number;
  file: string;
  fd: number;
  bytes: number;
  recs: Rec[];
  unacked: number;
  writable: boolean;
  deleted?: boolean;
}
interface Pending {
  src: PayloadSource;
  readings: number;
  resolve: (seq: number) => void;
  reject: (err: unknown) => void;
}

export class FileOutbox implements Outbox {
  readonly kind = 'file';
  private readonly opts: Required<FileOutboxOptions>;
  private segments: Segment[] = [];
  private readonly index = new Map<number, { seg: Segment; rec: Rec }>();
  private nextSeq = 1;
  private totalBytes = 0;
  private unackedBytes = 0;
  private readonly st: OutboxStats = emptyStats();
  private readonly listeners = new ChangeListeners();
  private pending: Pending[] = [];
  private flushing: Promise<void> | undefined;
  /** Cleared synchronously by the loop when it finds nothing pending (no lost wake-ups). */
  private writing = false;
  private ackTimer: NodeJS.Timeout | undefined;
  private ackDirty = false;
  private state: 'new' | 'open' | 'closed' = 'new';

  constructor(opts: FileOutboxOptions) {
    this.opts = { fsync: true, ackPersistMs: 200, ...opts };
  }

  get stats(): Readonly<OutboxStats> {
    return this.st;
  }

  async open(): Promise<void> {
    if (this.state !== 'new') return;
    try {
      if (!mkdirPrivate(this.opts.dir)) tighten(() => fs.chmodSync(this.opts.dir, PRIVATE_DIR_MODE));
      const watermark = this.readAck();
      const files = fs
        .readdirSync(this.opts.dir)
        .filter((f) => SEG_RE.test(f))
        .sort();
      for (const f of files) this.loadSegment(path.join(this.opts.dir, f), watermark);
      for (const seg of [...this.segments]) if (seg.unacked === 0) this.deleteSegment(seg);
      const last = this.segments.at(-1)?.recs.at(-1)?.seq ?? 0;
      this.nextSeq = Math.max(watermark, last) + 1;
    } catch (err) {
      throw new GatewayError(GW_ERR.OUTBOX_IO, 'fatal', `cannot open outbox in ${this.opts.dir}`, { cause: err });
    }
    this.state = 'open';
  }

  append(src: PayloadSource, opts?: AppendOptions): Promise<number> {
    if (this.state !== 'open') return Promise.reject(new GatewayError(GW_ERR.OUTBOX_CLOSED, 'fatal', 'outbox is not open'));
    return new Promise<number>((resolve, reject) => {
      this.pending.push({ src, readings: opts?.readings ?? 0, resolve, reject });
      if (!this.writing) {
        this.writing = true;
        this.flushing = this.flushLoop();
      }
    });
  }

  async peek(fromSeq: number, max: number): Promise<OutboxRecord[]> {
    const out: OutboxRecord[] = [];
    for (const seg of this.segments) {
      if (out.length >= max) break;
      const lastSeq = seg.recs.at(-1)?.seq ?? 0;
      if (seg.unacked === 0 || lastSeq < fromSeq) continue;
      for (const rec of seg.recs) {
        if (out.length >= max) break;
        if (rec.acked || rec.seq < fromSeq) continue;
        const buf = Buffer.allocUnsafe(rec.len);
        fs.readSync(seg.fd, buf, 0, rec.len, rec.off + HEADER_BYTES);
        out.push({ seq: rec.seq, payload: buf, readings: rec.readings });
      }
    }
    return out;
  }

  ack(seq: number): void {
    const hit = this.index.get(seq);
    if (!hit) return;
    this.index.delete(seq);
    hit.rec.acked = true;
    hit.seg.unacked--;
    this.unackedBytes -= hit.rec.len;
    this.st.acked++;
    if (hit.seg.unacked === 0 && !hit.seg.writable) this.deleteSegment(hit.seg);
    this.scheduleAckPersist();
  }

  depth(): OutboxDepth {
    return { records: this.index.size, bytes: this.unackedBytes };
  }

  onChange(listener: (ev: { type: 'append' | 'drop'; seq: number }) => void): () => void {
    return this.listeners.add(listener);
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    while (this.writing) await this.flushing;
    if (this.ackTimer) clearTimeout(this.ackTimer);
    if (wasOpen && this.ackDirty) this.persistAck();
    for (const seg of this.segments) {
      try {
        fs.closeSync(seg.fd);
      } catch {
        /* already closed */
      }
    }
    this.segments = [];
  }

  // ---- write path -------------------------------------------------------------------------

  private async flushLoop(): Promise<void> {
    for (;;) {
      if (!this.pending.length) {
        this.writing = false;
        return;
      }
      const batch = this.pending;
      this.pending = [];
      const touched = new Set<Segment>();
      const done: { p: Pending; seq: number; seg: Segment; rec: Rec }[] = [];
      for (const p of batch) {
        try {
          const seq = this.nextSeq;
          const payload = typeof p.src === 'function' ? p.src(seq) : p.src;
          const buf = encodeRecord(seq, payload, p.readings);
          if (buf.length > this.opts.segmentBytes) {
            this.st.rejectedTooLarge++;
            throw new GatewayError(GW_ERR.OUTBOX_TOO_LARGE, 'data', `record of ${buf.length} bytes exceeds segmentBytes ${this.opts.segmentBytes}`);
          }
          this.nextSeq++;
          const seg = this.makeRoom(buf.length, seq);
          fs.writeSync(seg.fd, buf, 0, buf.length, null);
          const rec: Rec = { seq, off: seg.bytes, len: payload.length, readings: p.readings, acked: false };
          seg.bytes += buf.length;
          this.totalBytes += buf.length;
          touched.add(seg);
          done.push({ p, seq, seg, rec });
        } catch (err) {
          p.reject(err instanceof GatewayError ? err : new GatewayError(GW_ERR.OUTBOX_IO, 'transient', 'outbox write failed', { cause: err }));
        }
      }
      try {
        if (this.opts.fsync) await Promise.all([...touched].map((s) => fdatasync(s.fd)));
      } catch (err) {
        const e = new GatewayError(GW_ERR.OUTBOX_IO, 'transient', 'outbox fsync failed', { cause: err });
        for (const d of done) d.p.reject(e);
        continue;
      }
      for (const d of done) {
        if (d.seg.deleted) {
          // dropped by the bound within its own batch (tiny maxBytes only)
          this.st.droppedRecords++;
          this.st.droppedReadings += d.rec.readings;
          this.st.droppedBytes += d.rec.len;
        } else d.seg.recs.push(d.rec);
        if (!d.seg.deleted) {
          d.seg.unacked++;
          this.unackedBytes += d.rec.len;
          this.index.set(d.seq, { seg: d.seg, rec: d.rec });
        }
        this.st.appended++;
        d.p.resolve(d.seq);
        this.listeners.emit('append', d.seq);
      }
    }
  }

  /** Roll the active segment when full and drop the oldest segments while over the bound. */
  private makeRoom(len: number, seq: number): Segment {
    let active = this.segments.at(-1);
    if (!active || !active.writable || (active.bytes > 0 && active.bytes + len > this.opts.segmentBytes)) {
      if (active?.writable) this.seal(active);
      active = this.newSegment(seq);
    }
    while (this.totalBytes + len > this.opts.maxBytes && this.segments.length > 1) this.dropOldest();
    return active;
  }

  private seal(seg: Segment): void {
    seg.writable = false;
    if (seg.unacked === 0 && seg.recs.length > 0) this.deleteSegment(seg);
  }

  private dropOldest(): void {
    const seg = this.segments[0];
    let n = 0;
    let readings = 0;
    let bytes = 0;
    let last = 0;
    for (const rec of seg.recs) {
      last = rec.seq;
      if (rec.acked) continue;
      n++;
      readings += rec.readings;
      bytes += rec.len;
    }
    this.st.droppedRecords += n;
    this.st.droppedReadings += readings;
    this.st.droppedBytes += bytes;
    this.deleteSegment(seg);
    this.ackDirty = true;
    if (n) this.listeners.emit('drop', last);
  }

  private newSegment(firstSeq: number): Segment {
    const file = path.join(this.opts.dir, `seg-${String(firstSeq).padStart(16, '0')}.ob`);
    const fd = openPrivate(file, 'a+');
    if (this.opts.fsync) this.syncDir(); // the new file's directory entry must survive power loss too
    const seg: Segment = { firstSeq, file, fd, bytes: 0, recs: [], unacked: 0, writable: true };
    this.segments.push(seg);
    return seg;
  }

  private syncDir(): void {
    let dfd: number | undefined;
    try {
      dfd = fs.openSync(this.opts.dir, 'r');
      fs.fsyncSync(dfd);
    } catch {
      /* not supported on this fs */
    } finally {
      if (dfd !== undefined) fs.closeSync(dfd);
    }
  }

  private deleteSegment(seg: Segment): void {
    const i = this.segments.indexOf(seg);
    if (i < 0) return;
    this.segments.splice(i, 1);
    seg.deleted = true;
    for (const rec of seg.recs) {
      if (!rec.acked) {
        this.index.delete(rec.seq);
        this.unackedBytes -= rec.len;
        rec.acked = true;
      }
    }
    seg.unacked = 0;
    this.totalBytes -= seg.bytes;
    try {
      fs.closeSync(seg.fd);
    } catch {
      /* closed */
    }
    try {
      fs.unlinkSync(seg.file);
    } catch {
      /* gone */
    }
  }

  // ---- open / ack persistence ---------------------------------------------------------------

  private loadSegment(file: string, watermark: number): void {
    const buf = fs.readFileSync(file);
    const seg: Segment = { firstSeq: Number(SEG_RE.exec(path.basename(file))![1]), file, fd: -1, bytes: 0, recs: [], unacked: 0, writable: false };
    let off = 0;
    let prevSeq = this.segments.at(-1)?.recs.at(-1)?.seq ?? 0;
    while (off < buf.length) {
      const h = decodeRecordAt(buf, off);
      if (!h || h.seq <= prevSeq) break;
      const rec: Rec = { seq: h.seq, off, len: h.len, readings: h.readings, acked: h.seq <= watermark };
      seg.recs.push(rec);
      if (!rec.acked) {
        seg.unacked++;
        this.unackedBytes += rec.len;
        this.index.set(rec.seq, { seg, rec });
      }
      prevSeq = h.seq;
      off += HEADER_BYTES + h.len;
    }
    if (off < buf.length) {
      this.st.truncatedBytes += buf.length - off;
      this.st.corruptSegments++;
      fs.truncateSync(file, off);
    }
    seg.bytes = off;
    seg.fd = fs.openSync(file, 'r');
    tighten(() => fs.fchmodSync(seg.fd, PRIVATE_FILE_MODE));
    this.totalBytes += off;
    this.segments.push(seg);
  }

  private readAck(): number {
    try {
      const b = fs.readFileSync(path.join(this.opts.dir, 'ack'));
      if (b.length !== 12 || crc32(b.subarray(0, 8)) !== b.readUInt32LE(8)) return 0;
      return Number(b.readBigUInt64LE(0));
    } catch {
      return 0;
    }
  }

  /** Delivered watermark: every record with seq <= it is acked or gone. */
  private watermark(): number {
    for (const seg of this.segments) for (const rec of seg.recs) if (!rec.acked) return rec.seq - 1;
    return this.nextSeq - 1;
  }

  private scheduleAckPersist(): void {
    this.ackDirty = true;
    if (this.ackTimer || this.state !== 'open') return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      try {
        this.persistAck();
      } catch {
        /* retried on the next ack or at close */
      }
    }, this.opts.ackPersistMs);
    this.ackTimer.unref();
  }

  private persistAck(): void {
    const b = Buffer.alloc(12);
    b.writeBigUInt64LE(BigInt(this.watermark()), 0);
    b.writeUInt32LE(crc32(b.subarray(0, 8)), 8);
    const tmp = path.join(this.opts.dir, 'ack.tmp');
    const fd = openPrivate(tmp, 'w');
    try {
      fs.writeSync(fd, b);
      if (this.opts.fsync) fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path.join(this.opts.dir, 'ack'));
    this.ackDirty = false;
  }
}
