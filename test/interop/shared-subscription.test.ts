/**
 * MQTT 5 shared subscription on Mosquitto 2.0: two ingest replicas (child processes, protocol 5,
 * `$share/ingest/...`, persistent sessions with fixed client ids, one sqlite file) share the data
 * of two streaming gateways; replica A is killed with SIGKILL mid-stream and restarted with the
 * same client id. Mosquitto keeps routing A's share to A's offline session and holds its
 * un-acked in-flight messages there; they are delivered when A is back. Afterwards: every
 * envelope stored exactly once by (gateway, boot, seq), every reading once in InfluxDB.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { run as mqttAuth } from '../../cli/mqtt-auth.js';
import { buildConfig } from '../../gateway/src/config.js';
import { silentLogger } from '../../gateway/src/log.js';
import { startGateway, type RunningGateway } from '../../gateway/src/main.js';
import { fakeProtocol } from '../../gateway/src/session/testdata/fake-protocol.js';
import { bearer, mintToken } from '../../ingest/src/auth/test-tokens.js';
import { openDb } from '../../ingest/src/registry/database.js';
import { SqliteRegistry } from '../../ingest/src/registry/sqlite-registry.js';
import { freePort } from '../../ingest/src/series/influxd-launcher.js';
import { startTestInfluxd } from '../helpers/influxdb.js';
import { startTestMosquitto } from '../helpers/mosquitto.js';
import { startIngestProcess, writeIngestConfig, type IngestProcess } from './ingest-process.js';
import { influxQuery, until } from './interop-util.js';

/** the `metrics` role's token, minted in the shared sqlite file below */
let metricsAuth: { authorization: string } | undefined;
const metric = async (url: string, name: string): Promise<number> => {
  const text = await (await fetch(`${url}/metrics`, { headers: metricsAuth })).text();
  const m = new RegExp(`^orlink_ingest_${name} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
};

t.test('two ingest replicas share the load; SIGKILL + restart of one: no loss, no duplicate', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-share-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dbPath = path.join(dir, 'ingest.sqlite');
  const beds = ['bedA', 'bedB'];
  {
    const db = openDb(dbPath);
    const r = new SqliteRegistry(db);
    r.createSite({ id: 'st1', name: 'S' });
    r.createRoom({ id: 'or1', siteId: 'st1', name: 'R' });
    for (const b of beds) {
      r.createBed({ id: b, roomId: 'or1', name: b });
      await r.createGateway({ id: `gw-${b}`, bedId: b, password: `pw-${b}` });
    }
    metricsAuth = bearer(mintToken(db, 'metrics'));
    db.close();
  }
  const env = { ORLINK_INGEST_BROKER_PASSWORD: 'ingest-pw' };
  t.equal(await mqttAuth(['--db', dbPath, '--out', dir], env), 0, 'password + ACL files from the registry');
  const mosq = await startTestMosquitto(t, { passwordFile: path.join(dir, 'passwd'), aclFile: path.join(dir, 'acl') });
  const influx = await startTestInfluxd(t);
  const database = 'orlink_share';

  const replicas: Record<string, { configFile: string; httpPort: number; proc?: IngestProcess }> = {};
  for (const name of ['a', 'b']) {
    const httpPort = await freePort();
    const configFile = writeIngestConfig(dir, `ingest-${name}`, {
      http: { port: httpPort },
      db: { path: dbPath },
      broker: { kind: 'external', url: mosq.url, protocolVersion: 5, shareGroup: 'ingest', sessionExpiryS: 3600 },
      mqtt: { clientId: `ingest-${name}`, batchMaxEnvelopes: 16 },
      series: { kind: 'influx-v1', url: influx.url, database, retryMinMs: 20, retryMaxMs: 200 },
      log: { level: 'warn' },
    });
    replicas[name] = { configFile, httpPort };
  }
  const start = async (name: string) => {
    const r = replicas[name];
    r.proc = await startIngestProcess({ configFile: r.configFile, dir, httpPort: r.httpPort, env });
    return r.proc;
  };
  await start('a');
  await start('b');
  t.teardown(() => Promise.all(Object.values(replicas).map((r) => r.proc?.kill('SIGTERM'))));

  // two gateways, each fed by a device with unique readings every 4 ms
  const rigs: { gw: RunningGateway; sent: number; sock?: net.Socket; bed: string }[] = [];
  for (const bed of beds) {
    const rig: { gw?: RunningGateway; sent: number; sock?: net.Socket; bed: string } = { sent: 0, bed };
    const device = net.createServer((s) => {
      rig.sock = s;
      s.on('error', () => {});
    });
    device.listen(0, '127.0.0.1');
    await once(device, 'listening');
    t.teardown(() => {
      rig.sock?.destroy();
      device.close();
    });
    rig.gw = await startGateway(
      buildConfig(
        {
          gatewayId: `gw-${bed}`,
          site: 'st1',
          room: 'or1',
          bed,
          mqtt: { url: mosq.url, username: `gw-${bed}`, publishIntervalMs: 50, statusIntervalMs: 1000, maxInflight: 8 },
          outbox: { kind: 'file', dir: path.join(dir, `outbox-${bed}`), maxBytes: 1 << 24, segmentBytes: 1 << 18 },
          devices: [
            {
              id: 'mon1',
              protocol: 'fake-line',
              transport: { kind: 'tcp', host: '127.0.0.1', port: (device.address() as net.AddressInfo).port },
              watchdogMs: 60_000,
            },
          ],
        },
        { ORLINK_MQTT_PASSWORD: `pw-${bed}` },
      ),
      { logger: silentLogger(), protocols: { 'fake-line': fakeProtocol }, drainMs: 0 },
    );
    t.teardown(() => rig.gw?.close());
    rigs.push(rig as (typeof rigs)[number]);
  }
  await until(() => rigs.every((r) => r.sock), 10_000, 'device connections');
  for (const r of rigs) r.sock?.write('ID acme mon9 1.0\n');
  const timer = setInterval(() => {
    for (const r of rigs)
      if (r.sent < 5000) {
        r.sent++;
        r.sock?.write(`N c${r.sent % 50} ${r.sent}\n`);
      }
  }, 4);
  t.teardown(() => clearInterval(timer));

  const urlOf = (name: string) => replicas[name].proc?.httpUrl as string;
  await until(
    async () => (await metric(urlOf('a'), 'envelopes_written_total')) >= 10 && (await metric(urlOf('b'), 'envelopes_written_total')) >= 10,
    15_000,
    'both replicas writing',
  );
  t.equal(await replicas.a.proc?.kill('SIGKILL'), 'SIGKILL', 'replica A killed with SIGKILL mid-stream');
  const ackedAtKill = rigs.map((r) => r.gw.status().outbox.acked);
  await until(() => rigs.every((r, i) => r.gw.status().outbox.acked >= ackedAtKill[i] + 10), 10_000, 'gateways keep publishing while A is dead');
  const bWhileDown = await metric(urlOf('b'), 'envelopes_written_total');
  await start('a');
  await until(async () => (await metric(urlOf('a'), 'envelopes_written_total')) >= 10, 15_000, 'restarted A writing');
  clearInterval(timer);
  const produced = rigs.map((r) => r.sent);
  await until(
    async () => {
      for (const r of rigs) await r.gw.flush();
      return rigs.every((r, i) => r.gw.outbox.depth().records === 0 && r.gw.status().batcher.observations >= produced[i]);
    },
    20_000,
    'gateway outboxes drained',
  );

  const db = new Database(dbPath, { readonly: true });
  t.teardown(() => db.close());
  for (const [i, r] of rigs.entries()) {
    const envelopes = r.gw.status().outbox.appended;
    const seqsOf = () =>
      (db.prepare('SELECT seq FROM dedupe WHERE gateway_id = ? AND boot_id = ? ORDER BY seq').all(`gw-${r.bed}`, r.gw.bootId) as { seq: number }[]).map(
        (x) => x.seq,
      );
    await until(() => seqsOf().length >= envelopes, 15_000, `${r.bed}: all envelopes stored`);
    const seqs = seqsOf();
    t.equal(seqs.length, envelopes, `${r.bed}: ${envelopes} envelopes stored once each by (gateway, boot, seq)`);
    t.same(
      seqs,
      Array.from({ length: envelopes }, (_, k) => seqs[0] + k),
      `${r.bed}: no seq missing`,
    );
    const statusPts = await influxQuery(influx.url, database, `SELECT count(frames) FROM raw.device_status WHERE bed = '${r.bed}'`);
    t.equal(statusPts[0]?.[1], envelopes, `${r.bed}: one device_status point per envelope`);
    const values = (await influxQuery(influx.url, database, `SELECT value FROM raw.numeric WHERE bed = '${r.bed}'`)).map((x) => x[1]);
    const have = new Set(values);
    t.same(
      Array.from({ length: produced[i] }, (_, k) => k + 1).filter((v) => !have.has(v)),
      [],
      `${r.bed}: none of ${produced[i]} readings lost`,
    );
    t.equal(values.length, produced[i], `${r.bed}: every reading stored once`);
  }
  const aWritten = await metric(urlOf('a'), 'envelopes_written_total');
  const aDeduped = await metric(urlOf('a'), 'envelopes_deduped_total');
  const bWritten = await metric(urlOf('b'), 'envelopes_written_total');
  t.ok(aWritten > 0 && bWritten > 0, 'both replicas stored envelopes');
  t.comment(
    `readings ${produced.join('+')}; B wrote ${bWritten} (${bWhileDown} by the time A came back); restarted A wrote ${aWritten}, deduped ${aDeduped} redeliveries`,
  );
});
