/**
 * Mutations. A case = one seed, optionally decoded into frame payloads (codec) so that a mutation
 * inside a payload survives the checksum, then 1..10 stacked mutations: bit flips, random / interesting
 * bytes and 16/32-bit words (both byte orders: length fields maxed), inserts and deletes, dictionary
 * tokens (frame delimiters), duplication, splicing from another seed, truncation, chunk drop / copy /
 * swap, and random re-chunking of the byte stream. Deterministic for a given generator.
 */
import { chance, int, pick, weighted, type Rng } from './rng.js';
import type { Chunk, FuzzCase, FuzzTarget, Rec, Seed } from './types.js';

const I8 = [0x00, 0x01, 0x02, 0x0a, 0x0d, 0x10, 0x1f, 0x20, 0x40, 0x63, 0x64, 0x7e, 0x7f, 0x80, 0x81, 0xc0, 0xfe, 0xff];
const I16 = [0x0000, 0x0001, 0x00ff, 0x0100, 0x7ffe, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff, 0x03e8, 0x1000];
const I32 = [0x00000000, 0x00000001, 0x7fffffff, 0x80000000, 0xffffffff, 0x0000ffff, 0xffff0000, 0x00010000, 0x7fff7fff];
const STEPS = [0, 7, 100, 250, 1000, 5000, 61_000];
const MAX_CHUNKS = 4096;

/** A target with its seeds loaded once per process (and their payloads, when it has a codec). */
export interface Prepared {
  target: FuzzTarget;
  seeds: Seed[];
  recs: (Rec[] | undefined)[];
  maxBytes: number;
}

export function prepare(target: FuzzTarget): Prepared {
  const seeds = target.seeds();
  if (!seeds.length) throw new Error(`${target.name}: no seeds`);
  return { target, seeds, recs: seeds.map(() => undefined), maxBytes: target.maxBytes ?? 8 * 1024 };
}

function recsOf(p: Prepared, i: number): Rec[] {
  return (p.recs[i] ??= p.target.codec ? p.target.codec.split(p.seeds[i]) : []);
}

const randomBytes = (r: Rng, n: number): Buffer => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
  return b;
};

type ByteOp =
  | 'flip'
  | 'random'
  | 'i8'
  | 'i16'
  | 'i32'
  | 'arith'
  | 'insert'
  | 'insert-run'
  | 'dict'
  | 'dict-over'
  | 'delete'
  | 'duplicate'
  | 'splice'
  | 'cut-tail'
  | 'cut-head';
const BYTE_OPS: [ByteOp, number][] = [
  ['flip', 10],
  ['random', 6],
  ['i8', 6],
  ['i16', 5],
  ['i32', 4],
  ['arith', 4],
  ['insert', 4],
  ['insert-run', 2],
  ['dict', 5],
  ['dict-over', 3],
  ['delete', 5],
  ['duplicate', 3],
  ['splice', 3],
  ['cut-tail', 1],
  ['cut-head', 1],
];

/** One byte-level mutation of `b` (never modified in place); `donor` gives bytes of another seed. */
export function mutateBytes(r: Rng, b: Buffer, dict: readonly Buffer[], donor: () => Buffer): Buffer {
  const op = weighted(r, BYTE_OPS);
  const len = b.length;
  const at = (extra = 0): number => int(r, 0, Math.max(0, len - extra));
  const insert = (pos: number, x: Buffer): Buffer => Buffer.concat([b.subarray(0, pos), x, b.subarray(pos)]);
  const over = (pos: number, x: Buffer): Buffer => {
    const c = Buffer.from(b);
    x.copy(c, pos, 0, Math.min(x.length, c.length - pos));
    return c;
  };
  if (!len && !['insert', 'insert-run', 'dict', 'splice'].includes(op)) return insert(0, randomBytes(r, int(r, 1, 8)));
  switch (op) {
    case 'flip': {
      const c = Buffer.from(b);
      for (let k = int(r, 1, 4); k > 0; k--) c[int(r, 0, len - 1)] ^= 1 << int(r, 0, 7);
      return c;
    }
    case 'random': {
      const c = Buffer.from(b);
      for (let k = int(r, 1, 4); k > 0; k--) c[int(r, 0, len - 1)] = int(r, 0, 255);
      return c;
    }
    case 'i8':
      return over(at(1), Buffer.of(pick(r, I8)));
    case 'i16': {
      if (len < 2) return over(0, Buffer.of(pick(r, I8)));
      const x = Buffer.alloc(2);
      if (chance(r, 0.5)) x.writeUInt16LE(pick(r, I16));
      else x.writeUInt16BE(pick(r, I16));
      return over(at(2), x);
    }
    case 'i32': {
      if (len < 4) return over(0, Buffer.of(pick(r, I8)));
      const x = Buffer.alloc(4);
      if (chance(r, 0.5)) x.writeUInt32LE(pick(r, I32));
      else x.writeUInt32BE(pick(r, I32));
      return over(at(4), x);
    }
    case 'arith': {
      const c = Buffer.from(b);
      const i = int(r, 0, len - 1);
      c[i] = (c[i] + int(r, -16, 16)) & 0xff;
      return c;
    }
    case 'insert':
      return insert(at(), randomBytes(r, int(r, 1, 32)));
    case 'insert-run':
      return insert(at(), Buffer.alloc(int(r, 1, chance(r, 0.1) ? 4096 : 64), pick(r, I8)));
    case 'dict':
      return dict.length ? insert(at(), pick(r, dict)) : insert(at(), randomBytes(r, 1));
    case 'dict-over':
      return dict.length ? over(at(1), pick(r, dict)) : b;
    case 'delete': {
      const n = int(r, 1, Math.max(1, Math.min(len, chance(r, 0.8) ? 16 : 512)));
      const pos = at(n);
      return Buffer.concat([b.subarray(0, pos), b.subarray(pos + n)]);
    }
    case 'duplicate': {
      const n = int(r, 1, Math.min(len, 256));
      const from = at(n);
      return insert(at(), Buffer.from(b.subarray(from, from + n)));
    }
    case 'splice': {
      const d = donor();
      if (!d.length) return b;
      const n = int(r, 1, Math.min(d.length, 512));
      const from = int(r, 0, d.length - n);
      const piece = Buffer.from(d.subarray(from, from + n));
      return chance(r, 0.5) || !len ? insert(at(), piece) : over(at(1), piece);
    }
    case 'cut-tail':
      return b.subarray(0, int(r, 0, len - 1));
    case 'cut-head':
      return b.subarray(int(r, 1, len));
  }
}

/** Splits runs of same-direction chunks at random points (1-byte reads up to whole runs). */
export function rechunk(r: Rng, chunks: Chunk[]): Chunk[] {
  const out: Chunk[] = [];
  const style = weighted(r, [
    ['tiny', 1],
    ['small', 3],
    ['mixed', 4],
    ['merge', 2],
  ] as const);
  let i = 0;
  while (i < chunks.length) {
    const dir = chunks[i].dir;
    const run: Buffer[] = [];
    while (i < chunks.length && chunks[i].dir === dir) run.push(chunks[i++].bytes);
    const all = Buffer.concat(run);
    if (style === 'merge') {
      out.push({ dir, bytes: all });
      continue;
    }
    for (let at = 0; at < all.length;) {
      const n = style === 'tiny' ? int(r, 1, 3) : style === 'small' ? int(r, 1, 24) : chance(r, 0.5) ? int(r, 1, 64) : int(r, 64, 2048);
      out.push({ dir, bytes: all.subarray(at, at + n) });
      at += n;
    }
  }
  return out.length > MAX_CHUNKS ? rechunk(r, [{ dir: 'RX', bytes: Buffer.concat(out.map((c) => c.bytes)) }]) : out;
}

/** Index of a chunk picked by size (empty chunks stay reachable). */
function pickChunk(r: Rng, chunks: Chunk[]): number {
  let total = 0;
  for (const c of chunks) total += c.bytes.length + 1;
  let x = r() * total;
  for (let i = 0; i < chunks.length; i++) {
    x -= chunks[i].bytes.length + 1;
    if (x < 0) return i;
  }
  return chunks.length - 1;
}

function capBytes(chunks: Chunk[], max: number): Chunk[] {
  let left = max;
  const out: Chunk[] = [];
  for (const c of chunks) {
    if (left <= 0) break;
    out.push(c.bytes.length > left ? { dir: c.dir, bytes: c.bytes.subarray(0, left) } : c);
    left -= c.bytes.length;
  }
  return out;
}

type ChunkOp = 'bytes' | 'drop' | 'copy' | 'swap' | 'dir';
const STREAM_OPS: [ChunkOp, number][] = [
  ['bytes', 20],
  ['drop', 1],
  ['copy', 1],
  ['swap', 1],
  ['dir', 0.2],
];

function mutateChunks(r: Rng, p: Prepared, chunks: Chunk[], donor: () => Buffer): Chunk[] {
  if (!chunks.length) return [{ dir: 'RX', bytes: mutateBytes(r, Buffer.alloc(0), p.target.dict ?? [], donor) }];
  const op = p.target.kind === 'buffer' || chunks.length < 2 ? 'bytes' : weighted(r, STREAM_OPS);
  const c = chunks.slice();
  const i = pickChunk(r, c);
  switch (op) {
    case 'bytes':
      c[i] = { dir: c[i].dir, bytes: mutateBytes(r, c[i].bytes, p.target.dict ?? [], donor) };
      break;
    case 'drop':
      c.splice(i, 1);
      break;
    case 'copy':
      c.splice(int(r, 0, c.length), 0, c[i]);
      break;
    case 'swap': {
      const j = int(r, 0, c.length - 1);
      [c[i], c[j]] = [c[j], c[i]];
      break;
    }
    case 'dir':
      c[i] = { dir: c[i].dir === 'RX' ? 'TX' : 'RX', bytes: c[i].bytes };
      break;
  }
  return c;
}

type RecOp = 'bytes' | 'drop' | 'copy' | 'swap' | 'splice';
const REC_OPS: [RecOp, number][] = [
  ['bytes', 8],
  ['drop', 1],
  ['copy', 1],
  ['swap', 1],
  ['splice', 1],
];

/** Payload-level mutations; the codec puts valid framing and checksums back around them. */
function structured(r: Rng, p: Prepared, si: number, donor: () => Buffer): Chunk[] | undefined {
  const all = recsOf(p, si);
  if (!all.length) return undefined;
  const window = int(r, 1, 10);
  let recs = all;
  if (all.length > window && !p.target.codec!.keepAll) {
    const start = chance(r, 0.2) ? 0 : int(r, 0, all.length - window);
    // keep the first records (identification: association, MDS create, device id) before a later window
    recs = start > 0 && chance(r, 0.3) ? [...all.slice(0, 2), ...all.slice(start, start + window)] : all.slice(start, start + window);
  }
  recs = recs.slice();
  for (let k = int(r, 1, 4); k > 0; k--) {
    const op = recs.length ? weighted(r, REC_OPS) : 'splice';
    const i = int(r, 0, Math.max(0, recs.length - 1));
    switch (op) {
      case 'bytes':
        recs[i] = { ...recs[i], bytes: mutateBytes(r, recs[i].bytes, p.target.dict ?? [], donor) };
        break;
      case 'drop':
        recs.splice(i, 1);
        break;
      case 'copy':
        recs.splice(int(r, 0, recs.length), 0, recs[i]);
        break;
      case 'swap': {
        const j = int(r, 0, recs.length - 1);
        [recs[i], recs[j]] = [recs[j], recs[i]];
        break;
      }
      case 'splice': {
        const other = recsOf(p, int(r, 0, p.seeds.length - 1));
        if (other.length) recs.splice(int(r, 0, recs.length), 0, pick(r, other));
        break;
      }
    }
  }
  return p.target.codec!.join(recs, p.seeds[si]);
}

/**
 * About 1 KiB (256 B – 2 KiB) of a seed, at chunk boundaries when it has many chunks; from the
 * start 1 time in 5 (identification: association, MDS create, device id come first).
 */
export function windowOf(r: Rng, chunks: Chunk[]): Chunk[] {
  const want = int(r, 256, 2048);
  const fromStart = chance(r, 0.2);
  if (chunks.length === 1) {
    const b = chunks[0].bytes;
    if (b.length <= want) return chunks;
    const at = fromStart ? 0 : int(r, 0, b.length - want);
    return [{ dir: chunks[0].dir, bytes: b.subarray(at, at + want) }];
  }
  const out: Chunk[] = [];
  let size = 0;
  for (let i = fromStart ? 0 : int(r, 0, chunks.length - 1); i < chunks.length && size < want; i++) {
    const c = chunks[i];
    out.push(c.bytes.length > want - size ? { dir: c.dir, bytes: c.bytes.subarray(0, Math.max(1, want - size)) } : c);
    size += c.bytes.length;
  }
  return out;
}

/** The input of one case. */
export function generate(p: Prepared, r: Rng): FuzzCase {
  const si = int(r, 0, p.seeds.length - 1);
  const seed = p.seeds[si];
  const donor = (): Buffer => {
    const s = pick(r, p.seeds);
    if (!s.chunks.length) return Buffer.alloc(0);
    const b = pick(r, s.chunks).bytes;
    const at = b.length > 1024 ? int(r, 0, b.length - 1024) : 0;
    return b.subarray(at, at + 1024);
  };
  const fromRecs = p.target.codec && chance(r, 0.5) ? structured(r, p, si, donor) : undefined;
  let chunks = fromRecs ?? windowOf(r, seed.chunks);
  const structuredCase = fromRecs !== undefined;
  // stacked mutations: mostly a few, sometimes many (a structured case is already mutated)
  const n = structuredCase ? (chance(r, 0.3) ? 1 : 0) : Math.min(10, 1 + Math.floor(-Math.log(1 - r()) * 1.5));
  for (let k = 0; k < n; k++) chunks = mutateChunks(r, p, chunks, donor);
  if (p.target.kind === 'stream' && chance(r, 0.35)) chunks = rechunk(r, chunks);
  if (p.target.kind === 'buffer' && chunks.length !== 1) chunks = [{ dir: 'RX', bytes: Buffer.concat(chunks.map((c) => c.bytes)) }];
  chunks = capBytes(chunks, p.maxBytes);
  const prof = r();
  return {
    chunks,
    profileId: prof < 0.2 ? undefined : prof < 0.4 && seed.expectProfile ? seed.expectProfile : seed.profileId,
    clock: chance(r, 0.6) ? 'device' : 'gateway',
    stepMs: pick(r, STEPS),
    variant: int(r, 0, 7),
  };
}
