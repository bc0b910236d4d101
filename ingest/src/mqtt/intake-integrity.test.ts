/**
 * Intake integrity through the BatchProcessor with in-memory doubles: the reading cap, the series
 * budget, the device time window and content identity across boot ids (the probe's findings).
 */
import t, { type Test } from 'tap';
import { decodeEnvelope, encodeEnvelope, type DeviceBatch, type Envelope } from '../../../schemas/src/envelope.js';
import type { Flag, NumericObs, WaveObs } from '../../../schemas/src/observation.js';
import { IngestError } from '../errors.js';
import { MemorySeriesStore } from '../series/memory.js';
import type { SeriesPoint, SeriesReader, SeriesWriter } from '../series/types.js';
import { BatchProcessor, type ProcessorDeps } from './processor.js';
import { fixtureDb, GatedWriter, silent } from './test-fixtures.js';

const T = 'orlink/v1/s1/or1/bed1/gw1/data';
const HOUR = 3_600_000;
const signal = () => new AbortController().signal;

const hr = (t: number, value: number | null, flags?: Flag[], vendorCode = 'hr'): NumericObs => ({
  kind: 'numeric',
  mdc: vendorCode === 'hr' ? 'MDC_ECG_HEART_RATE' : null,
  code: null,
  value,
  unit: '/min',
  t,
  vendorCode,
  ...(flags ? { flags } : {}),
});
const wave = (t0: number, samples: number[]): WaveObs => ({
  kind: 'wave',
  mdc: 'MDC_ECG_ELEC_POTL_II',
  code: 131074,
  unit: 'mV',
  t0,
  rateHz: 4,
  scale: 0.01,
  offset: 0,
  vendorCode: 'ecg',
  samples,
});
const dev = (numerics: NumericObs[], waves: WaveObs[] = []): DeviceBatch => ({
  deviceId: 'mon1',
  profileId: 'ge/s5',
  numerics,
  waves,
  alarms: [],
  settings: [],
});
const env = (seq: number, sentAt: number, devices: DeviceBatch[], bootId = 'boot-a'): Envelope => ({ gatewayId: 'gw1', bootId, seq, sentAt, devices });
const msg = (e: Envelope) => ({ topic: T, payload: encodeEnvelope(e) });

async function make(t: Test, series: SeriesWriter = new MemorySeriesStore(), extra: Partial<ProcessorDeps> = {}) {
  const f = await fixtureDb();
  t.teardown(() => f.db.close());
  let clock = Date.now();
  const p = new BatchProcessor({ prefix: 'orlink/v1', ...f, series, logger: silent, retryMinMs: 1, retryMaxMs: 5, now: () => clock, ...extra });
  return {
    ...f,
    p,
    now: () => clock,
    setNow: (ms: number) => {
      clock = ms;
    },
  };
}

async function hrValues(store: MemorySeriesStore, from: number, to: number): Promise<(number | null)[]> {
  return (await store.query({ bed: 'bed1', from, to, kinds: ['numeric'] })).numerics.map((n) => n.value);
}

t.test('an envelope over the reading cap is dead-lettered whole and counted; the next good one is stored', async (t) => {
  const store = new MemorySeriesStore();
  const s = await make(t, store, { intake: { maxReadingsPerEnvelope: 1000 } });
  const now = s.now();
  // 10 numerics + 1000 wave samples: over (wave samples count one by one)
  const big = env(1, now, [
    dev(
      Array.from({ length: 10 }, (_, i) => hr(now - i * 1000, 60)),
      [
        wave(
          now,
          Array.from({ length: 1000 }, () => 0.1),
        ),
      ],
    ),
  ]);
  const out = await s.p.process([msg(big), msg(env(2, now, [dev([hr(now, 61)])]))], signal());
  t.same(out.ack, [true, true]);
  t.equal(s.metrics.get('envelopes_over_cap_total'), 1);
  t.equal(s.metrics.get('envelopes_dead_lettered_total'), 1);
  const dl = s.deadLetters.list();
  t.equal(dl.length, 1);
  t.equal(dl[0].code, 'ING_ERR_ENVELOPE_OVER_CAP');
  t.match(dl[0].reason, /1010 readings .*more than intake\.maxReadingsPerEnvelope 1000/);
  t.equal(decodeEnvelope(dl[0].payload).seq, 1, 'the whole envelope is kept in the dead letter');
  t.same(await hrValues(store, now - 60_000, now + 1), [61], 'nothing of the over-cap envelope stored; the next one is');
  t.equal(store.size('wave'), 0);
  t.equal(s.dedupe.seen({ gatewayId: 'gw1', bootId: 'boot-a', seq: 2 }), true);
});

t.test('series budget: new series beyond the hourly budget are refused per point, the rest stored; the budget refills', async (t) => {
  const store = new MemorySeriesStore();
  const s = await make(t, store, { intake: { maxNewSeriesPerGatewayHour: 100 } });
  const now = s.now();
  // the probe: 5,000 distinct codes in one envelope (+ the device's known HR series first)
  await s.p.process([msg(env(1, now, [dev([hr(now - 1000, 60)])]))], signal());
  const codes = Array.from({ length: 5000 }, (_, i) => hr(now, i, undefined, `code-${i}`));
  const out = await s.p.process([msg(env(2, now, [dev([hr(now, 61), ...codes])]))], signal());
  t.same(out.ack, [true]);
  const stored = (await store.query({ bed: 'bed1', from: now - 60_000, to: now + 1 })).numerics;
  t.equal(stored.filter((n) => n.vendorCode === 'hr').length, 2, 'the known series keeps its readings');
  // the first envelope's HR series was the first of the 100; it is not charged again
  t.equal(stored.filter((n) => n.vendorCode.startsWith('code-')).length, 99, '99 new series left in the budget');
  t.equal(s.metrics.get('series_budget_refused_total'), 4901);
  const dl = s.deadLetters.list();
  t.equal(dl.length, 1);
  t.equal(dl[0].code, 'ING_ERR_SERIES_BUDGET');
  t.match(dl[0].reason, /4901 point\(s\) refused: series numeric .* budget of 100 new series per hour/);
  t.equal(decodeEnvelope(dl[0].payload).devices[0].numerics.length, 4901, 'the dead letter holds the refused readings only');
  t.equal(s.metrics.get('envelopes_written_total'), 2);

  // a known series costs nothing: more readings of code-0 are stored at once
  await s.p.process([msg(env(3, now + 1000, [dev([hr(now + 1000, 1, undefined, 'code-0')])]))], signal());
  t.equal(s.metrics.get('series_budget_refused_total'), 4901);
  // half an hour later: 50 tokens back
  s.setNow(now + HOUR / 2);
  const later = s.now();
  await s.p.process([msg(env(4, later, [dev(Array.from({ length: 80 }, (_, i) => hr(later, i, undefined, `late-${i}`)))]))], signal());
  t.equal(s.metrics.get('series_budget_refused_total'), 4901 + 30, 'refilled at 100/h: 50 of 80 accepted');
});

t.test('device time window: future and stale readings go to quarantine, the main series is untouched', async (t) => {
  const store = new MemorySeriesStore();
  const s = await make(t, store);
  const now = s.now();
  const YEAR = 365 * 24 * HOUR;
  await s.p.process([msg(env(1, now, [dev([hr(now, 60)])]))], signal());
  const out = await s.p.process(
    [
      msg(env(2, now, [dev([hr(now + YEAR, 10)])])), // a year ahead
      msg(env(3, now, [dev([hr(now - 24 * HOUR, 11)])])), // a day behind its (fresh) envelope
      msg(env(4, now - 8 * 24 * HOUR, [dev([hr(now - 8 * 24 * HOUR, 12)])])), // an envelope older than the backlog horizon
      msg(env(5, now, [dev([hr(now + HOUR, 13)])])), // an hour ahead, unflagged
      msg(env(6, now + HOUR, [dev([hr(now + HOUR + 1000, 14, ['clock-offset'])])])), // gateway clock +1 h: flagged, kept
      msg(env(7, now - 2 * 24 * HOUR, [dev([hr(now - 2 * 24 * HOUR, 15)])])), // a two-day backlog: legitimate
      msg(env(8, now, [dev([hr(now - 2 * HOUR, 16)])])), // an old measurement time (NIBP, HL7 queue): legitimate
    ],
    signal(),
  );
  t.same(out.ack, Array(7).fill(true));
  t.equal(s.metrics.get('readings_time_quarantined_total'), 4);
  t.same(await hrValues(store, now - 10 * 24 * HOUR, now + 2 * YEAR), [15, 16, 60, 14], 'the main series holds only plausible times');
  t.equal(store.size('numeric_quarantine'), 4);
  t.equal(store.size('numeric'), 4);
  t.same(JSON.parse(out.vitals[0].payload).numerics.MDC_ECG_HEART_RATE.value, 14, 'vitals never carry a quarantined reading');
  t.equal(s.deadLetters.count(), 0);
  t.equal(s.metrics.get('envelopes_written_total'), 8);
});

t.test('a quarantined reading never overwrites the main series, also at the same time', async (t) => {
  const store = new MemorySeriesStore();
  const s = await make(t, store);
  const now = s.now();
  await s.p.process([msg(env(1, now, [dev([hr(now - 5 * HOUR, 60)])]))], signal()); // old measurement time inside a fresh envelope
  await s.p.process([msg(env(2, now + 2 * HOUR, [dev([hr(now - 5 * HOUR, 10)])]))], signal()); // same slot, 7 h behind its sent_at
  t.same(await hrValues(store, now - 8 * HOUR, now), [60]);
  t.equal(s.metrics.get('readings_time_quarantined_total'), 1);
  t.equal(s.metrics.get('readings_conflicting_total'), 0, 'quarantined: not compared with the main series');
  t.equal(store.size('numeric_quarantine'), 1);
});

t.test('content identity: the same reading under a new boot id is a duplicate; another value is a conflict, the stored one stays (60 → 10)', async (t) => {
  const store = new MemorySeriesStore();
  let writes = 0;
  const counting: SeriesWriter = {
    kind: 'c',
    open: async () => {},
    ping: async () => true,
    close: async () => {},
    write: (p) => {
      writes++;
      return store.write(p);
    },
  };
  const s = await make(t, counting, { reader: store });
  const now = s.now();
  const block = [0.1, 0.2, 0.3, 0.4];
  await s.p.process([msg(env(1, now, [dev([hr(now, 60)], [wave(now, block)])]))], signal());
  t.equal(writes, 1);
  // replay, same content, new boot id and seq: recognised, not written
  const dup = await s.p.process([msg(env(1, now, [dev([hr(now, 60)], [wave(now, block)])], 'boot-b'))], signal());
  t.same(dup.ack, [true]);
  t.equal(s.metrics.get('readings_duplicate_total'), 2);
  t.equal(writes, 1, 'an envelope of duplicates writes nothing');
  t.equal(s.metrics.get('envelopes_written_total'), 2);
  // the probe: same readings, new boot id, other values
  await s.p.process([msg(env(7, now, [dev([hr(now, 10)], [wave(now, [0.9, 0.9, 0.9, 0.9])])], 'boot-c'))], signal());
  t.same(await hrValues(store, now - 1, now + 1), [60], 'the stored value stays');
  const w = (await store.query({ bed: 'bed1', from: now - 1, to: now + 1, kinds: ['wave'] })).waves;
  t.same(
    w.map((x) => x.samples),
    [block],
    'the stored wave block stays',
  );
  t.equal(store.size('numeric_conflict'), 1, 'the conflicting value is kept apart');
  t.equal(store.size('wave_conflict'), 1);
  t.equal(s.metrics.get('readings_conflicting_total'), 2);
  // the same conflicting envelope again (another boot): a duplicate of the kept conflict, not a second one
  await s.p.process([msg(env(9, now, [dev([hr(now, 10)])], 'boot-d'))], signal());
  t.equal(s.metrics.get('readings_duplicate_total'), 3);
  // a third value for the slot: the conflict slot is taken → dead letter, nothing overwritten
  await s.p.process([msg(env(10, now, [dev([hr(now, 99)])], 'boot-e'))], signal());
  t.equal(s.metrics.get('readings_conflicting_total'), 4);
  const dl = s.deadLetters.list();
  t.same(
    dl.map((d) => d.code),
    ['ING_ERR_READING_CONFLICT'],
  );
  t.same(
    decodeEnvelope(dl[0].payload).devices[0].numerics.map((n) => n.value),
    [99],
  );
  t.same(await hrValues(store, now - 1, now + 1), [60]);
});

t.test('content identity survives a restart and the index window: stored points are looked up in the series store', async (t) => {
  const store = new MemorySeriesStore();
  const s1 = await make(t, store);
  const now = s1.now();
  await s1.p.process([msg(env(1, now, [dev([hr(now, 60), hr(now - 20 * 60_000, 61)])]))], signal());
  // a new process (empty index): the bed's recent window is loaded, older times are looked up
  const s2 = await make(t, store);
  const out = await s2.p.process([msg(env(1, now + 1000, [dev([hr(now, 10), hr(now - 20 * 60_000, 11), hr(now + 1000, 62)])], 'boot-b'))], signal());
  t.same(out.ack, [true]);
  t.same(await hrValues(store, now - HOUR, now + 2000), [61, 60, 62]);
  t.equal(s2.metrics.get('readings_conflicting_total'), 2);
  t.equal(s2.metrics.get('content_lookups_total'), 2, 'one load of the bed, one lookup for the 20-minute-old time');
  // the index window passes: the slot is no longer in memory and is looked up again
  s2.setNow(now + HOUR);
  await s2.p.process([msg(env(2, now + HOUR, [dev([hr(now, 60), hr(now + HOUR, 63)])], 'boot-b'))], signal());
  t.equal(s2.metrics.get('readings_duplicate_total'), 1, 'found in the store: a duplicate');
  t.equal(s2.metrics.get('content_lookups_total'), 3);
  // a backlog drain: one lookup per batch, the looked-up range is remembered
  const drain = Array.from({ length: 20 }, (_, i) =>
    msg(env(100 + i, now - 30 * 60_000 + i * 1000, [dev([hr(now - 30 * 60_000 + i * 1000, 70 + i)])], 'boot-b')),
  );
  await s2.p.process(drain, signal());
  t.equal(s2.metrics.get('content_lookups_total'), 4);
  await s2.p.process(
    drain.map((m, i) => msg(env(200 + i, now - 30 * 60_000 + i * 1000, [dev([hr(now - 30 * 60_000 + i * 1000, 70 + i)])], 'boot-c'))),
    signal(),
  );
  t.equal(s2.metrics.get('content_lookups_total'), 4, 'the same range again: answered from memory');
  t.equal(s2.metrics.get('readings_duplicate_total'), 21);
});

t.test('times that cannot all be looked up are quarantined as unverified, never written unchecked', async (t) => {
  const store = new MemorySeriesStore();
  const s = await make(t, store, { intake: { maxLookupsPerBatch: 1, lookupSpanMs: 60_000 } });
  const now = s.now();
  await s.p.process([msg(env(1, now, [dev([hr(now - 3 * HOUR, 1), hr(now - 2 * HOUR, 2), hr(now, 3)])]))], signal());
  t.equal(s.metrics.get('readings_unverified_total'), 1, 'two old clusters, one lookup allowed');
  t.same(await hrValues(store, now - 4 * HOUR, now), [1, 3]);
  t.equal(store.size('numeric_quarantine'), 1);
});

t.test('a write that does not happen reserves nothing: the redelivery is stored, not taken for a duplicate', async (t) => {
  const gated = new GatedWriter();
  gated.failWith = new IngestError('ING_ERR_SERIES_TRANSIENT', 'transient', 'down');
  const s = await make(t, gated, { reader: gated.inner });
  const now = s.now();
  const ac = new AbortController();
  const first = s.p.process([msg(env(1, now, [dev([hr(now, 60)])]))], ac.signal);
  await gated.whenEntered();
  ac.abort();
  gated.openGate();
  t.same((await first).ack, [false]);
  const key = 'numeric\u0001s1\u0001or1\u0001bed1\u0001mon1\u0001MDC_ECG_HEART_RATE\u0001hr';
  t.equal(s.p.integrity.budget.isKnown(key), false, 'the series is not known: its budget reservation was dropped');
  t.equal(s.p.integrity.index.entries, 0, 'the index entry reserved for it is gone');
  gated.failWith = null;
  const again = await s.p.process([msg(env(1, now, [dev([hr(now, 60)])]))], signal());
  t.same(again.ack, [true]);
  t.equal(s.metrics.get('readings_duplicate_total'), 0);
  t.same(await hrValues(gated.inner, now - 1, now + 1), [60]);
  t.equal(s.p.integrity.budget.isKnown(key), true);
});

t.test('a data error: the poison envelope is dead-lettered, the others checked again and stored', async (t) => {
  const inner = new MemorySeriesStore();
  const picky: SeriesWriter = {
    kind: 'picky',
    open: async () => {},
    ping: async () => true,
    close: async () => {},
    write: async (p: readonly SeriesPoint[]) => {
      if (p.some((x) => x.fields.value === 666)) throw new IngestError('ING_ERR_SERIES_PARTIAL', 'data', 'field type conflict');
      return inner.write(p);
    },
  };
  const s = await make(t, picky, { reader: inner });
  const now = s.now();
  // the poison envelope holds the slot first in the batch; the next envelope's value for it must be stored
  const out = await s.p.process([msg(env(1, now, [dev([hr(now, 666)])])), msg(env(2, now, [dev([hr(now, 61)])], 'boot-b'))], signal());
  t.same(out.ack, [true, true]);
  t.same(
    s.deadLetters.list().map((d) => d.code),
    ['ING_ERR_SERIES_PARTIAL'],
  );
  t.same(await hrValues(inner, now - 1, now + 1), [61], 'stored as a new reading, not a conflict with the refused one');
  t.equal(s.metrics.get('readings_conflicting_total'), 0);
});

t.test('two batches at once on one bed take turns: the second sees the first value, no overwrite', async (t) => {
  const gated = new GatedWriter();
  const s = await make(t, gated, { reader: gated.inner });
  const now = s.now();
  const a = s.p.process([msg(env(1, now, [dev([hr(now, 60)])]))], signal());
  await gated.whenEntered();
  const b = s.p.process([msg(env(1, now, [dev([hr(now, 10)])], 'boot-b'))], signal());
  await new Promise((r) => setImmediate(r));
  t.equal(gated.calls, 1, 'the second batch waits for the bed');
  gated.openGate();
  t.same([(await a).ack, (await b).ack], [[true], [true]]);
  t.same(await hrValues(gated.inner, now - 1, now + 1), [60]);
  t.equal(gated.inner.size('numeric_conflict'), 1);
});

t.test('a failing lookup is retried, nothing acked meanwhile; aborted: nothing acked, no dedupe key', async (t) => {
  const store = new MemorySeriesStore();
  let fails = 2;
  const flaky: SeriesReader = {
    query: async (q) => {
      if (fails-- > 0) throw new IngestError('ING_ERR_SERIES_QUERY', 'transient', 'influx down');
      return store.query(q);
    },
    latestNumerics: (q) => store.latestNumerics(q),
  };
  const s = await make(t, store, { reader: flaky });
  const now = s.now();
  const out = await s.p.process([msg(env(1, now, [dev([hr(now, 60)])]))], signal());
  t.same(out.ack, [true]);
  t.equal(s.metrics.get('content_lookup_failures_total'), 2);
  t.same(await hrValues(store, now - 1, now + 1), [60]);
  fails = 1_000;
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  const old = now - HOUR; // needs a lookup
  const stuck = await s.p.process([msg(env(2, now, [dev([hr(old, 61)])]))], ac.signal);
  t.same(stuck.ack, [false]);
  t.equal(s.dedupe.seen({ gatewayId: 'gw1', bootId: 'boot-a', seq: 2 }), false);
  t.same(await hrValues(store, old - 1, old + 1), []);
});

t.test('unknown intake keys are rejected; defaults are applied', async (t) => {
  const { loadIngestConfig } = await import('../../../schemas/src/ingest-config.js');
  t.throws(() => loadIngestConfig({ input: { intake: { maxReadings: 5 } }, env: {} }), /intake/);
  const c = loadIngestConfig({ input: {}, env: {} });
  t.equal(c.intake.maxReadingsPerEnvelope, 100_000);
  t.equal(c.intake.futureMs, 300_000);
});

t.test(
  'a slot stored without a value is filled by the value that follows; a valueless repeat of a stored value changes nothing (HL7 cuff repeats with sentinels)',
  async (t) => {
    const store = new MemorySeriesStore();
    const s = await make(t, store);
    const now = s.now();
    const cuff = now - 60_000; // the measurement time every repeat carries
    await s.p.process([msg(env(1, now, [dev([hr(cuff, null, ['invalid'])])]))], signal());
    t.same(await hrValues(store, cuff, cuff + 1), [null], 'first the sentinel: stored without a value');
    await s.p.process([msg(env(2, now + 1000, [dev([hr(cuff, 83)])]))], signal());
    t.same(await hrValues(store, cuff, cuff + 1), [83], 'the value fills the slot');
    t.equal(s.metrics.get('readings_conflicting_total') ?? 0, 0, 'not a conflict');
    await s.p.process([msg(env(3, now + 2000, [dev([hr(cuff, null, ['invalid'])])]))], signal());
    t.same(await hrValues(store, cuff, cuff + 1), [83], 'a later sentinel does not blank the stored value');
    t.equal(s.metrics.get('readings_conflicting_total') ?? 0, 0, 'and is not a conflict either');
    await s.p.process([msg(env(4, now + 3000, [dev([hr(cuff, 84)])]))], signal());
    t.same(await hrValues(store, cuff, cuff + 1), [83], 'another value for a filled slot is still a conflict: the stored one stays');
    t.equal(s.metrics.get('readings_conflicting_total'), 1);
  },
);
