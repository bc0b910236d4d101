/**
 * Crasher files: `crashers/<target>/<sha>.hexlog` (stream targets: one RX/TX line per chunk, so
 * the chunking is kept; `orlink decode --protocol <p> --format hexlog --input <file>` replays a
 * decode crasher by hand) or `<sha>.bin` (buffer targets), each with `<sha>.json` beside it
 * (target, failure, how the case is fed, where it was found). <sha> = first 16 hex digits of the
 * SHA-256 of the data file. Replaying = running the saved case through the same target.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { parseHexlog, toHexlog } from '../../cli/decode.js';
import type { Failure } from './runner.js';
import type { FuzzCase, FuzzTarget } from './types.js';

export const CRASHERS_DIR = join(import.meta.dirname, 'crashers');

export interface CrasherMeta {
  target: string;
  kind: Failure['kind'];
  message: string;
  signature: string;
  feed: Omit<FuzzCase, 'chunks'>;
  found: { seed?: number; index: number; bytesBefore?: number; bytes: number; at: string };
  stack?: string;
}

export interface Crasher {
  file: string;
  target: string;
  case: FuzzCase;
  meta?: CrasherMeta;
}

/** Writes the failure's input (if it has one) under `dir`; returns the data file path. */
export function saveCrasher(dir: string, kind: FuzzTarget['kind'], f: Failure, seed?: number): string | undefined {
  if (!f.case) return undefined;
  const c = f.case;
  const data =
    kind === 'buffer'
      ? Buffer.concat(c.chunks.map((ch) => ch.bytes))
      : Buffer.from(toHexlog(c.chunks, `orlink fuzz crasher: ${f.kind} in ${f.target}\n${f.message.split('\n')[0].slice(0, 300)}`), 'latin1');
  const sha = createHash('sha256').update(data).digest('hex').slice(0, 16);
  const folder = join(dir, ...f.target.split('/'));
  mkdirSync(folder, { recursive: true });
  const file = join(folder, `${sha}.${kind === 'buffer' ? 'bin' : 'hexlog'}`);
  writeFileSync(file, data);
  const { chunks: _chunks, ...feed } = c;
  const meta: CrasherMeta = {
    target: f.target,
    kind: f.kind,
    message: f.message.slice(0, 2000),
    signature: f.signature,
    feed,
    found: { seed, index: f.index, bytesBefore: f.bytesBefore, bytes: c.chunks.reduce((n, ch) => n + ch.bytes.length, 0), at: new Date().toISOString() },
    stack: f.stack?.split('\n').slice(0, 12).join('\n'),
  };
  writeFileSync(join(folder, `${sha}.json`), `${JSON.stringify(meta, null, 2)}\n`);
  return file;
}

const FEED_DEFAULT: Omit<FuzzCase, 'chunks'> = { clock: 'device', stepMs: 250, variant: 0 };

/** Every saved crasher under `dir` (target = its folder path relative to `dir`). */
export function listCrashers(dir = CRASHERS_DIR): Crasher[] {
  if (!existsSync(dir)) return [];
  const out: Crasher[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) {
        walk(p);
        continue;
      }
      const m = /^(.*)\.(hexlog|bin)$/.exec(name);
      if (!m) continue;
      const target = relative(dir, d).split(sep).join('/');
      const metaFile = join(d, `${m[1]}.json`);
      const meta = existsSync(metaFile) ? (JSON.parse(readFileSync(metaFile, 'utf8')) as CrasherMeta) : undefined;
      const raw = readFileSync(p);
      const chunks = m[2] === 'bin' ? [{ dir: 'RX' as const, bytes: raw }] : parseHexlog(raw.toString('latin1')).chunks;
      out.push({ file: p, target, case: { ...FEED_DEFAULT, ...meta?.feed, chunks }, meta });
    }
  };
  walk(dir);
  return out;
}
