/**
 * Ingest's trust boundary:
 *  - `ingest/envelope` decodeEnvelope (schemas/src/envelope.ts) on arbitrary bytes: it may only
 *    throw EnvelopeError; what it returns must be canonical and re-encodable (the processor
 *    re-encodes refused device batches for the dead-letter store);
 *  - `ingest/batch` the MQTT batch processor (validation, routing, layout, dedupe, dead letters)
 *    with in-memory doubles (sqlite :memory: registry, MemorySeriesStore) on one data message:
 *    it must resolve and ack the message (stored or dead-lettered), never throw or retry forever
 *    (a retry loop never resolves: the watchdog reports it as a hang).
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { decodeEnvelope, encodeEnvelope, EnvelopeError, type Envelope } from '../../../schemas/src/envelope.js';
import { BatchProcessor } from '../../../ingest/src/mqtt/processor.js';
import { fixtureDb, silent } from '../../../ingest/src/mqtt/test-fixtures.js';
import { MemorySeriesStore } from '../../../ingest/src/series/memory.js';
import { Metrics } from '../../../ingest/src/metrics.js';
import { envelopeSeeds } from '../encoder-seeds.js';
import { checkObservation } from '../oracle.js';
import { InvariantError, type Codec, type FuzzCase, type FuzzTarget, type Seed } from '../types.js';

/**
 * Structure-aware mutation of envelopes: every leaf of the decoded protobuf (as a plain object) is
 * one record holding its JSON text; mutations change values ("NaN" / "Infinity" strings become
 * those numbers, text that is no longer JSON becomes a string), drop them (the field is removed) or
 * copy them over others; the object is encoded back with the schema, so the cases are valid
 * protobuf and reach decodeEnvelope's validation.
 */
const ENVELOPE = protobuf.loadSync(fileURLToPath(new URL('../../../schemas/proto/orlink.proto', import.meta.url))).lookupType('orlink.v1.Envelope');
const SPECIAL: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };
type Path = (string | number)[];
const shapes = new Map<string, { obj: unknown; paths: Path[] }>();

function leaves(v: unknown, path: Path, out: Path[]): void {
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) leaves(x, [...path, Array.isArray(v) ? Number(k) : k], out);
  } else out.push(path);
}

function shapeOf(seed: Seed): { obj: unknown; paths: Path[] } {
  let s = shapes.get(seed.name);
  if (!s) {
    const obj = ENVELOPE.toObject(ENVELOPE.decode(seed.chunks[0].bytes), { longs: Number, defaults: false });
    const paths: Path[] = [];
    leaves(obj, [], paths);
    shapes.set(seed.name, (s = { obj, paths }));
  }
  return s;
}

const at = (obj: unknown, path: Path): unknown => path.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)?.[k], obj);

export const envelopeCodec: Codec = {
  keepAll: true,
  split(seed) {
    const { obj, paths } = shapeOf(seed);
    return paths.map((p, tag) => ({ dir: 'RX', tag, bytes: Buffer.from(JSON.stringify(at(obj, p))) }));
  },
  join(recs, seed) {
    const { obj, paths } = shapeOf(seed);
    const out = structuredClone(obj) as Record<string, unknown>;
    const kept = new Set(recs.map((r) => r.tag));
    for (let tag = paths.length - 1; tag >= 0; tag--) {
      if (kept.has(tag)) continue;
      const p = paths[tag];
      const parent = at(out, p.slice(0, -1)) as Record<string | number, unknown> | undefined;
      if (parent && typeof parent === 'object') delete parent[p[p.length - 1]];
    }
    for (const r of recs) {
      const p = paths[r.tag];
      if (!p?.length) continue;
      const text = r.bytes.toString('utf8');
      let v: unknown;
      try {
        v = JSON.parse(text, (_k, x: unknown) => (typeof x === 'string' && x in SPECIAL ? SPECIAL[x] : x));
      } catch {
        v = text;
      }
      const parent = at(out, p.slice(0, -1)) as Record<string | number, unknown> | undefined;
      if (parent && typeof parent === 'object') parent[p[p.length - 1]] = v;
    }
    for (const v of Object.values(out)) if (Array.isArray(v)) v.splice(0, v.length, ...v.filter((x) => x !== undefined));
    try {
      return [{ dir: 'RX', bytes: Buffer.from(ENVELOPE.encode(ENVELOPE.fromObject(out)).finish()) }];
    } catch {
      return seed.chunks;
    }
  },
};

const DICT = [
  Buffer.of(0x08),
  Buffer.of(0x0a),
  Buffer.of(0x12),
  Buffer.of(0x1a),
  Buffer.of(0x22),
  Buffer.of(0x29),
  Buffer.of(0x31),
  Buffer.of(0x39),
  Buffer.of(0xff, 0xff, 0xff, 0xff, 0x0f),
  Buffer.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
  Buffer.of(0x80, 0x80, 0x80, 0x80, 0x80),
  Buffer.of(0, 0, 0, 0, 0, 0, 0xf8, 0x7f),
  Buffer.of(0, 0, 0, 0, 0, 0, 0xf0, 0x7f),
  Buffer.of(0, 0, 0, 0, 0, 0, 0xf0, 0xff),
  Buffer.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xef, 0x7f),
  Buffer.from('gw1'),
  Buffer.from('MDC_ECG_HEART_RATE'),
  Buffer.from('"NaN"'),
  Buffer.from('"Infinity"'),
  Buffer.from('"-Infinity"'),
  Buffer.from('1e308'),
  Buffer.from('-1'),
  Buffer.from('0'),
  Buffer.from('""'),
  Buffer.from('4294967295'),
  Buffer.from('9007199254740993'),
  Buffer.from('"hieh"'),
  Buffer.from('[]'),
  Buffer.from('null'),
];

const fail = (msg: string): never => {
  throw new InvariantError(msg);
};

function checkEnvelope(env: Envelope): number {
  let n = 0;
  if (typeof env.gatewayId !== 'string' || typeof env.bootId !== 'string') fail('gatewayId/bootId not strings');
  if (!Number.isFinite(env.seq) || !Number.isFinite(env.sentAt)) fail(`seq/sentAt ${env.seq}/${env.sentAt} not finite`);
  if (!Array.isArray(env.devices)) fail('devices is not an array');
  for (const d of env.devices) {
    if (typeof d.deviceId !== 'string' || typeof d.profileId !== 'string') fail('deviceId/profileId not strings');
    for (const list of [d.numerics, d.waves, d.alarms, d.settings])
      for (const o of list) {
        checkObservation(o);
        n++;
      }
  }
  return n;
}

/** decodeEnvelope's contract: a valid envelope, or an EnvelopeError. */
function decodeOrNull(bytes: Uint8Array): Envelope | null {
  try {
    return decodeEnvelope(bytes);
  } catch (err) {
    if (err instanceof EnvelopeError) return null;
    throw err;
  }
}

export const envelopeTarget: FuzzTarget = {
  name: 'ingest/envelope',
  group: 'ingest',
  kind: 'buffer',
  seeds: envelopeSeeds,
  dict: DICT,
  codec: envelopeCodec,
  maxBytes: 8192,
  run(c: FuzzCase) {
    const env = decodeOrNull(c.chunks[0]?.bytes ?? Buffer.alloc(0));
    if (!env) return 0;
    const n = checkEnvelope(env);
    encodeEnvelope(env); // the dead-letter path re-encodes what was decoded
    return n;
  },
};

const TOPIC = 'orlink/v1/s1/or1/bed1/gw1/data';
const FRESH_EVERY = 500;
const NEVER = new AbortController().signal;
let fixture: Awaited<ReturnType<typeof fixtureDb>> | undefined;
let rig: { p: BatchProcessor; metrics: Metrics; uses: number } | undefined;

/**
 * The registry fixture once (its password hashing is slow: in setup, outside the hang watch); a
 * fresh processor and series store every FRESH_EVERY cases; the dedupe keys cleared before every
 * case, so a mutated envelope that kept its (gateway, boot, seq) is validated, not skipped.
 */
function processor(): NonNullable<typeof rig> {
  if (!fixture) throw new Error('ingest/batch: setup() did not run');
  fixture.dedupe.prune(Number.MAX_SAFE_INTEGER);
  if (!rig || rig.uses++ >= FRESH_EVERY) {
    const metrics = new Metrics();
    rig = {
      p: new BatchProcessor({
        prefix: 'orlink/v1',
        ...fixture,
        metrics,
        series: new MemorySeriesStore(),
        logger: silent,
        retryMinMs: 1,
        retryMaxMs: 5,
        now: () => 1_790_000_000_000,
      }),
      metrics,
      uses: 1,
    };
  }
  return rig;
}

export const batchTarget: FuzzTarget = {
  name: 'ingest/batch',
  group: 'ingest',
  kind: 'buffer',
  seeds: envelopeSeeds,
  dict: DICT,
  codec: envelopeCodec,
  maxBytes: 8192,
  async setup() {
    fixture ??= await fixtureDb();
  },
  async run(c: FuzzCase) {
    const r = processor();
    const written = r.metrics.get('envelopes_written_total');
    // never aborted: a write retried forever shows as a hang (the watchdog), not as a timeout here
    const out = await r.p.process([{ topic: TOPIC, payload: c.chunks[0]?.bytes ?? Buffer.alloc(0) }], NEVER);
    if (out.ack.length !== 1 || out.ack[0] !== true) fail('message not acked: neither stored nor dead-lettered');
    for (const v of out.vitals) JSON.parse(v.payload);
    return r.metrics.get('envelopes_written_total') - written; // 1: stored, 0: dead-lettered
  },
};

export function ingestTargets(): FuzzTarget[] {
  return [envelopeTarget, batchTarget];
}
