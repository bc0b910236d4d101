import t from 'tap';
import { encodeEnvelope } from '../../../schemas/src/envelope.js';
import { IngestError } from '../errors.js';
import { MemorySeriesStore } from '../series/memory.js';
import type { SeriesPoint, SeriesWriter } from '../series/types.js';
import { BatchProcessor } from './processor.js';
import { envelope, fixtureDb, silent } from './test-fixtures.js';
import { offlineStatusDoc, onlineStatus } from '../../../test/helpers/status-docs.js';

const T = 'orlink/v1/s1/or1/bed1/gw1';

async function make(series: SeriesWriter) {
  const f = await fixtureDb();
  const p = new BatchProcessor({ prefix: 'orlink/v1', ...f, series, logger: silent, retryMinMs: 1, retryMaxMs: 5 });
  return { ...f, p };
}

const msg = (topic: string, payload: Uint8Array | string) => ({ topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload });

t.test('topic, gateway and envelope checks dead-letter and ack', async (t) => {
  const store = new MemorySeriesStore();
  const s = await make(store);
  const good = encodeEnvelope(envelope(1, Date.now(), 70));
  const out = await s.p.process(
    [
      msg('other/prefix/x', good),
      msg('orlink/v1/s1/or1/bed1/gwX/data', good),
      msg('orlink/v1/s1/or1/bed2/gw1/data', good),
      msg(`${T}/data`, encodeEnvelope(envelope(1, Date.now(), 70, 'b', 'gw2'))),
      msg(`${T}/data`, good),
    ],
    new AbortController().signal,
  );
  t.same(out.ack, [true, true, true, true, true]);
  t.same(
    s.deadLetters
      .list()
      .map((d) => d.code)
      .reverse(),
    ['ING_ERR_TOPIC', 'ING_ERR_UNKNOWN_GATEWAY', 'ING_ERR_TOPIC', 'ING_ERR_TOPIC'],
  );
  t.equal(store.size('numeric'), 1);
  t.equal(out.vitals.length, 1);
  t.equal(out.vitals[0].topic, 'orlink/v1/s1/or1/bed1/vitals');
});

t.test('status messages update the registry and write gateway_health', async (t) => {
  const store = new MemorySeriesStore();
  const s = await make(store);
  const ids = { gatewayId: 'gw1', site: 's1', room: 'or1', bed: 'bed1' };
  const up = onlineStatus(ids, { outbox: { records: 12, bytes: 3400 } });
  let out = await s.p.process([msg(`${T}/status`, JSON.stringify(up))], new AbortController().signal);
  t.same(out.ack, [true]);
  t.equal(s.registry.getGateway('gw1')?.online, true);
  t.same(s.registry.getGateway('gw1')?.status, up);
  const will = offlineStatusDoc(ids);
  out = await s.p.process(
    [msg(`${T}/status`, JSON.stringify(will)), msg(`${T}/status`, 'not json'), msg(`${T}/status`, ''), msg(`${T}/status`, JSON.stringify({ online: false }))],
    new AbortController().signal,
  );
  t.same(out.ack, [true, true, true, true]);
  const g = s.registry.getGateway('gw1');
  t.equal(g?.online, false);
  t.same(g?.status, will);
  t.equal(store.size('gateway_health'), 2);
  t.equal(s.deadLetters.count(), 1, 'not JSON: dead-lettered');
  t.equal(s.metrics.get('status_invalid_total'), 2, 'not JSON, and `{ online: false }` alone (no status document): refused');
});

t.test('transient failures are retried until success; then acked once', async (t) => {
  const inner = new MemorySeriesStore();
  let fails = 3;
  const flaky: SeriesWriter = {
    kind: 'flaky',
    open: async () => {},
    ping: async () => true,
    close: async () => {},
    write: async (p: readonly SeriesPoint[]) => {
      if (fails-- > 0) throw new IngestError('ING_ERR_SERIES_TRANSIENT', 'transient', 'down');
      return inner.write(p);
    },
  };
  const s = await make(flaky);
  const out = await s.p.process([msg(`${T}/data`, encodeEnvelope(envelope(1, Date.now(), 70)))], new AbortController().signal);
  t.same(out.ack, [true]);
  t.equal(s.metrics.get('series_write_failures_total'), 3);
  t.equal(s.p.lastWriteError, null);
});

t.test('abort while failing: nothing acked, no dedupe key written', async (t) => {
  const ac = new AbortController();
  const down: SeriesWriter = {
    kind: 'down',
    open: async () => {},
    ping: async () => false,
    close: async () => {},
    write: async () => {
      setImmediate(() => ac.abort());
      throw new IngestError('ING_ERR_SERIES_TRANSIENT', 'transient', 'down');
    },
  };
  const s = await make(down);
  const out = await s.p.process([msg(`${T}/data`, encodeEnvelope(envelope(1, Date.now(), 70)))], ac.signal);
  t.same(out.ack, [false]);
  t.equal(s.dedupe.count(), 0);
});

t.test('a data error (400) isolates the offending envelope; the others are stored', async (t) => {
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
  const s = await make(picky);
  const now = Date.now();
  const out = await s.p.process(
    [
      msg(`${T}/data`, encodeEnvelope(envelope(1, now, 70))),
      msg(`${T}/data`, encodeEnvelope(envelope(2, now + 1000, 666))),
      msg(`${T}/data`, encodeEnvelope(envelope(3, now + 2000, 72))),
    ],
    new AbortController().signal,
  );
  t.same(out.ack, [true, true, true]);
  t.equal(inner.size('numeric'), 2);
  t.equal(s.deadLetters.list()[0].code, 'ING_ERR_SERIES_PARTIAL');
  t.equal(s.metrics.get('envelopes_written_total'), 2);
});
