/**
 * Intake integrity under hostile (or buggy) envelopes with the good gateway's own credential, on the
 * real stack: a replayed envelope, the same readings under a new boot id, another value for a stored
 * reading, readings a year ahead and a day behind. Each: the coded answer (deduped / duplicate /
 * conflict row / dead letter / quarantine row with its reason), the counter on GET /metrics, the
 * stored value unchanged in the timeline, and the good readings before and after stored.
 */
import t from 'tap';
import { encodeEnvelope, type Envelope } from '../../schemas/src/envelope.js';
import { DAY, delta, GOOD, GOOD_DATA, hr, startStack } from './stack.js';

const s = await startStack(t, 'integrity');
const COUNTERS = [
  'envelopes_deduped_total',
  'envelopes_written_total',
  'readings_duplicate_total',
  'readings_conflicting_total',
  'readings_time_quarantined_total',
  'envelopes_dead_lettered_total',
  'points_written_total',
] as const;
const t1 = Date.now() - 90_000;
const envelope = (bootId: string, seq: number, value: number, at = t1, sentAt = Date.now()): Buffer =>
  Buffer.from(encodeEnvelope({ gatewayId: GOOD.gatewayId, bootId, seq, sentAt, devices: [hr(at, value)] } satisfies Envelope));
const send = (payload: Buffer) => s.good.publishAsync(GOOD_DATA, payload, { qos: 1 });
/** the good bed's HR points in [from, to] from the case timeline */
const hrAt = async (from: number, to = from) => {
  const r = await s.api('GET', `/cases/${s.caseId}/timeline?from=${from}&to=${to}&params=MDC_ECG_HEART_RATE`);
  return (r.numerics as { device: string; points: [number, number][] }[]).filter((n) => n.device === GOOD.deviceId).flatMap((n) => n.points);
};
const original = envelope('boot-1', 1, 60);

t.test('the original reading: HR 60 stored', async (t) => {
  await send(original);
  t.same(await hrAt(t1), [[t1, 60]]);
});

t.test('replay of the same envelope: deduped (acked, not rewritten), counted', async (t) => {
  const before = await s.metrics(COUNTERS);
  await s.guarded(t, async () => {
    await send(original);
    await send(original);
  });
  const d = delta(before, await s.metrics(COUNTERS));
  t.equal(d.envelopes_deduped_total, 2, 'envelopes_deduped_total +2');
  t.equal(d.envelopes_written_total, 2, 'only the two good envelopes written');
  t.same(await hrAt(t1), [[t1, 60]], 'stored once, unchanged');
});

t.test('the same readings under a new boot id: recognised as duplicates, not rewritten, counted', async (t) => {
  const before = await s.metrics(COUNTERS);
  await s.guarded(t, async () => {
    await send(envelope('boot-2', 1, 60));
  });
  const d = delta(before, await s.metrics(COUNTERS));
  t.equal(d.readings_duplicate_total, 1, 'readings_duplicate_total +1');
  t.equal(d.readings_conflicting_total, 0);
  t.equal(d.points_written_total, 2, 'only the two good points written');
  t.same(await hrAt(t1), [[t1, 60]]);
});

t.test(
  'another value for the stored reading (HR 60 → 10 under a new boot id): the original kept, the new one a conflict row; a third a dead letter',
  async (t) => {
    let before = await s.metrics(COUNTERS);
    await s.guarded(t, async () => {
      await send(envelope('boot-3', 1, 10));
    });
    let d = delta(before, await s.metrics(COUNTERS));
    t.equal(d.readings_conflicting_total, 1, 'readings_conflicting_total +1');
    t.same(await hrAt(t1), [[t1, 60]], 'the timeline still says 60');
    const rows = await s.influxRows(`SELECT * FROM numeric_conflict WHERE time = ${t1}ms`);
    t.equal(rows.length, 1, 'one conflict row');
    t.match(rows[0], { value: 10, c_boot: 'boot-3', c_seq: 1, mdc: 'MDC_ECG_HEART_RATE', device: GOOD.deviceId });

    const dl = new Set((await s.api('GET', '/dead-letters?limit=1000')).items.map((x: { id: number }) => x.id));
    before = await s.metrics(COUNTERS);
    await s.guarded(t, async () => {
      await send(envelope('boot-4', 1, 11));
    });
    d = delta(before, await s.metrics(COUNTERS));
    t.equal(d.readings_conflicting_total, 1, 'a third content: counted');
    const dead = (await s.api('GET', '/dead-letters?limit=1000')).items.filter((x: { id: number }) => !dl.has(x.id));
    t.same(
      dead.map((x: { code: string }) => x.code),
      ['ING_ERR_READING_CONFLICT'],
      'and dead-lettered ING_ERR_READING_CONFLICT',
    );
    t.same(await hrAt(t1), [[t1, 60]], 'the timeline still says 60');
    t.match((await s.influxRows(`SELECT * FROM numeric_conflict WHERE time = ${t1}ms`))[0], { value: 10 }, 'the first conflict row unchanged');
  },
);

t.test('a year ahead and a day behind: quarantined with their reason, not in the timeline nor latest, counted', async (t) => {
  const ahead = Date.now() + 365 * DAY;
  const behind = Date.now() - DAY;
  const before = await s.metrics(COUNTERS);
  await s.guarded(t, async () => {
    await send(envelope('boot-5', 1, 201, ahead));
    await send(envelope('boot-5', 2, 202, behind));
  });
  const d = delta(before, await s.metrics(COUNTERS));
  t.equal(d.readings_time_quarantined_total, 2, 'readings_time_quarantined_total +2');
  const q = await s.influxRows(`SELECT value, q_reason, q_boot, q_seq FROM numeric_quarantine WHERE q_boot = 'boot-5'`);
  t.same(
    q.map((r) => [r.time, r.value, r.q_reason]).sort((a, b) => Number(a[0]) - Number(b[0])),
    [
      [behind, 202, 'behind-envelope'],
      [ahead, 201, 'future'],
    ],
    'kept apart with the reason',
  );
  t.same(await hrAt(behind - 1000, behind + 1000), [], 'the day-behind reading is not in the timeline');
  const main = await s.influxRows(`SELECT value FROM numeric WHERE time = ${ahead}ms OR time = ${behind}ms`);
  t.same(main, [], 'neither is in the main series');
  const latest = await s.api('GET', `/beds/${GOOD.bed}/latest`);
  t.notOk([201, 202].includes(latest.numerics.find((n: { mdc: string }) => n.mdc === 'MDC_ECG_HEART_RATE')?.value), 'latest shows neither');
});
