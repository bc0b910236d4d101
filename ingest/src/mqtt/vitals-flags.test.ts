/**
 * The live feed carries each value's quality flags (demo, artifact, invalid, …): from the protobuf
 * envelope through the stored batch to the `vitals` MQTT payload, and through the series store to
 * GET /beds/:bed/latest. A value without flags has no `flags` key. The example subscriber
 * (docs/examples/vitals-subscriber.ts) reads them from a running ingest on loopback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import t from 'tap';
import { followVitals, isChartable, parseVitals, VitalsFormatError, type VitalsMessage } from '../../../docs/examples/vitals-subscriber.js';
import { decodeEnvelope, encodeEnvelope, type Envelope } from '../../../schemas/src/envelope.js';
import type { NumericObs } from '../../../schemas/src/observation.js';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { build } from '../app.js';
import { bearer, mintToken } from '../auth/test-tokens.js';
import { envelopeToPoints } from '../series/layout.js';
import { MemorySeriesStore } from '../series/memory.js';
import { createServices } from '../services.js';
import { BatchProcessor } from './processor.js';
import { startIngest } from '../main.js';
import { envelope, fixtureDb, silent, until } from './test-fixtures.js';

const num = (mdc: string, value: number | null, t: number, flags?: NumericObs['flags']): NumericObs => ({
  kind: 'numeric',
  mdc,
  code: 1,
  value,
  unit: '1',
  t,
  vendorCode: mdc.toLowerCase(),
  ...(flags ? { flags } : {}),
});

/** One device, four numerics: demo, artifact, invalid (value null), and one without flags. */
function flagged(seq: number, t: number, gatewayId = 'gw1'): Envelope {
  const e = envelope(seq, t, 70, 'boot-a', gatewayId);
  e.devices[0].numerics = [
    num('MDC_ECG_HEART_RATE', 60, t, ['demo']),
    num('MDC_PULS_OXIM_SAT_O2', 97, t, ['artifact']),
    num('MDC_PRESS_BLD_NONINV_SYS', null, t, ['invalid']),
    num('MDC_RESP_RATE', 14, t),
  ];
  return e;
}

const EXPECTED = { MDC_ECG_HEART_RATE: ['demo'], MDC_PULS_OXIM_SAT_O2: ['artifact'], MDC_PRESS_BLD_NONINV_SYS: ['invalid'], MDC_RESP_RATE: undefined };

t.test('vitals payload: each numeric carries its flags as the envelope sent them', async (t) => {
  const f = await fixtureDb();
  const p = new BatchProcessor({ prefix: 'orlink/v1', ...f, series: new MemorySeriesStore(), logger: silent, retryMinMs: 1, retryMaxMs: 5 });
  const T = Date.now() - 1000;
  const bytes = encodeEnvelope(flagged(1, T));
  t.same(
    decodeEnvelope(bytes).devices[0].numerics.map((n) => n.flags),
    Object.values(EXPECTED),
    'the envelope carries them',
  );
  const out = await p.process([{ topic: 'orlink/v1/s1/or1/bed1/gw1/data', payload: bytes }], new AbortController().signal);
  t.same(out.ack, [true]);
  t.equal(out.vitals.length, 1);
  const numerics = JSON.parse(out.vitals[0].payload).numerics as Record<string, { value: number | null; flags?: string[]; caseId: string | null }>;
  for (const [mdc, flags] of Object.entries(EXPECTED)) {
    t.same(numerics[mdc].flags, flags, `${mdc}: flags ${JSON.stringify(flags)}`);
    if (!flags) t.notOk('flags' in numerics[mdc], `${mdc}: no flags key`);
  }
  t.equal(numerics.MDC_PRESS_BLD_NONINV_SYS.value, null, 'invalid: no number');
  t.equal(numerics.MDC_ECG_HEART_RATE.value, 60, 'demo keeps its value');
  t.ok('caseId' in numerics.MDC_ECG_HEART_RATE, 'the case id is still there');
});

t.test('GET /beds/:bed/latest: each numeric carries its flags', async (t) => {
  const config = loadIngestConfig({ input: { db: { path: ':memory:' }, series: { kind: 'memory' }, log: { level: 'silent' } }, env: {} });
  const series = new MemorySeriesStore();
  const services = createServices(config, { series });
  const app = await build({ config, services });
  t.teardown(async () => {
    await app.close();
    services.db.close();
  });
  const headers = bearer(mintToken(services, 'admin', { name: 'vitals-flags' }));
  for (const [url, payload] of [
    ['/sites', { id: 's', name: 'S' }],
    ['/rooms', { id: 'r', siteId: 's', name: 'R' }],
    ['/beds', { id: 'b1', roomId: 'r', name: 'b1' }],
  ] as const) {
    t.equal((await app.inject({ method: 'POST', url, headers, payload })).statusCode, 201, url);
  }
  const T = Math.floor(Date.now() / 1000) * 1000 - 5000;
  await series.write(envelopeToPoints(flagged(1, T), { site: 's', room: 'r', bed: 'b1' }));
  const res = await app.inject({ method: 'GET', url: '/beds/b1/latest', headers });
  t.equal(res.statusCode, 200, res.body);
  const byMdc = Object.fromEntries((res.json() as { numerics: { mdc: string; flags?: string[] }[] }).numerics.map((n) => [n.mdc, n]));
  for (const [mdc, flags] of Object.entries(EXPECTED)) t.same(byMdc[mdc]?.flags, flags, `${mdc}: flags ${JSON.stringify(flags)}`);
});

t.test('the example subscriber parses the payload and keeps flagged values off the chart', async (t) => {
  const f = await fixtureDb();
  const p = new BatchProcessor({ prefix: 'orlink/v1', ...f, series: new MemorySeriesStore(), logger: silent, retryMinMs: 1, retryMaxMs: 5 });
  const out = await p.process(
    [{ topic: 'orlink/v1/s1/or1/bed1/gw1/data', payload: encodeEnvelope(flagged(1, Date.now() - 1000)) }],
    new AbortController().signal,
  );
  const v = parseVitals(out.vitals[0].payload);
  t.same(
    Object.entries(v.numerics)
      .filter(([, r]) => isChartable(r))
      .map(([mdc]) => mdc),
    ['MDC_RESP_RATE'],
    'demo, artifact and invalid are not charted',
  );
  t.same(v.numerics.MDC_ECG_HEART_RATE.flags, ['demo']);
  t.throws(() => parseVitals('{"bed":"b"}'), VitalsFormatError);
  t.throws(() => parseVitals('not json'), VitalsFormatError);
  const bad = JSON.parse(out.vitals[0].payload);
  bad.numerics.MDC_ECG_HEART_RATE.flags = 'demo';
  t.throws(() => parseVitals(JSON.stringify(bad)), { code: 'EXAMPLE_VITALS_FORMAT' }, 'flags must be a list of strings');
});

t.test('loopback: gateway publishes flagged readings, the example subscriber receives them from a running ingest', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-vitals-flags-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = loadIngestConfig({
    input: {
      http: { host: '127.0.0.1', port: 0 },
      db: { path: path.join(dir, 'ingest.sqlite') },
      broker: { host: '127.0.0.1', port: 0 },
      mqtt: { clientId: 'ingest-vitals-flags' },
      series: { kind: 'memory' },
      log: { level: 'silent' },
    },
    env: { ORLINK_INGEST_BROKER_PASSWORD: 'svc-password' },
  });
  const ing = await startIngest(config, { logger: silent, series: new MemorySeriesStore() });
  t.teardown(() => ing.close());
  t.match(ing.mqttUrl, /^mqtt:\/\/(127\.0\.0\.1|localhost):/, 'loopback only');
  const headers = { ...bearer(mintToken(path.join(dir, 'ingest.sqlite'), 'admin')), 'content-type': 'application/json' };
  for (const [url, body] of [
    ['/sites', { id: 's1', name: 'S' }],
    ['/rooms', { id: 'or1', siteId: 's1', name: 'R' }],
    ['/beds', { id: 'bed1', roomId: 'or1', name: 'B' }],
    ['/gateways', { id: 'gw1', bedId: 'bed1', password: 'gateway-pass-1' }],
  ] as const) {
    t.equal((await fetch(`${ing.url}${url}`, { method: 'POST', headers, body: JSON.stringify(body) })).status, 201, url);
  }
  const got: VitalsMessage[] = [];
  // the embedded broker has no record-system account: the service account stands in (docs/mqtt.md)
  const sub = await followVitals(
    { url: ing.mqttUrl, username: 'orlink-ingest', password: 'svc-password', clientId: 'record-example', reconnectPeriod: 0, site: 's1' },
    (v) => got.push(v),
  );
  t.teardown(() => sub.endAsync(true));
  const gw = await mqtt.connectAsync(ing.mqttUrl, { protocolVersion: 4, username: 'gw1', password: 'gateway-pass-1', clientId: 'gw1', reconnectPeriod: 0 });
  t.teardown(() => gw.endAsync(true));
  await gw.publishAsync('orlink/v1/s1/or1/bed1/gw1/data', Buffer.from(encodeEnvelope(flagged(1, Date.now() - 1000))), { qos: 1 });
  await until(() => got.length > 0, 10_000, 'vitals received');
  t.equal(got[0].bed, 'bed1');
  for (const [mdc, flags] of Object.entries(EXPECTED)) t.same(got[0].numerics[mdc]?.flags, flags, `${mdc}: flags ${JSON.stringify(flags)}`);
});
