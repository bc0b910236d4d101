/**
 * Ack-after-durable with the EMBEDDED broker: ingest (aedes inside) runs as a child process and is
 * killed with SIGKILL twice while a gateway (startGateway, fake line protocol over TCP, file
 * outbox) streams; it is restarted on the same ports, sqlite file and InfluxDB. Afterwards every
 * reading the device sent and every envelope the gateway produced is in InfluxDB exactly once:
 * envelopes counted by seq (dedupe table, one `device_status` point per envelope at its sent_at),
 * readings by value (each reading has a unique value and its own series, so nothing can hide
 * behind an overwrite).
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { buildConfig } from '../../gateway/src/config.js';
import { silentLogger } from '../../gateway/src/log.js';
import { startGateway } from '../../gateway/src/main.js';
import { fakeProtocol } from '../../gateway/src/session/testdata/fake-protocol.js';
import { bearer, mintToken } from '../../ingest/src/auth/test-tokens.js';
import { freePort } from '../../ingest/src/series/influxd-launcher.js';
import { startTestInfluxd } from '../helpers/influxdb.js';
import { startIngestProcess, writeIngestConfig, type IngestProcess } from './ingest-process.js';
import { influxQuery, until } from './interop-util.js';

t.test('SIGKILL of ingest with the embedded broker while a gateway streams: no loss, no duplicate', async (t) => {
  const influx = await startTestInfluxd(t);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-kill-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const [httpPort, mqttPort] = [await freePort(), await freePort()];
  const database = 'orlink_kill';
  const configFile = writeIngestConfig(dir, 'ingest', {
    http: { port: httpPort },
    db: { path: path.join(dir, 'ingest.sqlite') },
    broker: { kind: 'embedded', port: mqttPort },
    series: { kind: 'influx-v1', url: influx.url, database, retryMinMs: 20, retryMaxMs: 200 },
    log: { level: 'warn' },
  });
  const env = { ORLINK_INGEST_BROKER_PASSWORD: 'svc-pass' };
  let ing: IngestProcess = await startIngestProcess({ configFile, dir, httpPort, env });
  t.teardown(() => ing.kill('SIGTERM'));
  const admin = bearer(mintToken(path.join(dir, 'ingest.sqlite'), 'admin'));
  const api = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${ing.httpUrl}${url}`, { method, headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return res.status;
  };
  t.equal(await api('POST', '/sites', { id: 'st1', name: 'S' }), 201);
  t.equal(await api('POST', '/rooms', { id: 'or1', siteId: 'st1', name: 'R' }), 201);
  t.equal(await api('POST', '/beds', { id: 'bedk', roomId: 'or1', name: 'B' }), 201);
  t.equal(await api('POST', '/gateways', { id: 'gwk', bedId: 'bedk', password: 'gateway-pass-k' }), 201);

  // the device: one unique reading every 4 ms on 50 rotating vendor codes (one series each)
  let sock: net.Socket | undefined;
  const device = net.createServer((s) => {
    sock = s;
    s.on('error', () => {});
    s.write('');
  });
  device.listen(0, '127.0.0.1');
  await once(device, 'listening');
  t.teardown(() => {
    sock?.destroy();
    device.close();
  });
  const gw = await startGateway(
    buildConfig(
      {
        gatewayId: 'gwk',
        site: 'st1',
        room: 'or1',
        bed: 'bedk',
        mqtt: { url: `mqtt://127.0.0.1:${mqttPort}`, username: 'gwk', publishIntervalMs: 50, statusIntervalMs: 500, maxInflight: 8, keepaliveS: 5 },
        outbox: { kind: 'file', dir: path.join(dir, 'outbox'), maxBytes: 1 << 24, segmentBytes: 1 << 18 },
        devices: [
          {
            id: 'mon1',
            protocol: 'fake-line',
            transport: { kind: 'tcp', host: '127.0.0.1', port: (device.address() as net.AddressInfo).port },
            watchdogMs: 60_000,
          },
        ],
      },
      { ORLINK_MQTT_PASSWORD: 'gateway-pass-k' },
    ),
    {
      logger: silentLogger(),
      protocols: { 'fake-line': fakeProtocol },
      mqttBackoff: { baseMs: 50, maxMs: 300 },
      drainMs: 0,
    },
  );
  t.teardown(() => gw.close());
  await until(() => sock !== undefined, 10_000, 'device connection');
  sock?.write('ID acme mon9 1.0\n');
  let sent = 0;
  const timer = setInterval(() => {
    if (sent < 5000) {
      sent++;
      sock?.write(`N c${sent % 50} ${sent}\n`);
    }
  }, 4);
  t.teardown(() => clearInterval(timer));

  for (let kill = 1; kill <= 2; kill++) {
    const ackedBefore = gw.status().outbox.acked;
    await until(() => gw.status().outbox.acked >= ackedBefore + 15, 15_000, 'envelopes acked before the kill');
    t.equal(await ing.kill('SIGKILL'), 'SIGKILL', `kill -9 #${kill} while streaming`);
    await until(() => !gw.status().mqtt.connected && gw.outbox.depth().records >= 5, 10_000, 'gateway buffers while ingest is dead');
    ing = await startIngestProcess({ configFile, dir, httpPort, env });
  }
  await until(() => gw.status().outbox.acked >= 15, 15_000, 'streaming after the restart');
  clearInterval(timer);
  const produced = sent;
  await until(async () => (await gw.flush(), gw.outbox.depth().records === 0 && gw.status().batcher.observations >= produced), 20_000, 'outbox drained');
  const st = gw.status();
  const envelopes = st.outbox.appended;
  t.ok(produced > 300, `device sent ${produced} readings`);
  t.equal(st.outbox.droppedRecords, 0, 'the gateway dropped nothing');

  // envelopes by seq: the dedupe table holds each (gateway, boot, seq) the ingest stored
  const db = new Database(path.join(dir, 'ingest.sqlite'), { readonly: true });
  const rows = db.prepare('SELECT seq FROM dedupe WHERE gateway_id = ? AND boot_id = ? ORDER BY seq').all('gwk', gw.bootId) as { seq: number }[];
  db.close();
  const seqs = rows.map((r) => r.seq);
  t.equal(seqs.length, envelopes, `all ${envelopes} envelopes stored (by seq)`);
  t.same(
    seqs,
    Array.from({ length: envelopes }, (_, i) => seqs[0] + i),
    'seqs contiguous: no gap',
  );
  const statusPoints = await influxQuery(influx.url, database, "SELECT count(frames) FROM raw.device_status WHERE bed = 'bedk'");
  t.equal(statusPoints[0]?.[1], envelopes, 'one device_status point per envelope in InfluxDB');

  // readings by value: every value 1..produced exactly once
  const values = (await influxQuery(influx.url, database, "SELECT value FROM raw.numeric WHERE bed = 'bedk'")).map((r) => r[1]);
  const uniq = new Set(values);
  const missing = Array.from({ length: produced }, (_, i) => i + 1).filter((v) => !uniq.has(v));
  t.same(missing, [], 'no reading lost');
  t.equal(values.length, produced, 'no reading stored twice');
  t.comment(`readings ${produced}, envelopes ${envelopes}, gateway resent ${st.mqtt.resent}, connects ${st.mqtt.connects}`);
});
