/**
 * The one integration test of the chart on a real InfluxDB 1.6 (test/helpers/influxdb.ts): a
 * simulated 60-min case with every artifact kind injected twice, stored through InfluxV1Store and
 * charted from there; the chart equals the ground truth at every grid point (sim-case.fixture.ts).
 */
import t from 'tap';
import { startTestInfluxd } from '../../../test/helpers/influxdb.js';
import { InfluxV1Store } from '../series/influx-v1.js';
import { caseChart } from './chart.js';
import { checkChart, simulatedCase } from './sim-case.fixture.js';

const influx = await startTestInfluxd(t);

t.test('chart of a simulated case stored in InfluxDB equals the truth', async (t) => {
  const store = new InfluxV1Store({
    url: influx.url,
    database: `chart_${process.pid}`,
    retentionPolicy: 'raw',
    retentionDuration: '3650d',
    createDatabase: true,
    maxLinesPerRequest: 5000,
    concurrency: 2,
    requestTimeoutMs: 20_000,
    retryMinMs: 10,
    retryMaxMs: 100,
    retryAttempts: 3,
  });
  await store.open();
  t.teardown(() => store.close());
  const start = Math.floor((Date.now() - 2 * 3600_000) / 300_000) * 300_000 + 13_000;
  const sim = await simulatedCase(store, { seed: 21, start, seconds: 3600 });
  const chart = await caseChart(sim.case, store, { grid: '5m', now: Date.now(), maxWindowMs: 7 * 86_400_000 });
  const r = checkChart(chart, sim);
  t.equal(chart.series.length, 11);
  t.ok(r.exact > 50, `${r.points} points, ${r.exact} exactly equal (artifact-free windows)`);
  t.same(r.mismatches, [], 'every point equals the truth');
  t.same(r.missed, [], 'every artifact reading rejected by its rule');
  t.same(r.spurious, [], 'nothing else rejected');
});
