/**
 * Abstract outbox suite: every Outbox implementation must pass it (aedes-persistence style).
 * `make(opts)` returns a fresh, unopened outbox; the suite opens and closes it.
 */
import type { Test } from 'tap';
import type { Outbox } from './outbox.js';

export type OutboxFactory = (opts: { maxBytes: number; segmentBytes: number }) => Promise<Outbox> | Outbox;

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

export function outboxSuite(t: Test, make: OutboxFactory): void {
  const big = { maxBytes: 1 << 24, segmentBytes: 1 << 20 };

  t.test('append returns increasing seqs; the builder gets its seq', async (t) => {
    const ob = await make(big);
    await ob.open();
    t.teardown(() => ob.close());
    const a = await ob.append(bytes('a'));
    const b = await ob.append((seq) => bytes(`seq=${seq}`), { readings: 3 });
    t.ok(a >= 1);
    t.equal(b, a + 1);
    const recs = await ob.peek(0, 10);
    t.same(
      recs.map((r) => r.seq),
      [a, b],
    );
    t.equal(text(recs[1].payload), `seq=${b}`);
    t.equal(recs[1].readings, 3);
    t.same(ob.depth(), { records: 2, bytes: 1 + `seq=${b}`.length });
    t.equal(ob.stats.appended, 2);
  });

  t.test('concurrent appends get unique seqs in call order', async (t) => {
    const ob = await make(big);
    await ob.open();
    t.teardown(() => ob.close());
    const seqs = await Promise.all(Array.from({ length: 200 }, (_, i) => ob.append(bytes(`r${i}`))));
    t.same(
      seqs,
      seqs.map((_, i) => seqs[0] + i),
      'consecutive, in call order',
    );
    const recs = await ob.peek(0, 1000);
    t.same(
      recs.map((r) => text(r.payload)),
      seqs.map((_, i) => `r${i}`),
    );
  });

  t.test('peek honours fromSeq and max; ack removes, in or out of order', async (t) => {
    const ob = await make(big);
    await ob.open();
    t.teardown(() => ob.close());
    const seqs: number[] = [];
    for (let i = 0; i < 10; i++) seqs.push(await ob.append(bytes(`x${i}`)));
    t.same(
      (await ob.peek(seqs[3], 4)).map((r) => r.seq),
      seqs.slice(3, 7),
    );
    ob.ack(seqs[5]);
    ob.ack(seqs[0]);
    ob.ack(seqs[1]);
    ob.ack(seqs[1]);
    ob.ack(999_999); // duplicate and unknown acks are ignored
    t.same(
      (await ob.peek(0, 100)).map((r) => r.seq),
      seqs.filter((_, i) => ![0, 1, 5].includes(i)),
    );
    t.equal(ob.depth().records, 7);
    t.equal(ob.stats.acked, 3);
    for (const s of seqs) ob.ack(s);
    t.same(await ob.peek(0, 100), []);
    t.same(ob.depth(), { records: 0, bytes: 0 });
  });

  t.test('bound drops the OLDEST unacked records and counts every one', async (t) => {
    const ob = await make({ maxBytes: 8192, segmentBytes: 1024 });
    await ob.open();
    t.teardown(() => ob.close());
    const drops: number[] = [];
    ob.onChange((ev) => {
      if (ev.type === 'drop') drops.push(ev.seq);
    });
    const payload = new Uint8Array(200).fill(7);
    const seqs: number[] = [];
    for (let i = 0; i < 200; i++) seqs.push(await ob.append(payload, { readings: 5 }));
    const left = (await ob.peek(0, 10_000)).map((r) => r.seq);
    t.ok(left.length > 0 && left.length < 200, `kept ${left.length}`);
    t.same(left, seqs.slice(seqs.length - left.length), 'what is left is the newest suffix');
    t.equal(ob.stats.droppedRecords + left.length, 200, 'kept + dropped = appended');
    t.equal(ob.stats.droppedReadings, ob.stats.droppedRecords * 5);
    t.equal(ob.stats.droppedBytes, ob.stats.droppedRecords * 200);
    t.ok(ob.depth().bytes <= 8192);
    t.ok(drops.length > 0, 'drop events emitted');
  });

  t.test('acked records are not counted as dropped', async (t) => {
    const ob = await make({ maxBytes: 8192, segmentBytes: 1024 });
    await ob.open();
    t.teardown(() => ob.close());
    const payload = new Uint8Array(200);
    for (let i = 0; i < 200; i++) ob.ack(await ob.append(payload, { readings: 1 }));
    t.equal(ob.stats.droppedRecords, 0);
    t.equal(ob.stats.acked, 200);
  });

  t.test('too-large record is refused and counted; the next one still goes in', async (t) => {
    const ob = await make({ maxBytes: 8192, segmentBytes: 1024 });
    await ob.open();
    t.teardown(() => ob.close());
    await t.rejects(ob.append(new Uint8Array(5000)), { code: 'GW_ERR_OUTBOX_TOO_LARGE' });
    t.equal(ob.stats.rejectedTooLarge, 1);
    const s = await ob.append(bytes('ok'));
    t.same(
      (await ob.peek(0, 10)).map((r) => r.seq),
      [s],
    );
  });

  t.test('close is idempotent; append after close is refused', async (t) => {
    const ob = await make(big);
    await ob.open();
    await ob.append(bytes('a'));
    await ob.close();
    await ob.close();
    await t.rejects(ob.append(bytes('b')), { code: 'GW_ERR_OUTBOX_CLOSED' });
  });

  t.test('append listeners fire after the record is readable', async (t) => {
    const ob = await make(big);
    await ob.open();
    t.teardown(() => ob.close());
    const seen: number[] = [];
    const off = ob.onChange((ev) => {
      if (ev.type === 'append') seen.push(ev.seq);
    });
    const s = await ob.append(bytes('z'));
    off();
    await ob.append(bytes('y'));
    t.same(seen, [s]);
  });
}
