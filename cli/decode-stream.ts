/**
 * `orlink decode` over a stream: the capture is read in 1 MiB chunks (never whole into memory), the
 * format is detected from its first MiB, hexlog lines are parsed as they complete, and for a large
 * file a progress line goes to stderr every few seconds. Output and summary are those of
 * decodeCapture (cli/decode.ts) on the same capture: decoders take any split of the bytes.
 */
import { createReadStream, statSync } from 'node:fs';
import type { Observation } from '../schemas/src/observation.js';
import type { StreamDecoder } from '../gateway/src/protocols/protocol.js';
import { detectFormat, parseHexlog, type CaptureFormat } from './decode.js';

const SAMPLE_BYTES = 1 << 20;

/** the chunks of a file (or of stdin for '-') */
export function readChunks(input: string, chunkBytes = SAMPLE_BYTES): AsyncIterable<Buffer> {
  return input === '-' ? (process.stdin as AsyncIterable<Buffer>) : createReadStream(input, { highWaterMark: chunkBytes });
}

/** file size, undefined for stdin or what cannot be stat'ed */
export function inputSize(input: string): number | undefined {
  if (input === '-') return undefined;
  try {
    return statSync(input).size;
  } catch {
    return undefined;
  }
}

export interface ProgressOptions {
  /** total bytes when known (a file) */
  total?: number;
  write: (line: string) => void;
  /** at most one line per this many ms (default 2000) */
  everyMs?: number;
  now?: () => number;
}

/** one stderr line now and then: percent (or bytes for stdin) and observations so far */
export class Progress {
  private last: number;
  private readonly now: () => number;
  constructor(private readonly o: ProgressOptions) {
    this.now = o.now ?? Date.now;
    this.last = this.now();
  }

  update(bytes: number, observations: number, force = false): void {
    const t = this.now();
    if (!force && t - this.last < (this.o.everyMs ?? 2000)) return;
    this.last = t;
    const mib = (n: number) => (n / 1048576).toFixed(1);
    const part = this.o.total ? `${Math.floor((100 * bytes) / Math.max(1, this.o.total))}% (${mib(bytes)} of ${mib(this.o.total)} MiB)` : `${mib(bytes)} MiB`;
    this.o.write(`orlink decode: ${part} read, ${observations} observations\n`);
  }
}

/**
 * Decodes a chunked capture; `format` undefined = detected from the first MiB (`name` as for detectFormat).
 * Returns the summary object of decodeCapture.
 */
export async function decodeStream(
  decoder: StreamDecoder,
  source: AsyncIterable<Buffer>,
  format: CaptureFormat | undefined,
  emit: (o: Observation) => void,
  o: { name?: string; progress?: Progress; afterChunk?: () => Promise<void> } = {},
): Promise<Record<string, unknown>> {
  let fmt = format;
  const held: Buffer[] = [];
  let heldBytes = 0;
  let bytes = 0;
  let observations = 0;
  let txChunks = 0;
  let badLines = 0;
  let carry = '';
  const out = (obs: Observation[] | undefined) => {
    for (const x of obs ?? []) {
      observations++;
      emit(x);
    }
  };
  const hexlogText = (text: string) => {
    const parsed = parseHexlog(text);
    badLines += parsed.badLines;
    for (const c of parsed.chunks) {
      if (c.dir === 'TX') {
        txChunks++;
        out(decoder.pushTx?.(c.bytes));
      } else out(decoder.push(c.bytes));
    }
  };
  const feed = (chunk: Buffer) => {
    if (fmt === 'raw') {
      out(decoder.push(chunk));
      return;
    }
    const text = carry + chunk.toString('latin1');
    const cut = text.lastIndexOf('\n');
    if (cut < 0) {
      carry = text;
      return;
    }
    carry = text.slice(cut + 1);
    hexlogText(text.slice(0, cut + 1));
  };
  for await (const c of source) {
    const chunk = Buffer.isBuffer(c) ? c : Buffer.from(c);
    bytes += chunk.length;
    if (fmt === undefined) {
      held.push(chunk);
      heldBytes += chunk.length;
      if (heldBytes >= SAMPLE_BYTES) {
        fmt = detectFormat(Buffer.concat(held), o.name);
        for (const h of held.splice(0)) feed(h);
      }
    } else feed(chunk);
    o.progress?.update(bytes, observations);
    await o.afterChunk?.();
  }
  if (fmt === undefined) {
    fmt = detectFormat(Buffer.concat(held), o.name);
    for (const h of held.splice(0)) feed(h);
  }
  if (fmt === 'hexlog' && carry) hexlogText(carry);
  // end of the capture: what the decoder still holds comes out (or is counted) before the summary
  out(decoder.flush?.());
  o.progress?.update(bytes, observations, true);
  const stats = decoder.stats();
  return {
    format: fmt,
    ...stats,
    records: decoder.recordCounts?.() ?? {},
    unmapped: decoder.unmapped?.() ?? {},
    txChunks,
    badHexlogLines: badLines,
    profile: decoder.profileId() ?? null,
    identity: decoder.identity() ?? null,
  };
}
