/** Metrics on prom-client: types, names, values, process metrics, and a scrape that survives failing reads. */
import t from 'tap';
import { COUNTERS, Metrics, type CounterName } from './metrics.js';
import { parseExposition, samplesOf, valueOf } from './monitoring/exposition.js';

t.test('every counter keeps its name, is typed counter and counts', async (t) => {
  const m = new Metrics({ processMetrics: false });
  m.inc('envelopes_written_total');
  m.inc('envelopes_written_total', 4);
  m.inc('points_written_total', 0);
  m.inc('points_written_total', -3); // never down
  m.inc('points_written_total', Number.NaN);
  t.equal(m.get('envelopes_written_total'), 5);
  t.equal(m.get('points_written_total'), 0);
  const e = parseExposition(await m.render());
  for (const name of Object.keys(COUNTERS) as CounterName[]) {
    t.equal(e.types.get(`orlink_ingest_${name}`), 'counter', `${name} typed counter`);
    t.equal(valueOf(e, `orlink_ingest_${name}`), m.get(name), `${name} value`);
  }
  t.equal(valueOf(e, 'orlink_ingest_envelopes_written_total'), 5);
  t.match(await m.render(), /^orlink_ingest_envelopes_written_total 5$/m, 'the line the hostile suite reads');
});

t.test('gauges are read at scrape time; `_total` names and count() are counters', async (t) => {
  const m = new Metrics({ processMetrics: false });
  let level = 3;
  let sent = 7;
  m.gauge('queue_depth', 'a level', () => level);
  m.gauge('thing_sent_total', 'a running count kept elsewhere', () => sent);
  m.count('broker_things_refused', 'a running count without the suffix', () => 2);
  m.gauge('broken', 'throws', () => {
    throw new Error('boom');
  });
  m.count('broken_count', 'throws', () => {
    throw new Error('boom');
  });
  let e = parseExposition(await m.render());
  t.equal(e.types.get('orlink_ingest_queue_depth'), 'gauge');
  t.equal(e.types.get('orlink_ingest_thing_sent_total'), 'counter');
  t.equal(e.types.get('orlink_ingest_broker_things_refused'), 'counter');
  t.equal(valueOf(e, 'orlink_ingest_queue_depth'), 3);
  t.equal(valueOf(e, 'orlink_ingest_thing_sent_total'), 7);
  t.equal(valueOf(e, 'orlink_ingest_broker_things_refused'), 2);
  t.ok(Number.isNaN(valueOf(e, 'orlink_ingest_broken')), 'a failing gauge reads NaN');
  t.equal(valueOf(e, 'orlink_ingest_broken_count'), 0, 'a failing count reads 0, the scrape goes on');
  level = 1;
  sent = 9;
  e = parseExposition(await m.render());
  t.equal(valueOf(e, 'orlink_ingest_queue_depth'), 1, 'a gauge goes down');
  t.equal(valueOf(e, 'orlink_ingest_thing_sent_total'), 9);
  sent = 2; // its owner restarted: a counter reset, which Prometheus' rate() understands
  t.equal(valueOf(parseExposition(await m.render()), 'orlink_ingest_thing_sent_total'), 2);
  // registering a name again replaces the reader (a component rebuilt with the same Metrics), no duplicate series
  m.gauge('queue_depth', 'a level', () => 42);
  e = parseExposition(await m.render());
  t.equal(samplesOf(e, 'orlink_ingest_queue_depth').length, 1);
  t.equal(valueOf(e, 'orlink_ingest_queue_depth'), 42);
});

t.test('labelled series are recomputed at every scrape; bad values are left out', async (t) => {
  const m = new Metrics({ processMetrics: false });
  let rows = [
    { labels: { gateway: 'gw1' }, value: 1 },
    { labels: { gateway: 'gw2' }, value: 0 },
  ];
  m.labelled('gauge', 'orlink_test_up', 'up', ['gateway'], () => rows);
  m.labelled('counter', 'orlink_test_errors_total', 'errors', ['gateway'], () => [
    { labels: { gateway: 'gw1' }, value: 4 },
    { labels: { gateway: 'gw2' }, value: -1 },
    { labels: { gateway: 'gw3' }, value: Number.NaN },
  ]);
  m.labelled('gauge', 'orlink_test_broken', 'throws', ['gateway'], () => {
    throw new Error('registry gone');
  });
  let e = parseExposition(await m.render());
  t.equal(valueOf(e, 'orlink_test_up', { gateway: 'gw1' }), 1);
  t.equal(valueOf(e, 'orlink_test_up', { gateway: 'gw2' }), 0);
  t.equal(e.types.get('orlink_test_errors_total'), 'counter');
  t.same(
    samplesOf(e, 'orlink_test_errors_total').map((s) => [s.labels.gateway, s.value]),
    [['gw1', 4]],
    'negative and NaN left out',
  );
  t.same(samplesOf(e, 'orlink_test_broken'), [], 'a failing read: no series, the scrape goes on');
  rows = [{ labels: { gateway: 'gw2' }, value: 1 }];
  e = parseExposition(await m.render());
  t.same(
    samplesOf(e, 'orlink_test_up').map((s) => [s.labels.gateway, s.value]),
    [['gw2', 1]],
    'gw1 gone: its series gone',
  );
});

t.test('the write-latency histogram', async (t) => {
  const m = new Metrics({ processMetrics: false });
  m.observeWriteLatency(3); // 0.003 s
  m.observeWriteLatency(700); // 0.7 s
  m.observeWriteLatency(-1); // ignored
  const e = parseExposition(await m.render());
  const h = 'orlink_ingest_series_write_seconds';
  t.equal(e.types.get(h), 'histogram');
  t.equal(valueOf(e, `${h}_count`), 2);
  t.equal(valueOf(e, `${h}_bucket`, { le: '0.0025' }), 0);
  t.equal(valueOf(e, `${h}_bucket`, { le: '0.005' }), 1);
  t.equal(valueOf(e, `${h}_bucket`, { le: '1' }), 2);
  t.equal(valueOf(e, `${h}_bucket`, { le: '+Inf' }), 2);
  t.ok(Math.abs(valueOf(e, `${h}_sum`)! - 0.703) < 1e-9);
});

t.test('process metrics under the orlink_ingest_ prefix, once however many instances', async (t) => {
  const a = new Metrics();
  const b = new Metrics();
  const e = parseExposition(await a.render()); // parseExposition throws on a TYPE seen twice
  for (const n of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
    t.ok(e.types.has(`orlink_ingest_${n}`), n);
  }
  t.equal(e.types.get('orlink_ingest_nodejs_gc_duration_seconds'), 'histogram', 'GC durations');
  t.ok(valueOf(e, 'orlink_ingest_process_resident_memory_bytes')! > 0);
  t.ok(parseExposition(await b.render()).types.has('orlink_ingest_process_cpu_seconds_total'));
  t.match(a.contentType, /^text\/plain; version=0\.0\.4/);
  t.notOk(parseExposition(await new Metrics({ processMetrics: false }).render()).types.has('orlink_ingest_process_cpu_seconds_total'));
});
