import t from 'tap';
import { startTestInfluxd } from '../../../test/helpers/influxdb.js';
import { IngestError } from '../errors.js';
import { InfluxV1Store, type InfluxV1Options } from './influx-v1.js';
import { envelopeToPoints } from './layout.js';
import { sampleEnvelope, seriesSuite } from './series.suite.js';

const influx = await startTestInfluxd(t);

const opts = (database: string): InfluxV1Options => ({
  url: influx.url,
  database,
  retentionPolicy: 'raw',
  retentionDuration: '30d',
  createDatabase: true,
  maxLinesPerRequest: 3,
  concurrency: 2,
  requestTimeoutMs: 5000,
  retryMinMs: 10,
  retryMaxMs: 50,
  retryAttempts: 3,
});

t.test('abstract series suite against real influxd 1.6', async (t) => {
  seriesSuite(t, async (o) => {
    const db = `suite_${Math.random().toString(36).slice(2, 8)}`;
    const store = new InfluxV1Store(o?.bulk ? { ...opts(db), maxLinesPerRequest: 5000 } : opts(db));
    await store.open();
    return { store, cleanup: () => store.close() };
  });
});

t.test('open() is idempotent and alters the retention duration', async (t) => {
  const db = `rp_${Math.random().toString(36).slice(2, 8)}`;
  await new InfluxV1Store(opts(db)).open();
  await new InfluxV1Store({ ...opts(db), retentionDuration: '10d' }).open();
  const res = await fetch(`${influx.url}/query?q=${encodeURIComponent(`SHOW RETENTION POLICIES ON "${db}"`)}`);
  const body = await res.text();
  t.match(body, /"raw","240h0m0s"/);
});

t.test('a type conflict is a data error, not retried', async (t) => {
  const store = new InfluxV1Store(opts(`conf_${Math.random().toString(36).slice(2, 8)}`));
  await store.open();
  const base = Date.now() - 5000;
  await store.write([{ measurement: 'numeric', tags: { bed: 'b' }, fields: { value: 1 }, time: base }]);
  const err = await store.write([{ measurement: 'numeric', tags: { bed: 'b' }, fields: { value: 'x' }, time: base + 1 }]).catch((e) => e);
  t.ok(err instanceof IngestError);
  t.equal(err.kind, 'data');
  t.equal(err.code, 'ING_ERR_SERIES_PARTIAL');
});

t.test('server down: transient error after bounded retries; back up: write succeeds', async (t) => {
  const store = new InfluxV1Store(opts(`down_${Math.random().toString(36).slice(2, 8)}`));
  await store.open();
  const pts = envelopeToPoints(sampleEnvelope(Date.now() - 60_000), { site: 's', room: 'r', bed: 'b' });
  await influx.stop();
  t.equal(await store.ping(), false);
  const err = await store.write(pts).catch((e) => e);
  t.equal(err.kind, 'transient');
  await influx.start();
  const res = await store.write(pts);
  t.equal(res.points, pts.length);
  t.equal(await store.ping(), true);
});
