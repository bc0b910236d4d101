/** Shared fixtures for ingest tests: a registry with one bed and gateway, envelopes, a gated writer. */
import pino from 'pino';
import type { Envelope } from '../../../schemas/src/envelope.js';
import { CaseStore } from '../cases/case-store.js';
import { Metrics } from '../metrics.js';
import { openDb, type Db } from '../registry/database.js';
import { SqliteRegistry } from '../registry/sqlite-registry.js';
import { MemorySeriesStore } from '../series/memory.js';
import type { SeriesPoint, SeriesWriter, WriteResult } from '../series/types.js';
import { DeadLetterStore } from './dead-letter.js';
import { DedupeStore } from './dedupe.js';

export const silent = pino({ level: 'silent' });

export async function fixtureDb(): Promise<{
  db: Db;
  registry: SqliteRegistry;
  cases: CaseStore;
  dedupe: DedupeStore;
  deadLetters: DeadLetterStore;
  metrics: Metrics;
}> {
  const db = openDb(':memory:');
  const registry = new SqliteRegistry(db);
  registry.createSite({ id: 's1', name: 'Site 1' });
  registry.createRoom({ id: 'or1', siteId: 's1', name: 'OR 1' });
  registry.createBed({ id: 'bed1', roomId: 'or1', name: 'Bed 1' });
  registry.createBed({ id: 'bed2', roomId: 'or1', name: 'Bed 2' });
  await registry.createGateway({ id: 'gw1', bedId: 'bed1', password: 'secret-1' });
  return { db, registry, cases: new CaseStore(db), dedupe: new DedupeStore(db), deadLetters: new DeadLetterStore(db), metrics: new Metrics() };
}

export function envelope(seq: number, t: number, hr: number, bootId = 'boot-a', gatewayId = 'gw1'): Envelope {
  return {
    gatewayId,
    bootId,
    seq,
    sentAt: t + 5,
    devices: [
      {
        deviceId: 'mon1',
        profileId: 'ge/s5',
        numerics: [{ kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, value: hr, unit: '/min', t, vendorCode: 'hr' }],
        waves: [
          {
            kind: 'wave',
            mdc: 'MDC_ECG_ELEC_POTL_II',
            code: 131074,
            unit: 'mV',
            t0: t,
            rateHz: 4,
            scale: 0.01,
            offset: 0,
            vendorCode: 'ecg',
            samples: [0.1, 0.2, null, -0.3],
          },
        ],
        alarms: [],
        settings: [],
      },
    ],
  };
}

/** A writer whose writes wait until `open()`; counts calls. Can also fail on demand. */
export class GatedWriter implements SeriesWriter {
  readonly kind = 'gated';
  calls = 0;
  failWith: Error | null = null;
  private gate: Promise<void>;
  private release!: () => void;
  private entered: (() => void)[] = [];
  constructor(readonly inner = new MemorySeriesStore()) {
    this.gate = new Promise((r) => (this.release = r));
  }
  open(): Promise<void> {
    return Promise.resolve();
  }
  openGate(): void {
    this.release();
  }
  /** resolves when a write call has started */
  whenEntered(): Promise<void> {
    return this.calls > 0 ? Promise.resolve() : new Promise((r) => this.entered.push(r));
  }
  async write(points: readonly SeriesPoint[]): Promise<WriteResult> {
    this.calls++;
    this.entered.splice(0).forEach((r) => r());
    await this.gate;
    if (this.failWith) throw this.failWith;
    return this.inner.write(points);
  }
  ping(): Promise<boolean> {
    return Promise.resolve(true);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Poll `cond` until true or the deadline passes (tests: no sleeps to wait for events). */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 100);
  }
}
