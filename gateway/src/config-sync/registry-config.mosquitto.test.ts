/**
 * Registry-pushed config behind a real Mosquitto 2 with the mosquitto.conf `orlink mqtt-auth`
 * generates: the clients listener forces the client id to the user name (`use_username_as_clientid`),
 * so a gateway may hold only ONE connection — a second one would close the first. Ingest (external
 * broker mode, on the ingest listener) publishes the retained config document through its subscriber
 * connection; the gateway, whose local config has no devices, reads it on its publisher connection,
 * runs the device, and its readings reach the case timeline. Its link is never taken over.
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import { run as mqttAuth } from '../../../cli/mqtt-auth.js';
import { bearer, mintToken } from '../../../ingest/src/auth/test-tokens.js';
import { startIngest } from '../../../ingest/src/main.js';
import { openDb } from '../../../ingest/src/registry/database.js';
import { SqliteRegistry } from '../../../ingest/src/registry/sqlite-registry.js';
import { freePort } from '../../../ingest/src/series/influxd-launcher.js';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { startTestMosquitto } from '../../../test/helpers/mosquitto.js';
import { buildConfig } from '../config.js';
import { silentLogger } from '../log.js';
import { startGateway } from '../main.js';
import { fakeProtocol } from '../session/testdata/fake-protocol.js';
import type { ConfigSyncState } from './config-sync.js';

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('a gateway with no local devices gets them from the registry through Mosquitto', { timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-regcfg-mosq-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dbPath = path.join(dir, 'ingest.sqlite');
  {
    const db = openDb(dbPath);
    const r = new SqliteRegistry(db);
    r.createSite({ id: 'main', name: 'Main' });
    r.createRoom({ id: 'or1', siteId: 'main', name: 'OR 1' });
    r.createBed({ id: 'bed1', roomId: 'or1', name: 'OR 1 table' });
    await r.createGateway({ id: 'gw1', bedId: 'bed1', password: 'gateway-password-1' });
    db.close();
  }
  const clientsPort = await freePort();
  const ingestPort = await freePort();
  const env = { ORLINK_INGEST_BROKER_PASSWORD: 'svc-password', ORLINK_RECORD_BROKER_PASSWORD: 'rec-password' };
  t.equal(await mqttAuth(['--db', dbPath, '--out', dir, '--listener', `${clientsPort}@127.0.0.1`, '--ingest-listener', `${ingestPort}@127.0.0.1`], env), 0);
  const conf = readFileSync(path.join(dir, 'mosquitto.conf'), 'utf8');
  t.match(conf, /use_username_as_clientid true/, 'the generated listener binds the client id to the user name');
  const mosq = await startTestMosquitto(t, { listenerConfig: { port: clientsPort, lines: conf.split('\n') } });

  const ingest = await startIngest(
    loadIngestConfig({
      input: {
        http: { host: '127.0.0.1', port: 0 },
        db: { path: dbPath },
        series: { kind: 'memory' },
        broker: { kind: 'external', url: `mqtt://127.0.0.1:${ingestPort}` },
        mqtt: { clientId: 'orlink-ingest-1' },
        log: { level: 'silent' },
      },
      env,
    }),
    { logger: pino({ level: 'silent' }) },
  );
  t.teardown(() => ingest.close());
  const headers = bearer(mintToken(ingest.services, 'admin'));
  const api = async (method: 'GET' | 'POST' | 'PUT', url: string, body?: object) => {
    const res = await ingest.app.inject({ method, url, headers, ...(body ? { payload: body } : {}) });
    if (res.statusCode >= 400) throw new Error(`${method} ${url} → ${res.statusCode} ${res.body}`);
    return res.json();
  };
  await api('POST', '/devices', { id: 'mon1', gatewayId: 'gw1', bedId: 'bed1' });

  // a monitor on TCP: a heart rate every 100 ms once connected (at most 3000 lines)
  const sockets = new Set<net.Socket>();
  const monitor = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.write('ID acme m1 1.0\n');
    let n = 0;
    const timer = setInterval(() => {
      if (++n > 3000 || s.destroyed) clearInterval(timer);
      else s.write('N hr 73\n');
    }, 100);
    s.on('close', () => {
      clearInterval(timer);
      sockets.delete(s);
    });
  });
  monitor.listen(0, '127.0.0.1');
  await once(monitor, 'listening');
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => monitor.close(() => r()));
  });

  const gwConfig = buildConfig(
    {
      gatewayId: 'gw1',
      site: 'main',
      room: 'or1',
      bed: 'bed1',
      mqtt: { url: `mqtt://127.0.0.1:${clientsPort}`, username: 'gw1', publishIntervalMs: 100, statusIntervalMs: 300, connectTimeoutMs: 3000 },
      outbox: { kind: 'file', dir: path.join(dir, 'gw', 'outbox'), fsync: false },
      configCacheFile: path.join(dir, 'gw', 'registry-config.json'),
      log: { level: 'silent' },
    },
    { ORLINK_MQTT_PASSWORD: 'gateway-password-1' },
  );
  t.equal(gwConfig.configSource, 'registry', 'no devices key: the registry is the source');
  t.same(gwConfig.devices, []);
  const gw = await startGateway(gwConfig, {
    logger: silentLogger(),
    protocols: { 'fake-line': fakeProtocol },
    tickMs: 50,
    drainMs: 200,
    mqttBackoff: { baseMs: 100, maxMs: 300 },
  });
  t.teardown(() => gw.close());
  const cfg = () => (gw.status() as unknown as { config: ConfigSyncState }).config;

  await until('the first (empty) document', () => cfg().version === 1);
  t.same(gw.status().devices, [], 'nothing to run yet');

  await api('PUT', '/devices/mon1/connection', {
    protocol: 'fake-line',
    transport: { kind: 'tcp', host: '127.0.0.1', port: (monitor.address() as net.AddressInfo).port },
    watchdogMs: 60_000,
  });
  await until('mon1 streaming', () => gw.status().devices.find((d) => d.id === 'mon1')?.link === 'streaming').catch((e) => {
    console.error(mosq.log().slice(-3000));
    throw e;
  });
  t.match(cfg(), { version: 2, from: 'broker', devices: 1, refused: 0 }, 'the document from the registry is applied');

  const since = Date.now() - 60_000;
  const c = await api('POST', '/cases', { bed: 'bed1', start: since });
  const hr = async () => {
    const tl = (await api('GET', `/cases/${c.id}/timeline?from=${since}&to=${Date.now() + 60_000}`)) as {
      numerics: { device: string; mdc: string; points: [number, number | null][] }[];
    };
    return tl.numerics.filter((n) => n.device === 'mon1' && n.mdc === 'MDC_ECG_HEART_RATE').flatMap((n) => n.points.map((p) => p[1]));
  };
  await until('readings of mon1 in the case timeline', async () => (await hr()).includes(73));
  t.equal(ingest.services.registry.getGateway('gw1')?.online, true, 'its retained status reached ingest through Mosquitto');
  t.equal(gw.status().mqtt.connects, 1, 'one connection, never taken over: the config topic rides on the publisher link');
  t.notMatch(mosq.log(), /already connected|session taken over/i, 'Mosquitto saw no client-id takeover');
});
