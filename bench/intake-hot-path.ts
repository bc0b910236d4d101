/**
 * Hot-path cost of ingest's MQTT intake (BatchProcessor) with the memory series store: how many
 * envelopes per second one process turns into stored points, nothing else on the path (no MQTT, no
 * InfluxDB). Written to compare the processor before and after intake integrity (docs/security.md
 * "Intake integrity"): run it in both trees. Measures only, asserts nothing; never part of `make test`.
 *
 *   node --expose-gc --import tsx bench/intake-hot-path.ts [beds=50] [seconds=360] [reps=3]
 *
 * Load: per bed and simulated second one envelope like a GE S/5 gateway in the soak: 36 numerics,
 * ECG 300 Hz and pleth 100 Hz blocks (400 samples), a device status; batches of 32 envelopes of one
 * gateway (what aedes hands over for one socket read). Beds take turns, times advance 1 s per round.
 * Wall time and CPU time (user + system of this process) are both reported: on a shared machine the CPU
 * time is the steadier figure.
 */
import pino from 'pino';
import { encodeEnvelope, type Envelope } from '../schemas/src/envelope.js';
import { CaseStore } from '../ingest/src/cases/case-store.js';
import { Metrics } from '../ingest/src/metrics.js';
import { DeadLetterStore } from '../ingest/src/mqtt/dead-letter.js';
import { DedupeStore } from '../ingest/src/mqtt/dedupe.js';
import { BatchProcessor } from '../ingest/src/mqtt/processor.js';
import { openDb } from '../ingest/src/registry/database.js';
import { SqliteRegistry } from '../ingest/src/registry/sqlite-registry.js';
import { MemorySeriesStore } from '../ingest/src/series/memory.js';

const [beds = 50, seconds = 360, reps = 3] = process.argv.slice(2).map(Number);
const BATCH = 32;
const gc = (globalThis as { gc?: () => void }).gc;

function envelope(gw: string, boot: string, seq: number, t: number, bias: number): Envelope {
  return {
    gatewayId: gw,
    bootId: boot,
    seq,
    sentAt: t + 900,
    devices: [
      {
        deviceId: `${gw}-mon`,
        profileId: 'ge/s5',
        numerics: Array.from({ length: 36 }, (_, i) => ({
          kind: 'numeric' as const,
          mdc: `MDC_X_${i}`,
          code: 1000 + i,
          value: 60 + ((i + seq + bias) % 40),
          unit: '/min',
          t: t + (i % 5) * 100,
          vendorCode: `v${i}`,
        })),
        waves: [
          {
            kind: 'wave',
            mdc: 'MDC_ECG_ELEC_POTL_II',
            code: 131074,
            unit: 'mV',
            t0: t,
            rateHz: 300,
            scale: 0.001,
            offset: 0,
            vendorCode: 'ecg2',
            samples: Array.from({ length: 300 }, (_, i) => Math.round(Math.sin((i + bias) / 10) * 1000) / 1000),
          },
          {
            kind: 'wave',
            mdc: 'MDC_PULS_OXIM_PLETH',
            code: 150452,
            unit: '1',
            t0: t,
            rateHz: 100,
            scale: 1,
            offset: 0,
            vendorCode: 'pleth',
            samples: Array.from({ length: 100 }, (_, i) => (i * 7 + bias) % 256),
          },
        ],
        alarms: [],
        settings: [],
        status: { link: 'streaming', model: 'S/5', firmware: '3.2', frames: seq, errors: 0 },
      },
    ],
  };
}

async function setup() {
  const db = openDb(':memory:');
  const registry = new SqliteRegistry(db);
  registry.createSite({ id: 's1', name: 'S' });
  registry.createRoom({ id: 'or1', siteId: 's1', name: 'OR' });
  for (let b = 0; b < beds; b++) {
    registry.createBed({ id: `bed${b}`, roomId: 'or1', name: `Bed ${b}` });
    await registry.createGateway({ id: `gw${b}`, bedId: `bed${b}`, password: `password-${b}` });
  }
  const store = new MemorySeriesStore();
  const p = new BatchProcessor({
    prefix: 'orlink/v1',
    registry,
    cases: new CaseStore(db),
    series: store,
    dedupe: new DedupeStore(db),
    deadLetters: new DeadLetterStore(db),
    metrics: new Metrics(),
    logger: pino({ level: 'silent' }),
  });
  return { db, p, store };
}

/** encodes every envelope first (the gateway's work), then times process() alone */
async function pass(p: BatchProcessor, boot: string, t0: number, bias: number): Promise<{ envelopes: number; ms: number; cpuMs: number }> {
  const batches: { topic: string; payload: Uint8Array }[][] = [];
  for (let b = 0; b < beds; b++) {
    for (let s0 = 0; s0 < seconds; s0 += BATCH) {
      const batch = [];
      for (let s = s0; s < Math.min(seconds, s0 + BATCH); s++) {
        batch.push({ topic: `orlink/v1/s1/or1/bed${b}/gw${b}/data`, payload: encodeEnvelope(envelope(`gw${b}`, boot, s + 1, t0 + s * 1000, bias)) });
      }
      batches.push(batch);
    }
  }
  // rounds: every bed's next batch in turn, so the beds' times advance together
  const perBed = Math.ceil(seconds / BATCH);
  const order = Array.from({ length: perBed }, (_, r) => Array.from({ length: beds }, (_, b) => batches[b * perBed + r]))
    .flat()
    .filter(Boolean);
  const signal = new AbortController().signal;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  let envelopes = 0;
  for (const batch of order) {
    const out = await p.process(batch, signal);
    envelopes += out.ack.filter(Boolean).length;
  }
  const cpu = process.cpuUsage(cpu0);
  return { envelopes, ms: performance.now() - start, cpuMs: (cpu.user + cpu.system) / 1000 };
}

const heapMiB = () => {
  gc?.();
  return process.memoryUsage().heapUsed / 1048576;
};
const rows: Record<string, unknown>[] = [];
for (let r = 0; r < reps; r++) {
  const { db, p, store } = await setup();
  const h0 = heapMiB();
  const t0 = Date.now() - seconds * 1000; // the run ends at about now: live data
  const live = await pass(p, 'boot-a', t0, 0);
  const h1 = heapMiB();
  const storeRows = store.size();
  const replay = await pass(p, 'boot-b', t0, 0); // same readings, new boot id
  const conflict = await pass(p, 'boot-c', t0, 1); // same slots, other values
  const integrity = (p as unknown as { integrity?: { index: { entries: number; stats: unknown } } }).integrity;
  rows.push({
    rep: r + 1,
    envelopes: live.envelopes,
    live_env_per_s: Math.round(live.envelopes / (live.ms / 1000)),
    live_us_per_env: Math.round((live.ms * 1000) / live.envelopes),
    live_cpu_us_per_env: Math.round((live.cpuMs * 1000) / live.envelopes),
    replay_cpu_us_per_env: Math.round((replay.cpuMs * 1000) / replay.envelopes),
    conflict_cpu_us_per_env: Math.round((conflict.cpuMs * 1000) / conflict.envelopes),
    replay_env_per_s: Math.round(replay.envelopes / (replay.ms / 1000)),
    conflict_env_per_s: Math.round(conflict.envelopes / (conflict.ms / 1000)),
    heap_growth_live_mib: Math.round(h1 - h0),
    store_points: storeRows,
    index_entries: integrity?.index.entries ?? null,
    stored_after_replays: store.size(),
  });
  db.close();
}
console.log(JSON.stringify({ beds, seconds, batch: BATCH, readingsPerEnvelope: 36 + 400, node: process.version, rows }, null, 1));
