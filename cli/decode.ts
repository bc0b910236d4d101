/**
 * `orlink decode --protocol NAME [--input FILE|-] [--format raw|hexlog] [--profile ID] [--profiles DIR]`
 * Runs the gateway's own framer/decoder/profile mapping over a capture: one canonical observation
 * per line (NDJSON) on stdout, a JSON summary on stderr (frames, bytes, errors by kind, records by
 * type, unmapped vendor codes, TX chunks skipped). Time base: the device clock. Profiles: --profiles
 * DIR (a folder laid out as firmware-profiles/), default firmware-profiles/ of the package. Only
 * what gateway/src/protocols/protocol.ts declares is called on the decoder (no casts).
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Observation } from '../schemas/src/observation.js';
import { loadProtocol, protocolNames } from '../gateway/src/protocols/registry.js';
import type { StreamDecoder } from '../gateway/src/protocols/protocol.js';

export type CaptureFormat = 'raw' | 'hexlog';
export interface CaptureChunk {
  dir: 'RX' | 'TX';
  bytes: Buffer;
}

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

const USAGE =
  'usage: orlink decode --protocol NAME [--input FILE|-] [--format raw|hexlog] [--profile ID] [--profiles DIR] [--progress]\n' +
  '  the capture is streamed; progress on stderr for files of 16 MiB or more (--progress: always)\n';

export interface DecodeIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** resolves when the output can take more (stdout's backpressure) */
  drained?: () => Promise<void>;
}

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
        for (const o of decoder.pushTx?.(c.bytes) ?? []) emit(o);
      } else for (const o of decoder.push(c.bytes)) emit(o);
    }
  } else for (const o of decoder.push(data)) emit(o);
  // end of the capture: what the decoder still holds comes out (or is counted) before the summary
  for (const o of decoder.flush?.() ?? []) emit(o);
  const stats = decoder.stats();
  return {
    format,
    ...stats,
    records: decoder.recordCounts?.() ?? {},
    unmapped: decoder.unmapped?.() ?? {},
    txChunks,
    badHexlogLines: badLines,
    profile: decoder.profileId() ?? null,
    identity: decoder.identity() ?? null,
  };
}

const stdoutIo: DecodeIo = {
  out: (l) => process.stdout.write(l),
  err: (l) => process.stderr.write(l),
  drained: () => (process.stdout.writableNeedDrain ? new Promise<void>((r) => process.stdout.once('drain', () => r())) : Promise.resolve()),
};

export async function run(argv: string[], io: DecodeIo = stdoutIo): Promise<number> {
  let values: { protocol?: string; input?: string; format?: string; profile?: string; profiles?: string; progress?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        protocol: { type: 'string' },
        input: { type: 'string', default: '-' },
        format: { type: 'string' },
        profile: { type: 'string' },
        profiles: { type: 'string' },
        progress: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
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
  if (input !== '-') {
    try {
      statSync(input);
    } catch (err) {
      io.err(`orlink decode: cannot read ${input}: ${(err as Error).message}\n`);
      return 1;
    }
  }
  let decoder: StreamDecoder;
  try {
    // --profiles DIR: a deployment's own profile folder (laid out as firmware-profiles/)
    decoder = protocol.createDecoder({ profileId: values.profile, timeBase: 'device', ...(values.profiles ? { profilesDir: resolve(values.profiles) } : {}) });
  } catch (err) {
    const e = err as Error & { code?: string; details?: unknown };
    io.err(`orlink decode: ${e.code ?? 'error'}: ${e.message}${e.details ? `\n${JSON.stringify(e.details)}` : ''}\n`);
    return 1;
  }
  // streamed (cli/decode-stream.ts): 1 MiB at a time, progress on stderr for captures of 16 MiB or more (or --progress)
  const { decodeStream, inputSize, readChunks, Progress } = await import('./decode-stream.js');
  const size = inputSize(input);
  const progress = values.progress || (size ?? 0) >= 16 * 1048576 ? new Progress({ ...(size !== undefined ? { total: size } : {}), write: io.err }) : undefined;
  const lines: string[] = [];
  const flush = (): void => {
    if (lines.length) io.out(lines.join(''));
    lines.length = 0;
  };
  let summary: Record<string, unknown>;
  try {
    summary = await decodeStream(
      decoder,
      readChunks(input),
      values.format as CaptureFormat | undefined,
      (o) => {
        lines.push(`${JSON.stringify(o)}\n`);
        if (lines.length >= 1000) flush();
      },
      {
        ...(input === '-' ? {} : { name: input }),
        ...(progress ? { progress } : {}),
        afterChunk: async () => {
          flush();
          if (io.drained) await io.drained();
        },
      },
    );
  } catch (err) {
    flush();
    io.err(`orlink decode: cannot read ${input}: ${(err as Error).message}\n`);
    return 1;
  }
  flush();
  io.err(`${JSON.stringify({ summary })}\n`);
  return 0;
}
