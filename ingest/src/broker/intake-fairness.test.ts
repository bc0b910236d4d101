/**
 * Durable intake fairness (durable-intake.ts): lanes are served round-robin within a byte budget,
 * a lane is in at most one batch at a time (so a resend is a duplicate, never written twice), and
 * with concurrency 2 one gateway's blocked write does not hold another gateway's PUBACK.
 */
import t from 'tap';
import type { BatchOutcome, BatchProcessor, InMessage } from '../mqtt/processor.js';
import { silent, until } from '../mqtt/test-fixtures.js';
import { MemorySeriesStore } from '../series/memory.js';
import type { SeriesPoint, WriteResult } from '../series/types.js';
import { brokerRig, dataBytes, GW } from './broker-fixture.js';
import { DurableIntake } from './durable-intake.js';

/** a processor that records its batches and finishes each one when told */
class FakeProcessor {
  readonly batches: string[][] = [];
  private readonly open: (() => void)[] = [];
  process(msgs: readonly InMessage[]): Promise<BatchOutcome> {
    this.batches.push(msgs.map((m) => m.topic));
    return new Promise((resolve) => this.open.push(() => resolve({ ack: msgs.map(() => true), vitals: [] })));
  }
  finishNext(): void {
    this.open.shift()?.();
  }
  get running(): number {
    return this.open.length;
  }
}

t.test('round-robin over lanes within the byte budget; one batch per lane at a time', async (t) => {
  const p = new FakeProcessor();
  const intake = new DurableIntake({ processor: p as unknown as BatchProcessor, batchMaxEnvelopes: 64, batchMaxBytes: 1000, concurrency: 1, logger: silent });
  t.teardown(() => intake.close());
  const big = new Uint8Array(600);
  const small = new Uint8Array(10);
  const done = [
    intake.submit('A1', big, undefined, 'A'),
    intake.submit('A2', big, undefined, 'A'),
    intake.submit('B1', small, undefined, 'B'),
    intake.submit('B2', small, undefined, 'B'),
    intake.submit('B3', small, undefined, 'B'),
  ];
  await until(() => p.batches.length === 1, 2000, 'first batch');
  t.same(p.batches[0], ['A1', 'B1', 'B2', 'B3'], 'A2 does not fit the budget; B is not queued behind A');
  p.finishNext();
  await until(() => p.batches.length === 2, 2000, 'second batch');
  t.same(p.batches[1], ['A2']);
  p.finishNext();
  t.same(await Promise.all(done), [true, true, true, true, true]);
  // a message larger than the budget still goes, alone
  const huge = intake.submit('H', new Uint8Array(5000), undefined, 'H');
  await until(() => p.batches.length === 3, 2000, 'third batch');
  p.finishNext();
  t.equal(await huge, true);
});

t.test('concurrency 2: a lane being processed is not taken again; other lanes proceed', async (t) => {
  const p = new FakeProcessor();
  const intake = new DurableIntake({ processor: p as unknown as BatchProcessor, batchMaxEnvelopes: 64, concurrency: 2, logger: silent });
  t.teardown(() => intake.close());
  const a1 = intake.submit('A1', new Uint8Array(1), undefined, 'A');
  await until(() => p.batches.length === 1, 2000, 'A1 in process');
  const a2 = intake.submit('A2', new Uint8Array(1), undefined, 'A');
  const b1 = intake.submit('B1', new Uint8Array(1), undefined, 'B');
  await until(() => p.batches.length === 2, 2000, 'second batch');
  t.same(p.batches[1], ['B1'], 'A2 waits for A1; B1 runs beside it');
  t.equal(p.running, 2);
  p.finishNext(); // A1
  await until(() => p.batches.length === 3, 2000, 'A2 after A1');
  t.same(p.batches[2], ['A2']);
  p.finishNext();
  p.finishNext();
  t.same(await Promise.all([a1, a2, b1]), [true, true, true]);
});

t.test("embedded broker: one gateway's blocked write does not hold another's PUBACK", async (t) => {
  // gw1's points (bed1) block in the writer; gw2's (bed2) go through
  const inner = new MemorySeriesStore();
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let blocked = 0;
  const writer = {
    kind: 'bed1-gated',
    open: () => Promise.resolve(),
    ping: () => Promise.resolve(true),
    close: () => Promise.resolve(),
    async write(points: readonly SeriesPoint[]): Promise<WriteResult> {
      if (points.some((p) => p.tags.bed === 'bed1')) {
        blocked++;
        await gate;
      }
      return inner.write(points);
    },
  };
  const s = await brokerRig(t, { writer, limits: { intakeConcurrency: 2 } });
  t.teardown(() => release());
  const gw1 = await s.connect('gw1', GW.gw1.password);
  const gw2 = await s.connect('gw2', GW.gw2.password);
  const a = gw1.publishAsync(`${GW.gw1.base}/data`, dataBytes('gw1', 1), { qos: 1 });
  await until(() => blocked === 1, 5000, "gw1's write blocked");
  const t0 = performance.now();
  await gw2.publishAsync(`${GW.gw2.base}/data`, dataBytes('gw2', 1), { qos: 1 });
  t.comment(`gw2 PUBACK while gw1's write is blocked: ${(performance.now() - t0).toFixed(0)} ms`);
  t.equal(inner.size('numeric'), 1, 'gw2 stored');
  release();
  await a;
  t.equal(inner.size('numeric'), 2);
});
