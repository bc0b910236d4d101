/**
 * `orlink decode --protocol NAME [--input FILE|-] [--format raw|hexlog] [--profile ID]`
 * Runs the gateway's own framer/decoder/profile mapping over a capture: one canonical observation
 * per line (NDJSON) on stdout, a JSON summary on stderr (frames, bytes, errors by kind, records by
 * type, unmapped vendor codes, TX chunks skipped). Time base: the device clock.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Observation } from '../schemas/src/observation.js';
import { loadProtocol, protocolNames } from '../gateway/src/protocols/registry.js';
import type { StreamDecoder } from '../gateway/src/protocols/protocol.js';

export type CaptureFormat = 'raw' | 'hexlog';
export interface CaptureChunk { dir: 'RX' | 'TX'; bytes: Buffer }

const LINE = /^(RX|TX)((?:\s*[0-9a-fA-F]{2})*)\s*$/;

export function detectFormat(data: Buffer, name?: string): CaptureFormat {
  if (name?.endsWith('.hexlog')) return 'hexlog';
  const sample = data.subarray(0, 1 << 20);
  if (sample.includes(0)) return 'raw';
  const text = sample.toString('latin1');
  let seen = 0;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    if (!LINE.test(line)) return 'raw';
    seen++;
  }
  return seen > 0 ? 'hexlog' : 'raw';
}

/** Parses a hexlog; malformed lines are returned as counted problems, never thrown. */
export function parseHexlog(text: string): { chunks: CaptureChunk[]; badLines: number } {
  const chunks: CaptureChunk[] = [];
  let badLines = 0;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) {
      badLines++;
      continue;
    }
    chunks.push({ dir: m[1] as 'RX' | 'TX', bytes: Buffer.from(m[2].replace(/\s+/g, ''), 'hex') });
  }
  return { chunks, badLines };
}

export function toHexlog(chunks: CaptureChunk[], comment?: string): string {
  const lines = comment ? comment.split('\n').map((c) => `# ${c}`) : [];
  for (const c of chunks) lines.push(`${c.dir} ${c.bytes.toString('hex').replace(/(..)(?!$)/g, '$1 ')}`);
  return lines.join('\n') + '\n';
}

const USAGE = 'usage: orlink decode --protocol NAME [--input FILE|-] [--format raw|hexlog] [--profile ID]\n';

interface DecoderExtras {
  recordCounts?(): Record<string, number>;
  unmapped?(): Record<string, number>;
  /** Host → device bytes, for protocols whose answers need the request (Dräger MEDIBUS ESC T). */
  pushTx?(chunk: Uint8Array): Observation[] | void;
}

async function readInput(path: string): Promise<Buffer> {
  if (path !== '-') return readFileSync(path);
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export interface DecodeIo { out: (line: string) => void; err: (line: string) => void }

/** Decodes one capture buffer; returns the summary object. */
export function decodeCapture(decoder: StreamDecoder, data: Buffer, format: CaptureFormat, emit: (o: Observation) => void): Record<string, unknown> {
  let txChunks = 0;
  let badLines = 0;
  if (format === 'hexlog') {
    const parsed = parseHexlog(data.toString('latin1'));
    badLines = parsed.badLines;
    for (const c of parsed.chunks) {
      if (c.dir === 'TX') {
        txChunks++;
        for (const o of (decoder as StreamDecoder & DecoderExtras).pushTx?.(c.bytes) ?? []) emit(o);
      }
      else for (const o of decoder.push(c.bytes)) emit(o);
    }
  } else for (const o of decoder.push(data)) emit(o);
  // end of the capture: what the decoder still holds comes out (or is counted) before the summary
  for (const o of decoder.flush?.() ?? []) emit(o);
  const extras = decoder as StreamDecoder & DecoderExtras;
  const stats = decoder.stats();
  return {
    format, ...stats, records: extras.recordCounts?.() ?? {}, unmapped: extras.unmapped?.() ?? {},
    txChunks, badHexlogLines: badLines, profile: decoder.profileId() ?? null, identity: decoder.identity() ?? null,
  };
}

export async function run(argv: string[], io: DecodeIo = { out: (l) => process.stdout.write(l), err: (l) => process.stderr.write(l) }): Promise<number> {
  let values: { protocol?: string; input?: string; format?: string; profile?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: {
      protocol: { type: 'string' }, input: { type: 'string', default: '-' }, format: { type: 'string' },
      profile: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    } }));
  } catch (err) {
    io.err(`orlink decode: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (!values.protocol) {
    io.err(`orlink decode: --protocol is required (one of: ${protocolNames().join(', ')})\n${USAGE}`);
    return 2;
  }
  if (values.format && values.format !== 'raw' && values.format !== 'hexlog') {
    io.err(`orlink decode: --format must be raw or hexlog\n${USAGE}`);
    return 2;
  }
  const protocol = await loadProtocol(values.protocol);
  if (!protocol) {
    io.err(`orlink decode: unknown protocol '${values.protocol}' (known: ${protocolNames().join(', ')})\n`);
    return 2;
  }
  const input = values.input ?? '-';
  let data: Buffer;
  try {
    data = await readInput(input);
  } catch (err) {
    io.err(`orlink decode: cannot read ${input}: ${(err as Error).message}\n`);
    return 1;
  }
  let decoder: StreamDecoder;
  try {
    decoder = protocol.createDecoder({ profileId: values.profile, timeBase: 'device' });
  } catch (err) {
    const e = err as Error & { code?: string; details?: unknown };
    io.err(`orlink decode: ${e.code ?? 'error'}: ${e.message}${e.details ? `\n${JSON.stringify(e.details)}` : ''}\n`);
    return 1;
  }
  const format = (values.format as CaptureFormat | undefined) ?? detectFormat(data, input === '-' ? undefined : input);
  const lines: string[] = [];
  const flush = (): void => {
    if (lines.length) io.out(lines.join(''));
    lines.length = 0;
  };
  const summary = decodeCapture(decoder, data, format, (o) => {
    lines.push(`${JSON.stringify(o)}\n`);
    if (lines.length >= 1000) flush();
  });
  flush();
  io.err(`${JSON.stringify({ summary })}\n`);
  return 0;
}
