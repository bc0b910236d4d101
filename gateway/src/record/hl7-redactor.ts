/**
 * Patient-data redaction of HL7 v2 bytes for captures (`--record`), streaming and pure: bytes in
 * any chunking → the same bytes with the fields of patient segments replaced by a fixed marker.
 * The segment structure stays: segment ids, every field separator (so the field count), empty
 * fields, MLLP framing and every other segment are unchanged, so the capture still decodes to the
 * same observations; a redacted field carries no trace of its content (not even its length).
 *
 * Redacted segments (REDACTED_SEGMENTS): PID, PD1, MRG, NK1, GT1, IN1, IN2, IN3 — every field;
 * PV1 and PV2 — every field except PV1-1 (set id), PV1-2 (patient class) and PV1-3 (assigned
 * location: the bed, which `acceptBeds` filters on). Attending/referring doctors, visit numbers …
 * are redacted with the rest.
 *
 * Works on bytes, segment by segment: a segment ends at CR, LF or an MLLP byte (0x0B, 0x1C), so
 * a message split across chunks, several messages per chunk and bytes outside MLLP blocks are
 * handled alike; only the head of the current segment (the bytes before its first field
 * separator, at most HEAD_KEEP of them kept back) is held between chunks. A segment counts as a
 * patient segment when the bytes before its first field separator END with its id (`PID`,
 * `\u2028PID`, `xxPID`: stray bytes in front do not hide it). The field separator is the byte
 * after `MSH` of the latest message (default `|`). Text is not decoded: in UTF-8 no multi-byte
 * character contains an ASCII byte; in GB18030 a trail byte can equal the separator, which only
 * splits a redacted field in two (more markers, nothing kept).
 */
export const REDACTED_MARKER = 'REDACTED';

/** Segment id → fields kept (HL7 numbering); every other non-empty field becomes the marker. */
export const REDACTED_SEGMENTS: Readonly<Record<string, readonly number[]>> = {
  PID: [],
  PD1: [],
  MRG: [],
  NK1: [],
  GT1: [],
  IN1: [],
  IN2: [],
  IN3: [],
  PV1: [1, 2, 3],
  PV2: [],
};

const CR = 0x0d;
const LF = 0x0a;
const VT = 0x0b;
const FS = 0x1c;
const HEAD_KEEP = 3; // bytes of an over-long head kept back: enough to see `PID` / `MSH` at its end
const HEAD_MAX = 64;
const MARKER = Buffer.from(REDACTED_MARKER, 'latin1');

const isAlnum = (b: number) => (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);

export interface RedactorStats {
  segments: number;
  fields: number;
}

export class Hl7Redactor {
  private sep = 0x7c; // '|'
  private mode: 'head' | 'pass' | 'phi' = 'head';
  private head: number[] = [];
  private keep: readonly number[] = [];
  private field = 0;
  private marked = false;
  readonly stats: RedactorStats = { segments: 0, fields: 0 };

  /** Redacted bytes of `chunk` that are final now (the head of an unfinished segment is held back). */
  push(chunk: Uint8Array): Buffer {
    const out: number[] = [];
    for (const b of chunk) this.byte(b, out);
    return Buffer.from(out);
  }

  /** Bytes still held (end of the capture): a head never holds field content, so it goes out as is. */
  end(): Buffer {
    const out = Buffer.from(this.head);
    this.head = [];
    this.mode = 'head';
    return out;
  }

  private byte(b: number, out: number[]): void {
    if (b === CR || b === LF || b === VT || b === FS) {
      if (this.mode === 'head') this.flushHead(out);
      this.mode = 'head';
      out.push(b);
      return;
    }
    if (this.mode === 'pass') {
      out.push(b);
      return;
    }
    if (this.mode === 'phi') {
      this.phiByte(b, out);
      return;
    }
    // head: the bytes before the segment's first field separator
    const h = this.head;
    const n = h.length;
    if (n >= 3 && h[n - 3] === 0x4d && h[n - 2] === 0x53 && h[n - 1] === 0x48 && !isAlnum(b)) {
      this.sep = b; // `MSH` + its field separator: a new message
      h.push(b);
      this.flushHead(out);
      this.mode = 'pass';
      return;
    }
    if (b === this.sep) {
      const id = n >= 3 ? String.fromCharCode(h[n - 3], h[n - 2], h[n - 1]) : '';
      const keep = Object.hasOwn(REDACTED_SEGMENTS, id) ? REDACTED_SEGMENTS[id] : undefined;
      h.push(b);
      this.flushHead(out);
      if (keep) {
        this.mode = 'phi';
        this.keep = keep;
        this.field = 1;
        this.marked = false;
        this.stats.segments++;
      } else this.mode = 'pass';
      return;
    }
    h.push(b);
    if (h.length > HEAD_MAX) out.push(...h.splice(0, h.length - HEAD_KEEP));
  }

  private phiByte(b: number, out: number[]): void {
    if (b === this.sep) {
      this.field++;
      this.marked = false;
      out.push(b);
      return;
    }
    if (this.keep.includes(this.field)) {
      out.push(b);
      return;
    }
    if (this.marked) return;
    this.marked = true;
    this.stats.fields++;
    for (const m of MARKER) out.push(m);
  }

  private flushHead(out: number[]): void {
    for (const x of this.head) out.push(x);
    this.head = [];
  }
}
