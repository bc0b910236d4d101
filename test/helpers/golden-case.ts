/**
 * Golden testcases (firmware-profiles/<vendor>/testcases/<case>/): reads case.json and builds the
 * bytes `orlink decode` gets. A synthetic case carries its own capture.bin / capture.hexlog; a case
 * on a real third-party capture names it with "capture" — a path relative to the REPOSITORY ROOT
 * (e.g. "../shared/captures/ge-datex-dri/ge_dri2009_pycollect_raw.raw") — and states any slice or
 * conversion in case.json, done here, so no copy is committed. Rules: firmware-profiles/README.md.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parseHexlog, run, toHexlog, type CaptureChunk, type CaptureFormat } from '../../cli/decode.js';
import { frameRecord } from '../../gateway/src/protocols/ge-dri/index.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const PROFILES_ROOT = join(REPO_ROOT, 'firmware-profiles');

/** How the capture file is written: the two `orlink decode` formats and the two hex forms of ../shared/captures. */
export type SourceFormat = CaptureFormat | 'hex' | 'named-hex';

export interface CaseJson {
  protocol: string;
  /** Format of the capture file(s); default `raw`. */
  format?: SourceFormat;
  profile?: string;
  real?: boolean;
  /** Real capture(s), relative to the repository root. Absent: the case folder's capture.bin / capture.hexlog. */
  capture?: string | string[];
  /** `raw` only: the half-open byte range [start, end) of the file that is decoded. */
  bytes?: { start?: number; end?: number };
  /** `hex` only: wrap each file's record in this protocol's frame (the source publishes records unframed). */
  frame?: 'ge-dri';
  /** `named-hex` only: the line names that are host→device (TX); every other line is device→host (RX). */
  tx?: string[];
  expect?: { frames?: number; errors?: Record<string, number>; profile?: string };
}

/** What `orlink decode` is given for a case: the file itself when nothing needs doing, else built bytes. */
export interface CaseInput {
  format: CaptureFormat;
  data: Buffer;
  file?: string;
}

const FRAMERS: Record<NonNullable<CaseJson['frame']>, (record: Buffer) => Buffer> = { 'ge-dri': frameRecord };

const caseDirOf = (dir: string): string => (isAbsolute(dir) ? dir : join(PROFILES_ROOT, dir));

export function readCase(dir: string): CaseJson {
  return JSON.parse(readFileSync(join(caseDirOf(dir), 'case.json'), 'utf8')) as CaseJson;
}

/** The capture file(s) a case decodes, absolute; for a shared capture the whole file(s), before any slice. */
export function capturePaths(dir: string, cj: CaseJson = readCase(dir)): string[] {
  if (cj.capture === undefined) {
    const own = ['capture.bin', 'capture.hexlog'].map((n) => join(caseDirOf(dir), n)).filter((p) => existsSync(p));
    if (own.length !== 1) throw new Error(`${dir}: no "capture" in case.json and ${own.length} of capture.bin/capture.hexlog`);
    return own;
  }
  const left = ['capture.bin', 'capture.hexlog'].filter((n) => existsSync(join(caseDirOf(dir), n)));
  if (left.length) throw new Error(`${dir}: case.json names a shared capture, but the folder also holds ${left.join(', ')}`);
  const list = Array.isArray(cj.capture) ? cj.capture : [cj.capture];
  if (!list.length) throw new Error(`${dir}: "capture" is empty`);
  return list.map((p) => {
    if (isAbsolute(p)) throw new Error(`${dir}: capture path ${p} must be relative to the repository root`);
    const abs = resolve(REPO_ROOT, p);
    if (!existsSync(abs)) throw new Error(`${dir}: capture ${p} not found at ${abs} (the shared folder belongs beside the checkout)`);
    return abs;
  });
}

/** Reuses the hexlog reader: a `hex` line is an RX line without the tag, a `named-hex` line one with a name for a tag. */
function chunksOf(text: string, where: string, tag: (line: string) => string): CaptureChunk[] {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map(tag);
  const parsed = parseHexlog(lines.join('\n'));
  if (parsed.badLines) throw new Error(`${where}: ${parsed.badLines} line(s) are not hex`);
  return parsed.chunks;
}

/** Builds the decoder input of a case from case.json. Throws on a case.json that does not fit its format. */
export function caseInput(dir: string): CaseInput {
  const cj = readCase(dir);
  const format = cj.format ?? 'raw';
  const files = capturePaths(dir, cj);
  const misplaced = (
    [
      ['bytes', 'raw'],
      ['frame', 'hex'],
      ['tx', 'named-hex'],
    ] as const
  ).filter(([k, f]) => cj[k] !== undefined && format !== f);
  if (misplaced.length) throw new Error(`${dir}: ${misplaced.map(([k, f]) => `"${k}" applies to format ${f} only`).join('; ')}`);
  if ((format === 'raw' || format === 'hexlog') && files.length > 1) throw new Error(`${dir}: format ${format} takes one capture file`);
  switch (format) {
    case 'hexlog':
      return { format, data: readFileSync(files[0]), file: files[0] };
    case 'raw': {
      const whole = readFileSync(files[0]);
      if (!cj.bytes) return { format, data: whole, file: files[0] };
      const { start = 0, end = whole.length } = cj.bytes;
      if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start < end && end <= whole.length)) {
        throw new Error(`${dir}: bytes ${JSON.stringify(cj.bytes)} outside the ${whole.length} bytes of the capture`);
      }
      return { format, data: whole.subarray(start, end) };
    }
    case 'hex': {
      const frame = cj.frame ? FRAMERS[cj.frame] : (b: Buffer): Buffer => b;
      if (!frame) throw new Error(`${dir}: unknown frame ${cj.frame}`);
      const chunks = files.map((f) => ({
        dir: 'RX' as const,
        bytes: frame(Buffer.concat(chunksOf(readFileSync(f, 'latin1'), f, (l) => `RX ${l}`).map((c) => c.bytes))),
      }));
      return { format: 'hexlog', data: Buffer.from(toHexlog(chunks), 'latin1') };
    }
    case 'named-hex': {
      const tx = new Set(cj.tx ?? []);
      const seen = new Set<string>();
      const chunks = files.flatMap((f) =>
        chunksOf(readFileSync(f, 'latin1'), f, (l) => {
          const [name, ...hex] = l.split(/\s+/);
          seen.add(name);
          return `${tx.has(name) ? 'TX' : 'RX'} ${hex.join('')}`;
        }),
      );
      const unknown = [...tx].filter((n) => !seen.has(n));
      if (unknown.length) throw new Error(`${dir}: "tx" names not in the capture: ${unknown.join(', ')}`);
      return { format: 'hexlog', data: Buffer.from(toHexlog(chunks), 'latin1') };
    }
    default:
      throw new Error(`${dir}: unknown format ${String(format)}`);
  }
}

export interface CaseDecode {
  code: number;
  out: string;
  err: string;
  lines: string[];
  summary: Record<string, unknown>;
}

/**
 * Runs `orlink decode` (in process) on a case: on the capture file itself when it needs no
 * conversion, else on the built bytes in a temp file removed afterwards.
 */
export async function decodeCase(dir: string, extraArgv: string[] = []): Promise<CaseDecode> {
  const cj = readCase(dir);
  const input = caseInput(dir);
  const tmp = input.file ? undefined : mkdtempSync(join(tmpdir(), 'orlink-case-'));
  try {
    const file = input.file ?? join(tmp!, 'capture');
    if (!input.file) writeFileSync(file, input.data);
    const argv = ['--protocol', cj.protocol, '--input', file, '--format', input.format, ...(cj.profile ? ['--profile', cj.profile] : []), ...extraArgv];
    let out = '';
    let err = '';
    const code = await run(argv, {
      out: (l) => {
        out += l;
      },
      err: (l) => {
        err += l;
      },
    });
    let summary: Record<string, unknown> = {};
    try {
      summary = (JSON.parse(err.trim().split('\n').pop() ?? '') as { summary: Record<string, unknown> }).summary;
    } catch {
      /* code != 0: err says why */
    }
    return { code, out, err, lines: out.split('\n').filter(Boolean), summary };
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}
