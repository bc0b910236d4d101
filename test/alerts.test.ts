/**
 * Monitoring: the example alert rules (deploy/prometheus/orlink-alerts.yml) are valid and fire as their unit tests
 * say (Debian's `promtool`, skipped when not installed); and ingest's /metrics shows a gateway that goes silent:
 * `orlink_gateway_up` 1 → 0 when its last will arrives, its age growing, its monitor's link no longer up.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import t from 'tap';
import type { GatewayStatusOffline, GatewayStatusOnline } from '../schemas/src/gateway-status.js';
import { loadIngestConfig } from '../schemas/src/ingest-config.js';
import { bearer, mintToken } from '../ingest/src/auth/test-tokens.js';
import { startIngest } from '../ingest/src/main.js';
import { parseExposition, valueOf, type Exposition } from '../ingest/src/monitoring/exposition.js';
import { silent, until } from '../ingest/src/mqtt/test-fixtures.js';

const RULES_DIR = fileURLToPath(new URL('../deploy/prometheus/', import.meta.url));
const promtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;

t.test(
  'promtool: the rules are valid and their unit tests pass (a silent gateway fires OrlinkGatewaySilent)',
  { skip: promtool ? false : 'promtool not installed (Debian package prometheus)' },
  async (t) => {
    const run = (...args: string[]) => execFileSync('promtool', args, { cwd: RULES_DIR, encoding: 'utf8', timeout: 60_000 });
    t.match(run('check', 'rules', 'orlink-alerts.yml'), /SUCCESS: \d+ rules found/);
    t.match(run('test', 'rules', 'orlink-alerts.test.yml'), /SUCCESS/);
  },
);

t.test('/metrics: a gateway connects, then goes silent', async (t) => {
  const ing = await startIngest(
    loadIngestConfig({
      input: {
        http: { host: '127.0.0.1', port: 0 },
        db: { path: ':memory:' },
        broker: { host: '127.0.0.1', port: 0 },
        series: { kind: 'memory' },
        log: { level: 'silent' },
      },
      env: {},
    }),
    { logger: silent },
  );
  t.teardown(() => ing.close());
  const admin = bearer(mintToken(ing.services, 'admin'));
  const scraper = bearer(mintToken(ing.services, 'metrics', { name: 'prometheus' }));
  const post = async (url: string, body: unknown) => {
    const r = await ing.app.inject({ method: 'POST', url, headers: admin, payload: body as object });
    if (r.statusCode !== 201) throw new Error(`POST ${url} → ${r.statusCode} ${r.body}`);
  };
  await post('/sites', { id: 'st1', name: 'Main' });
  await post('/rooms', { id: 'or3', siteId: 'st1', name: 'OR 3' });
  await post('/beds', { id: 'bed3', roomId: 'or3', name: 'Table' });
  await post('/gateways', { id: 'gw3', bedId: 'bed3', password: 'gateway-pass-3' });
  await post('/devices', { id: 'mon3', gatewayId: 'gw3', bedId: 'bed3' });
  const scrape = async (): Promise<Exposition> => {
    const r = await ing.app.inject({ method: 'GET', url: '/metrics', headers: scraper });
    t.equal(r.statusCode, 200);
    t.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    return parseExposition(r.body);
  };
  const gw = { gateway: 'gw3', site: 'st1', room: 'or3', bed: 'bed3' };
  const mon = { ...gw, device: 'mon3' };

  let e = await scrape();
  t.equal(valueOf(e, 'orlink_gateway_up', gw), 0, 'registered, never seen: down');
  t.equal(valueOf(e, 'orlink_device_link_up', mon), 0);

  const ids = { schemaVersion: 1 as const, gatewayId: 'gw3', site: 'st1', room: 'or3', bed: 'bed3', version: '0.1.0', bootId: 'boot-1' };
  const will: GatewayStatusOffline = { ...ids, online: false, reason: 'lwt' };
  const now = Date.now();
  const online: GatewayStatusOnline = {
    ...ids,
    online: true,
    startedAt: now - 60_000,
    t: now,
    devices: [
      {
        id: 'mon3',
        protocol: 'ge-dri',
        link: 'streaming',
        frames: 120,
        errors: 2,
        errorsByKind: { checksum: 2 },
        reconnects: 0,
        watchdogTrips: 0,
        bytesRx: 50_000,
        bytesTx: 300,
        lastFrameAt: now - 1_000,
      },
    ],
    outbox: {
      kind: 'file',
      records: 7,
      bytes: 2_048,
      appended: 100,
      acked: 93,
      droppedRecords: 0,
      droppedReadings: 0,
      droppedBytes: 0,
      rejectedTooLarge: 0,
      truncatedBytes: 0,
      corruptSegments: 0,
    },
    mqtt: { connected: true, connects: 1, published: 100, acked: 93, resent: 0 },
    batcher: { envelopes: 100, observations: 400, droppedObservations: 0, appendErrors: 0, splits: 0, clockJumps: 0 },
  };
  const topic = 'orlink/v1/st1/or3/bed3/gw3/status';
  const client = await mqtt.connectAsync(ing.mqttUrl, {
    protocolVersion: 4,
    username: 'gw3',
    password: 'gateway-pass-3',
    clientId: 'gw3',
    reconnectPeriod: 0,
    will: { topic, payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true },
  });
  t.teardown(() => client.endAsync(true));
  await client.publishAsync(topic, JSON.stringify(online), { qos: 1, retain: true });

  await until(async () => valueOf(await scrape(), 'orlink_gateway_up', gw) === 1, 10_000, 'gateway up');
  e = await scrape();
  t.equal(valueOf(e, 'orlink_device_link_up', mon), 1, 'its monitor streams');
  t.equal(valueOf(e, 'orlink_gateway_outbox_records', gw), 7);
  t.equal(valueOf(e, 'orlink_gateway_outbox_bytes', gw), 2_048);
  t.equal(valueOf(e, 'orlink_device_decode_errors_total', { ...mon, kind: 'checksum' }), 2);
  t.ok(valueOf(e, 'orlink_gateway_last_seen_seconds', gw)! < 10, 'seen just now');
  t.ok(valueOf(e, 'orlink_ingest_broker_clients')! >= 1);

  // the connection drops without a goodbye (power cut, cable): the broker publishes the last will
  client.stream.destroy();
  await until(async () => valueOf(await scrape(), 'orlink_gateway_up', gw) === 0, 10_000, 'gateway down after its last will');
  e = await scrape();
  t.equal(valueOf(e, 'orlink_device_link_up', mon), 0, 'its monitor no longer up');
  t.equal(valueOf(e, 'orlink_gateway_outbox_records', gw), undefined, 'outbox unknown after a last will');
  const age0 = valueOf(e, 'orlink_gateway_last_seen_seconds', gw)!;
  t.ok(age0 >= 0);
  await until(async () => valueOf(await scrape(), 'orlink_gateway_last_seen_seconds', gw)! > age0 + 1, 10_000, 'the age grows');
  t.pass('the silence age grows while nothing arrives');
});
