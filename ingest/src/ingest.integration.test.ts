/**
 * Integration: real influxd 1.6 + embedded aedes + subscriber + REST. A gateway publishes
 * Envelopes over MQTT → points in InfluxDB → the timeline API returns the exact values at the
 * exact times; duplicates stored once; garbage dead-lettered; ACLs; InfluxDB down → no ack until back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import t from 'tap';
import { startTestInfluxd } from '../../test/helpers/influxdb.js';
import { encodeEnvelope, type Envelope } from '../../schemas/src/envelope.js';
import { loadIngestConfig } from '../../schemas/src/ingest-config.js';
import { bearer, mintToken } from './auth/test-tokens.js';
import { startIngest } from './main.js';
import { silent, until } from './mqtt/test-fixtures.js';

const influx = await startTestInfluxd(t);
const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-ingest-it-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const config = loadIngestConfig({
  input: {
    http: { port: 0 },
    db: { path: path.join(dir, 'ingest.sqlite') },
    broker: { port: 0 },
    mqtt: { clientId: 'ingest-it' },
    series: { kind: 'influx-v1', url: influx.url, database: 'orlink_it', retryMinMs: 20, retryMaxMs: 200, retryAttempts: 2, requestTimeoutMs: 2000 },
    log: { level: 'silent' },
  },
  env: { ORLINK_INGEST_BROKER_PASSWORD: 'svc-password' },
});
const ing = await startIngest(config, { logger: silent });
t.teardown(() => ing.close());
const admin = bearer(mintToken(ing.services, 'admin'));

const api = async (method: string, url: string, body?: unknown) => {
  const res = await fetch(`${ing.url}${url}`, {
    method,
    headers: { ...admin, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text };
};
const influxCount = async (q: string): Promise<number> => {
  const res = await fetch(`${influx.url}/query?db=orlink_it&rp=raw&q=${encodeURIComponent(q)}`);
  const json = (await res.json()) as { results: { series?: { values: number[][] }[] }[] };
  return json.results[0].series?.[0].values[0][1] ?? 0;
};

const base = Math.floor((Date.now() - 300_000) / 1000) * 1000;
/** the case opened on bed7 by the second test (one open case per bed) */
let openCaseId = '';
const TOPIC = 'orlink/v1/st1/or7/bed7/gw7/data';
const env = (seq: number, t: number, hr: number, art: number | null): Envelope => ({
  gatewayId: 'gw7',
  bootId: 'boot-1',
  seq,
  sentAt: t + 10,
  devices: [
    {
      deviceId: 'mon-a',
      profileId: 'ge/s5',
      numerics: [
        { kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, value: hr, unit: '/min', t, vendorCode: 'hr' },
        { kind: 'numeric', mdc: 'MDC_PRESS_BLD_ART_ABP_MEAN', code: 150035, value: art, unit: 'mm[Hg]', t, vendorCode: 'p1.mean', label: 'ART' },
      ],
      waves: [
        {
          kind: 'wave',
          mdc: 'MDC_PRESS_BLD_ART_ABP',
          code: 150032,
          unit: 'mm[Hg]',
          t0: t,
          rateHz: 4,
          scale: 0.1,
          offset: 0,
          vendorCode: 'p1',
          samples: [80.1, 95.5, null, 120.3],
        },
      ],
      alarms: [],
      settings: [],
    },
  ],
});

t.test('registry over REST', async (t) => {
  t.equal((await api('POST', '/sites', { id: 'st1', name: 'Main' })).status, 201);
  t.equal((await api('POST', '/rooms', { id: 'or7', siteId: 'st1', name: 'OR 7' })).status, 201);
  t.equal((await api('POST', '/beds', { id: 'bed7', roomId: 'or7', name: 'Table' })).status, 201);
  const gw = await api('POST', '/gateways', { id: 'gw7', bedId: 'bed7', password: 'gateway-pass-7' });
  t.equal(gw.status, 201);
  t.notMatch(JSON.stringify(gw.body), /gateway-pass-7|scrypt/, 'no password or hash in the response');
  t.equal((await api('POST', '/devices', { id: 'mon-a', gatewayId: 'gw7', bedId: 'bed7', vendor: 'GE', model: 'S/5', serial: 'X1' })).status, 201);
  t.equal((await api('POST', '/sites', { id: 'st1', name: 'again' })).status, 409);
  t.equal((await api('POST', '/beds', { id: 'bad/id', roomId: 'or7', name: 'x' })).status, 400);
  t.equal((await api('POST', '/gateways', { id: 'gwx', bedId: 'nobed', password: 'longenough' })).status, 404);
});

t.test('envelopes → InfluxDB → timeline with exact values; dedupe; dead letters; ACL; vitals', async (t) => {
  const gw = await mqtt.connectAsync(ing.mqttUrl, { protocolVersion: 4, username: 'gw7', password: 'gateway-pass-7', clientId: 'gw7', reconnectPeriod: 0 });
  t.teardown(() => gw.endAsync(true));
  const rec = await mqtt.connectAsync(ing.mqttUrl, {
    protocolVersion: 4,
    username: 'orlink-ingest',
    password: 'svc-password',
    clientId: 'record-1',
    reconnectPeriod: 0,
  });
  t.teardown(() => rec.endAsync(true));
  const vitals: Record<string, unknown>[] = [];
  rec.on('message', (_topic, payload) => vitals.push(JSON.parse(payload.toString())));
  await rec.subscribeAsync('orlink/v1/st1/or7/bed7/vitals', { qos: 0 });

  const m = ing.services.metrics;
  for (let i = 0; i < 3; i++) {
    await gw.publishAsync(TOPIC, Buffer.from(encodeEnvelope(env(i + 1, base + i * 1000, 60 + i, i === 1 ? null : 90.5 + i))), { qos: 1 });
  }
  await until(() => m.get('envelopes_written_total') === 3, 10_000, '3 envelopes written');
  t.equal(await influxCount('SELECT count(value) FROM numeric'), 5, '6 numerics, one absent (no value field)');
  t.equal(await influxCount('SELECT count(n) FROM wave'), 3, 'one wave point per block');

  // duplicate → stored once
  await gw.publishAsync(TOPIC, Buffer.from(encodeEnvelope(env(2, base + 1000, 61, null))), { qos: 1 });
  await until(() => m.get('envelopes_deduped_total') === 1, 10_000, 'dedupe');
  // garbage → dead letter; next good one stored
  await gw.publishAsync(TOPIC, Buffer.from([0x0a, 0xff, 0xff, 0x01, 0x99]), { qos: 1 });
  await gw.publishAsync(TOPIC, Buffer.from(encodeEnvelope(env(4, base + 3000, 63, 93.5))), { qos: 1 });
  await until(() => m.get('envelopes_written_total') === 4, 10_000, '4th envelope');
  t.equal(m.get('envelopes_dead_lettered_total'), 1);
  const dl = await api('GET', '/dead-letters');
  t.equal(dl.body.count, 1);
  t.equal(dl.body.items[0].code, 'ING_ERR_ENVELOPE');
  t.equal(await influxCount("SELECT count(value) FROM numeric WHERE mdc = 'MDC_ECG_HEART_RATE'"), 4);

  // late binding: the case is created after the data
  const c = await api('POST', '/cases', { bed: 'bed7', start: base - 500 });
  t.equal(c.status, 201);
  openCaseId = c.body.id;
  const tl = await api('GET', `/cases/${c.body.id}/timeline?from=${base - 500}&to=${base + 10_000}`);
  t.equal(tl.status, 200);
  const hr = tl.body.numerics.find((n: { mdc: string }) => n.mdc === 'MDC_ECG_HEART_RATE');
  t.same(hr.points, [
    [base, 60],
    [base + 1000, 61],
    [base + 2000, 62],
    [base + 3000, 63],
  ]);
  t.equal(hr.unit, '/min');
  t.equal(hr.device, 'mon-a');
  const art = tl.body.numerics.find((n: { mdc: string }) => n.mdc === 'MDC_PRESS_BLD_ART_ABP_MEAN');
  t.same(art.points, [
    [base, 90.5],
    [base + 1000, null],
    [base + 2000, 92.5],
    [base + 3000, 93.5],
  ]);
  t.equal(art.label, 'ART');
  t.equal(tl.body.waves.length, 1);
  t.same(
    tl.body.waves[0].blocks.map((b: { t0: number }) => b.t0),
    [base, base + 1000, base + 2000, base + 3000],
  );
  t.same(tl.body.waves[0].blocks[0].samples, [80.1, 95.5, null, 120.3]);
  const only = await api('GET', `/cases/${c.body.id}/timeline?params=MDC_PRESS_BLD_ART_ABP_MEAN`);
  t.same(
    only.body.numerics.map((n: { mdc: string }) => n.mdc),
    ['MDC_PRESS_BLD_ART_ABP_MEAN'],
  );
  t.equal((await api('GET', '/cases/nope/timeline')).status, 404);

  const latest = await api('GET', '/beds/bed7/latest');
  t.same(latest.body.numerics.find((n: { mdc: string }) => n.mdc === 'MDC_ECG_HEART_RATE').value, 63);
  t.equal(latest.body.caseId, c.body.id);
  await until(() => vitals.some((v) => (v.numerics as Record<string, { value: number }>).MDC_ECG_HEART_RATE?.value === 63), 5000, 'vitals');
  t.equal(vitals.at(-1)?.caseId, null, 'no case covered the bed when seq 4 was stored');
  await gw.publishAsync(TOPIC, Buffer.from(encodeEnvelope(env(5, base + 4000, 64, 94.5))), { qos: 1 });
  await until(() => vitals.some((v) => (v.numerics as Record<string, { value: number }>).MDC_ECG_HEART_RATE?.value === 64), 5000, 'vitals 2');
  t.equal(vitals.at(-1)?.caseId, c.body.id, 'vitals carry the open case');
  t.equal(vitals.at(-1)?.caseSince, base - 500, 'and since when it is bound to the bed');
  t.equal(
    (vitals.at(-1)?.numerics as Record<string, { caseId: string | null }>).MDC_ECG_HEART_RATE.caseId,
    c.body.id,
    'each reading carries the case of its own time',
  );

  // ACL: wrong password; publish outside the own bed prefix
  const bad = await mqtt.connectAsync(ing.mqttUrl, { protocolVersion: 4, username: 'gw7', password: 'wrong', reconnectPeriod: 0 }).catch((e) => e);
  t.ok(bad instanceof Error, 'wrong password refused');
  const intruder = await mqtt.connectAsync(ing.mqttUrl, {
    protocolVersion: 4,
    username: 'gw7',
    password: 'gateway-pass-7',
    clientId: 'gw7-b',
    reconnectPeriod: 0,
  });
  const closed = new Promise<void>((r) => intruder.once('close', () => r()));
  intruder.publish('orlink/v1/st1/or7/bed8/gw7/data', Buffer.from(encodeEnvelope(env(99, base, 1, 1))), { qos: 1 });
  await closed;
  await intruder.endAsync(true);
  t.equal(ing.broker?.stats.publishDenied, 1);
  const gwInfo = await api('GET', '/gateways/gw7');
  t.ok(gwInfo.body.lastSeen > 0, 'last seen updated');

  const health = await api('GET', '/health');
  t.equal(health.status, 200);
  t.equal(health.body.ready, true);
  const metrics = await api('GET', '/metrics');
  t.match(metrics.body, /orlink_ingest_envelopes_written_total 5/);
  const docs = await api('GET', '/docs/json');
  t.ok(docs.body.paths['/cases/{id}/timeline'], 'OpenAPI lists the timeline');
});

t.test('InfluxDB stopped: no PUBACK to the gateway until it is back, then everything stored', async (t) => {
  const gw = await mqtt.connectAsync(ing.mqttUrl, {
    protocolVersion: 4,
    username: 'gw7',
    password: 'gateway-pass-7',
    clientId: 'gw7',
    reconnectPeriod: 0,
    keepalive: 60,
  });
  t.teardown(() => gw.endAsync(true));
  const m = ing.services.metrics;
  const written = m.get('envelopes_written_total');
  await influx.stop();
  const status = await api('GET', '/health');
  t.equal(status.status, 503, 'not ready while InfluxDB is down');
  const acked: number[] = [];
  const pubs = [0, 1, 2].map((i) =>
    gw.publishAsync(TOPIC, Buffer.from(encodeEnvelope(env(10 + i, base + 10_000 + i * 1000, 70 + i, 80))), { qos: 1 }).then(() => {
      acked.push(i);
    }),
  );
  await until(() => m.get('series_write_failures_total') >= 2, 10_000, 'write retries while down');
  t.equal(acked.length, 0, 'the broker sent the gateway no PUBACK while InfluxDB is down');
  t.equal(ing.intake?.pending, 3, 'the three publishes wait in the intake');
  t.equal(m.get('envelopes_written_total'), written);
  await influx.start();
  await Promise.all(pubs);
  t.equal(m.get('envelopes_written_total'), written + 3, 'PUBACKs came after the write');
  // bed7 still has the open case of the previous test: the window case for the new data replaces it from there on
  const c = await api('POST', '/cases', { bed: 'bed7', start: base + 10_000, end: base + 13_000, replaces: { caseId: openCaseId, action: 'close' } });
  t.equal(c.status, 201);
  const tl = await api('GET', `/cases/${c.body.id}/timeline`);
  const hr = tl.body.numerics.find((n: { mdc: string }) => n.mdc === 'MDC_ECG_HEART_RATE');
  t.same(hr.points, [
    [base + 10_000, 70],
    [base + 11_000, 71],
    [base + 12_000, 72],
  ]);
});
