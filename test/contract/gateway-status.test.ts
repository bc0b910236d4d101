/**
 * The gateway status document across both sides (contract: schemas/src/gateway-status.ts).
 *  1. A running gateway (fake line device, no broker) builds its status; ingest's real processor takes
 *     it: every field reaches the registry and `gateway_health` as sent, the outbox depth included;
 *     same for the last will built by the gateway.
 *  2. Property tests through ingest's processor: random documents of the schema are stored, single-fault
 *     copies are refused (counted, logged with the path of the fault, nothing stored).
 *  3. Over MQTT into InfluxDB: gateway → embedded broker → ingest → InfluxDB integer fields
 *     `outbox_depth`/`outbox_bytes`; the goodbye on a clean stop marks the gateway offline.
 */
import { once } from 'node:events';
import net from 'node:net';
import pino from 'pino';
import t, { type Test } from 'tap';
import { Value } from '@sinclair/typebox/value';
import { buildConfig } from '../../gateway/src/config.js';
import { startGateway, type RunningGateway } from '../../gateway/src/main.js';
import { fakeProtocol } from '../../gateway/src/session/testdata/fake-protocol.js';
import { offlineStatus } from '../../gateway/src/status/gateway-status.js';
import { BatchProcessor } from '../../ingest/src/mqtt/processor.js';
import { fixtureDb } from '../../ingest/src/mqtt/test-fixtures.js';
import { MemorySeriesStore } from '../../ingest/src/series/memory.js';
import type { SeriesPoint, SeriesWriter, WriteResult } from '../../ingest/src/series/types.js';
import {
  checkGatewayStatus,
  GatewayStatusOnlineSchema,
  GatewayStatusSchema,
  type GatewayStatusDoc,
  type GatewayStatusOnline,
} from '../../schemas/src/gateway-status.js';
import { startIngestRig, until as rigUntil } from '../helpers/ingest-rig.js';
import { breakOne, rng, sample } from '../helpers/schema-sample.js';

const TOPIC = 'orlink/v1/s1/or1/bed1/gw1/status';

/** A series writer that keeps what it was given (then stores it like InfluxDB would, in memory). */
class Capture implements SeriesWriter {
  readonly kind = 'capture';
  readonly points: SeriesPoint[] = [];
  readonly inner = new MemorySeriesStore();
  open(): Promise<void> {
    return Promise.resolve();
  }
  write(points: readonly SeriesPoint[]): Promise<WriteResult> {
    this.points.push(...points);
    return this.inner.write(points);
  }
  ping(): Promise<boolean> {
    return Promise.resolve(true);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function ingestSide() {
  const f = await fixtureDb();
  const logs: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'warn' },
    {
      write: (s: string) => {
        logs.push(JSON.parse(s) as Record<string, unknown>);
      },
    },
  );
  const series = new Capture();
  const p = new BatchProcessor({ prefix: 'orlink/v1', ...f, series, logger, retryMinMs: 1, retryMaxMs: 5 });
  const take = async (payload: string, topic = TOPIC) => (await p.process([{ topic, payload: Buffer.from(payload) }], new AbortController().signal)).ack;
  return { ...f, series, p, logs, take };
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A fake line device (gateway/src/session/testdata/fake-protocol.ts) listening on loopback, and a gateway reading it. */
async function gatewayWithDevice(
  t: Test,
  site: { site: string; room: string; bed: string; gatewayId: string },
  mqtt: Record<string, unknown>,
  env: Record<string, string> = {},
) {
  let sock: net.Socket | undefined;
  const device = net.createServer((s) => {
    sock = s;
    s.on('error', () => undefined);
  });
  device.listen(0, '127.0.0.1');
  await once(device, 'listening');
  t.teardown(() => {
    sock?.destroy();
    return new Promise<void>((r) => device.close(() => r()));
  });
  const config = buildConfig(
    {
      ...site,
      mqtt: { publishIntervalMs: 50, statusIntervalMs: 200, ...mqtt },
      outbox: { kind: 'memory' },
      log: { level: 'warn' },
      devices: [
        {
          id: 'mon1',
          protocol: 'fake-line',
          transport: { kind: 'tcp', host: '127.0.0.1', port: (device.address() as net.AddressInfo).port },
          expect: { firmware: '5.0' },
        },
      ],
    },
    env,
  );
  const gw = await startGateway(config, {
    logger: pino({ level: 'silent' }),
    protocols: { 'fake-line': fakeProtocol },
    drainMs: 200,
    mqttBackoff: { baseMs: 200, maxMs: 1000 },
  });
  t.teardown(() => gw.close());
  await until('device connection', () => !!sock);
  sock!.write('ID acme mon9 4.2\nN hr 70\nN spo2 97\nnonsense\n');
  await until('identity and frames', () => gw.status().devices[0]?.model === 'mon9' && gw.status().devices[0].frames >= 3);
  return { gw, device: () => sock! };
}

/** What the publisher sends: the builder's document through JSON. */
const published = (gw: RunningGateway): GatewayStatusOnline => JSON.parse(JSON.stringify(gw.status())) as GatewayStatusOnline;

t.test("a running gateway's status and last will, through ingest's processor: every field arrives", async (t) => {
  const { gw } = await gatewayWithDevice(t, { gatewayId: 'gw1', site: 's1', room: 'or1', bed: 'bed1' }, { url: 'mqtt://127.0.0.1:1' }); // no broker: nothing is acked
  await gw.flush();
  await until('unacked records in the outbox', () => gw.outbox.depth().records > 0);
  const doc = published(gw);
  t.ok(doc.outbox.records > 0 && doc.outbox.bytes > 0, `the gateway reports its outbox depth (${doc.outbox.records} records, ${doc.outbox.bytes} bytes)`);
  t.same(doc.devices[0].errorsByKind, { garbage: 1 }, 'a realistic state: decode errors');
  t.same(doc.devices[0].identityMismatch, [{ field: 'firmware', expected: '5.0', reported: '4.2' }], 'and an identity mismatch');
  t.same(Value.Clean(GatewayStatusOnlineSchema, structuredClone(doc)), doc, 'the builder sends nothing the contract does not describe');

  const s = await ingestSide();
  s.registry.createDevice({ id: 'mon1', gatewayId: 'gw1', model: 'mon9', firmware: '4.0' });
  t.same(await s.take(JSON.stringify(doc), gw.topics.status), [true]);
  t.equal(s.metrics.get('status_invalid_total'), 0, 'accepted');
  const g = s.registry.getGateway('gw1');
  t.equal(g?.online, true);
  t.same(g?.status, doc, 'the registry holds the document as sent, every field');
  t.equal(s.series.points.length, 1);
  const health = s.series.points[0];
  t.same(health.tags, { site: 's1', room: 'or1', bed: 'bed1', gateway: 'gw1' });
  t.same(
    { ...health.fields, status: JSON.parse(String(health.fields.status)) },
    { online: true, status: doc, outbox_depth: doc.outbox.records, outbox_bytes: doc.outbox.bytes },
    'gateway_health: online, the document, the outbox depth',
  );
  t.equal(s.series.inner.size('gateway_health'), 1, 'a point InfluxDB takes (line protocol check)');
  const dev = s.registry.getDevice('mon1');
  t.same(
    dev?.identityMismatch.map((m) => [m.field, m.registered, m.reported]),
    [['firmware', '4.0', '4.2']],
    'the identity check reads the device entries',
  );

  // the last will the gateway registers at connect (and its goodbye), built by the same function
  const will = offlineStatus({ gatewayId: 'gw1', site: 's1', room: 'or1', bed: 'bed1', bootId: gw.bootId }, 'lwt');
  t.same(await s.take(will), [true]);
  t.equal(s.metrics.get('status_invalid_total'), 0);
  t.equal(s.registry.getGateway('gw1')?.online, false, 'offline');
  t.same(s.registry.getGateway('gw1')?.status, JSON.parse(will));
  t.same(s.series.points[1].fields.online, false);
  t.notOk('outbox_depth' in s.series.points[1].fields, 'a last will knows no outbox depth: the field is left out, not zero');
});

t.test('property: random documents of the schema pass ingest; single-fault ones are refused with the path', async (t) => {
  const s = await ingestSide();
  const r = rng(424242);
  const pin = (d: GatewayStatusDoc): GatewayStatusDoc => ({ ...d, gatewayId: 'gw1' }); // the topic's gateway
  const RUNS = 150;
  const wrongStore: string[] = [];
  for (let i = 0; i < RUNS; i++) {
    const doc = pin(sample(GatewayStatusSchema, r) as GatewayStatusDoc);
    const before = s.series.points.length;
    const ack = await s.take(JSON.stringify(doc));
    const stored = s.registry.getGateway('gw1');
    const p = s.series.points[before];
    const ok =
      ack[0] &&
      stored?.online === doc.online &&
      JSON.stringify(stored?.status) === JSON.stringify(doc) &&
      p?.fields.online === doc.online &&
      p.fields.outbox_depth === (doc.online ? doc.outbox.records : undefined) &&
      p.fields.outbox_bytes === (doc.online ? doc.outbox.bytes : undefined);
    if (!ok) wrongStore.push(JSON.stringify(doc).slice(0, 300));
  }
  t.same(wrongStore.slice(0, 3), [], `${RUNS} valid documents stored as sent`);
  t.equal(s.metrics.get('status_invalid_total'), 0);

  const wrongRefusal: string[] = [];
  const paths = new Set<string>();
  for (let i = 0; i < RUNS; i++) {
    const { value, path, fault } = breakOne(GatewayStatusSchema, pin(sample(GatewayStatusSchema, r) as GatewayStatusDoc), r, ['/gatewayId']);
    const before = {
      points: s.series.points.length,
      invalid: s.metrics.get('status_invalid_total'),
      status: JSON.stringify(s.registry.getGateway('gw1')?.status),
    };
    const ack = await s.take(JSON.stringify(value));
    const check = checkGatewayStatus(JSON.parse(JSON.stringify(value)));
    const ok =
      ack[0] &&
      s.series.points.length === before.points &&
      s.metrics.get('status_invalid_total') === before.invalid + 1 &&
      JSON.stringify(s.registry.getGateway('gw1')?.status) === before.status &&
      !check.ok &&
      check.problems[0].path === path;
    if (!ok) wrongRefusal.push(`${path} ${fault}: ${JSON.stringify(check.ok ? 'accepted' : check.problems[0])}`);
    paths.add(path);
  }
  t.same(wrongRefusal.slice(0, 3), [], `${RUNS} faulty documents refused, nothing stored, the fault's path reported`);
  const logged = new Set(s.logs.filter((l) => l.msg === 'gateway status refused: does not match the status schema').map((l) => l.path));
  t.same(
    [...paths].filter((p) => !logged.has(p)),
    [],
    'each faulty path logged (once a minute per gateway and path)',
  );
  t.equal(s.deadLetters.count(), 0, 'refused statuses are not dead-lettered (a retained status repeats every few seconds)');

  t.same(await s.take(JSON.stringify({ ...pin(sample(GatewayStatusOnlineSchema, r) as GatewayStatusDoc), gatewayId: 'gw9' })), [true]);
  t.match(
    s.logs.at(-1),
    { path: '/gatewayId', problem: 'differs from the topic gateway', gatewayId: 'gw1' },
    "another gateway's document under this topic: refused",
  );
  t.same(await s.take('not json'), [true]);
  t.equal(s.deadLetters.count(), 1, 'not JSON at all: dead-lettered as before, and counted');
  t.equal(s.metrics.get('status_invalid_total'), RUNS + 2);
});

t.test('over MQTT into InfluxDB: outbox_depth and outbox_bytes stored as integers; the goodbye marks the gateway offline', async (t) => {
  const rig = await startIngestRig(t, 'gateway_status');
  const password = await rig.registerBed({ room: 'orS', bed: 'orS-bed', gatewayId: 'gw-s' });
  const { gw } = await gatewayWithDevice(
    t,
    { gatewayId: 'gw-s', site: 'main', room: 'orS', bed: 'orS-bed' },
    { url: rig.ingest.mqttUrl, username: 'gw-s' },
    { ORLINK_MQTT_PASSWORD: password },
  );
  const registry = rig.ingest.services.registry;
  await rigUntil(
    'the status in the registry',
    () =>
      (registry.getGateway('gw-s')?.status as GatewayStatusDoc | null)?.bootId === gw.bootId &&
      ((registry.getGateway('gw-s')?.status as GatewayStatusOnline).devices[0]?.frames ?? 0) >= 3,
    15_000,
  );
  const stored = registry.getGateway('gw-s')!.status as GatewayStatusOnline;
  t.ok(checkGatewayStatus(stored).ok, 'what ingest stored matches the contract');
  t.equal(stored.devices[0].model, 'mon9');
  t.same(Object.keys(stored).sort(), Object.keys(published(gw)).sort(), 'the same fields as the gateway builds now');

  const q = async (query: string) => {
    const res = await fetch(`${rig.influx.url}/query?epoch=ms`, { method: 'POST', body: new URLSearchParams({ q: query, db }) });
    return ((await res.json()) as { results: { series?: { columns: string[]; values: unknown[][] }[] }[] }).results[0].series ?? [];
  };
  const dbs = (await (await fetch(`${rig.influx.url}/query`, { method: 'POST', body: new URLSearchParams({ q: 'SHOW DATABASES' }) })).json()) as {
    results: { series: { values: string[][] }[] }[];
  };
  const db = dbs.results[0].series[0].values.map((v) => v[0]).find((n) => n.startsWith('gateway_status'))!;
  let rows: Record<string, unknown>[] = [];
  await rigUntil(
    'gateway_health points',
    async () => {
      const [sr] = await q("SELECT * FROM gateway_health WHERE gateway = 'gw-s'");
      rows = (sr?.values ?? []).map((v) => Object.fromEntries(sr!.columns.map((c, i) => [c, v[i]])));
      return rows.length >= 1;
    },
    15_000,
  );
  for (const row of rows.slice(0, 5)) {
    const doc = JSON.parse(String(row.status)) as GatewayStatusOnline;
    t.same([row.outbox_depth, row.outbox_bytes], [doc.outbox.records, doc.outbox.bytes], 'outbox depth of the same document');
  }
  const [fields] = await q('SHOW FIELD KEYS FROM gateway_health');
  const types = Object.fromEntries(fields.values.map((v) => [v[0], v[1]]));
  t.match(types, { outbox_depth: 'integer', outbox_bytes: 'integer', online: 'boolean', status: 'string' });

  await gw.close();
  await rigUntil('offline', () => registry.getGateway('gw-s')?.online === false, 15_000);
  t.match(registry.getGateway('gw-s')?.status, { online: false, reason: 'shutdown', bootId: gw.bootId, schemaVersion: 1 }, 'the goodbye, as sent');
  t.equal(rig.ingest.services.metrics.get('status_invalid_total'), 0, 'nothing the gateway sent was refused');
});
