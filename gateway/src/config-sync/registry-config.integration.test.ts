/**
 * Gateways configured from the registry, end to end on loopback: real ingest (embedded aedes broker,
 * sqlite registry, memory series store) and a real gateway (`startGateway`) whose local config has
 * no devices. Fake line-protocol devices listen on TCP. Through REST only:
 *  - a device given a connection → the gateway starts its session, readings reach the case timeline;
 *    the config topic is read on the publisher's connection: ONE broker session for the gateway;
 *  - its port changed → that session is restarted on the new port, the other device's session is untouched;
 *  - a connection the gateway cannot run → refused, reported in its status (also in the registry), the last good one runs on;
 *  - connection cleared / device retired → the session stops;
 *  - gateway restarted with ingest down → it starts from the document on disk and buffers readings.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import pino from 'pino';
import t, { type Test } from 'tap';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { bearer, mintToken } from '../../../ingest/src/auth/test-tokens.js';
import { startIngest } from '../../../ingest/src/main.js';
import { freePort } from '../../../ingest/src/series/influxd-launcher.js';
import { buildConfig } from '../config.js';
import { silentLogger } from '../log.js';
import { startGateway, type RunningGateway } from '../main.js';
import { fakeProtocol } from '../session/testdata/fake-protocol.js';
import type { ConfigSyncState } from './config-sync.js';

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A monitor on TCP: once connected it sends a heart rate every 100 ms (at most 3000 lines). */
async function startMonitor(t: Test, hr: number) {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('error', () => {});
    s.write('ID acme m1 1.0\n');
    let n = 0;
    const timer = setInterval(() => {
      if (++n > 3000 || s.destroyed) clearInterval(timer);
      else s.write(`N hr ${hr}\n`);
    }, 100);
    s.on('close', () => {
      clearInterval(timer);
      sockets.delete(s);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    open: () => sockets.size,
  };
}

t.test('a gateway with no local devices runs what the registry says, without a restart', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orlink-regcfg-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ingestConfig = loadIngestConfig({
    input: {
      http: { host: '127.0.0.1', port: await freePort() },
      db: { path: path.join(dir, 'ingest.sqlite') },
      series: { kind: 'memory' },
      broker: { kind: 'embedded', host: '127.0.0.1', port: await freePort() },
      log: { level: 'silent' },
    },
    env: {},
  });
  let ingest = await startIngest(ingestConfig, { logger: pino({ level: 'silent' }) });
  let ingestUp = true;
  t.teardown(() => (ingestUp ? ingest.close() : undefined));
  const headers = bearer(mintToken(ingest.services, 'admin'));
  const api = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: object) => {
    const res = await ingest.app.inject({ method, url, headers, ...(body ? { payload: body } : {}) });
    if (res.statusCode >= 400) throw new Error(`${method} ${url} → ${res.statusCode} ${res.body}`);
    return res.json();
  };
  await api('POST', '/sites', { id: 'main', name: 'Main' });
  await api('POST', '/rooms', { id: 'or1', siteId: 'main', name: 'OR 1' });
  await api('POST', '/beds', { id: 'bed1', roomId: 'or1', name: 'OR 1 table' });
  await api('POST', '/gateways', { id: 'gw1', bedId: 'bed1', password: 'gateway-password-1' });
  await api('POST', '/devices', { id: 'mon1', gatewayId: 'gw1', bedId: 'bed1' });
  await api('POST', '/devices', { id: 'oxi1', gatewayId: 'gw1', bedId: 'bed1' });

  const monA = await startMonitor(t, 71);
  const monB = await startMonitor(t, 92);
  const oxi = await startMonitor(t, 55);
  const cacheFile = path.join(dir, 'gw', 'registry-config.json');
  // what a gateway needs locally: id, location, broker and credentials; no devices
  const gwConfig = buildConfig(
    {
      gatewayId: 'gw1',
      site: 'main',
      room: 'or1',
      bed: 'bed1',
      mqtt: { url: ingest.mqttUrl, username: 'gw1', password: 'gateway-password-1', publishIntervalMs: 100, statusIntervalMs: 300, connectTimeoutMs: 2000 },
      outbox: { kind: 'file', dir: path.join(dir, 'gw', 'outbox'), fsync: false },
      configCacheFile: cacheFile,
      log: { level: 'silent' },
    },
    {},
  );
  t.equal(gwConfig.configSource, 'registry', 'no devices key: the registry is the source');
  const captureFile = path.join(dir, 'captures', 'gw1.hexlog');
  const start = () =>
    startGateway(gwConfig, {
      logger: silentLogger(),
      protocols: { 'fake-line': fakeProtocol },
      tickMs: 50,
      drainMs: 200,
      mqttBackoff: { baseMs: 100, maxMs: 300 },
      record: captureFile,
    });
  const clientsBefore = ingest.broker!.connectedClients; // ingest's own subscriber
  let gw: RunningGateway = await start();
  let gwUp = true;
  t.teardown(() => (gwUp ? gw.close() : undefined));
  const cfg = () => (gw.status() as unknown as { config: ConfigSyncState }).config;
  const linkOf = (id: string) => gw.status().devices.find((d) => d.id === id);

  await until('the first (empty) document', () => cfg().version === 1);
  t.same(gw.status().devices, [], 'nothing to run yet');

  // a biomedical engineer gives the devices their connection
  const conn = (port: number) => ({ protocol: 'fake-line', transport: { kind: 'tcp', host: '127.0.0.1', port }, watchdogMs: 60_000 });
  await api('PUT', '/devices/mon1/connection', conn(monA.port));
  await api('PUT', '/devices/oxi1/connection', conn(oxi.port));
  await until('both sessions streaming', () => linkOf('mon1')?.link === 'streaming' && linkOf('oxi1')?.link === 'streaming');
  t.ok((cfg().version ?? 0) >= 2 && cfg().from === 'broker', 'applied from the broker');
  t.equal(fs.statSync(cacheFile).mode & 0o777, 0o600, 'the last good document is on disk, owner-only');
  // --record covers devices that came from the registry: one capture per device, opened with its session
  const monCapture = path.join(dir, 'captures', 'gw1.mon1.hexlog');
  await until('the registry device is captured', () => fs.existsSync(monCapture) && /^RX /m.test(fs.readFileSync(monCapture, 'utf8')));
  t.match(fs.readFileSync(monCapture, 'utf8'), /# device: mon1\n# protocol: fake-line\n/, 'capture header names the device');
  t.equal(fs.statSync(monCapture).mode & 0o777, 0o600, 'capture owner-only');
  t.ok(fs.existsSync(path.join(dir, 'captures', 'gw1.oxi1.hexlog')), 'the other device has its own capture');
  // the config topic rides on the publisher's connection: one MQTT session per gateway, none closed by maxSessions
  t.equal(ingest.broker!.connectedClients, clientsBefore + 1, 'the gateway holds one session on the embedded broker');
  t.equal(ingest.broker!.stats.sessionsClosed, 0, 'no session of the gateway was closed for another');
  t.equal(gw.status().mqtt.connects, 1, 'its one connection was never replaced');

  const since = Date.now() - 60_000;
  const c = await api('POST', '/cases', { bed: 'bed1', start: since });
  const hrOf = async (device: string) => {
    const tl = (await api('GET', `/cases/${c.id}/timeline?from=${since}&to=${Date.now() + 60_000}`)) as {
      numerics: { device: string; mdc: string; points: [number, number | null][] }[];
    };
    return tl.numerics.filter((n) => n.device === device && n.mdc === 'MDC_ECG_HEART_RATE').flatMap((n) => n.points.map((p) => p[1]));
  };
  await until('readings of mon1 in the case timeline', async () => (await hrOf('mon1')).includes(71));

  // the port changes: that session is restarted, the other one keeps running
  const version = cfg().version ?? 0;
  t.equal(oxi.connections(), 1);
  await api('PUT', '/devices/mon1/connection', conn(monB.port));
  await until('mon1 restarted on the new port', () => monB.open() === 1 && monA.open() === 0 && linkOf('mon1')?.link === 'streaming');
  t.equal(cfg().version, version + 1);
  await until('readings from the new port', async () => (await hrOf('mon1')).includes(92));
  t.equal(oxi.connections(), 1, 'the untouched device was not reconnected');
  t.equal(oxi.open(), 1);

  // a connection this gateway cannot run: refused, reported, the last good one runs on
  await api('PUT', '/devices/oxi1/connection', { protocol: 'no-such-driver', transport: { kind: 'tcp', host: '127.0.0.1', port: oxi.port } });
  await until('the refusal in the status', () => cfg().refused === 1);
  t.match(cfg().lastRefusal, { version: version + 2, problems: [/\/devices\/1\/protocol \(oxi1\): unknown protocol 'no-such-driver'/] });
  t.equal(cfg().version, version + 1, 'the running version is unchanged');
  t.equal(oxi.open(), 1, 'and so are its sessions');
  await until(
    "the refusal in the registry's copy of the status",
    async () => ((await api('GET', '/gateways/gw1')).status?.config?.lastRefusal?.version ?? 0) === version + 2,
  );

  // cleared connection and retired device: their sessions stop
  await api('DELETE', '/devices/oxi1/connection');
  await until('oxi1 stopped', () => oxi.open() === 0 && !linkOf('oxi1'));
  await api('POST', '/devices/mon1/retire', { reason: 'replaced' });
  await until('mon1 stopped', () => monB.open() === 0 && gw.status().devices.length === 0);
  await api('POST', '/devices', { id: 'mon2', gatewayId: 'gw1', bedId: 'bed1' });
  await api('PUT', '/devices/mon2/connection', conn(monA.port));
  await until('mon2 streaming', () => linkOf('mon2')?.link === 'streaming');
  const lastGood = cfg().version;

  // restart without ingest: the gateway starts from the disk copy and buffers
  await gw.close();
  gwUp = false;
  await ingest.close();
  ingestUp = false;
  const before = monA.connections();
  gw = await start();
  gwUp = true;
  t.match(cfg(), { version: lastGood, from: 'cache', devices: 1 }, 'started from the cached document');
  await until('mon2 streaming offline', () => linkOf('mon2')?.link === 'streaming' && monA.connections() > before);
  await until('readings buffered in the outbox', () => gw.outbox.depth().records > 2);
  t.equal(gw.status().mqtt.connected, false);

  // ingest back: the buffered readings are delivered; the same version is not applied again
  ingest = await startIngest(ingestConfig, { logger: pino({ level: 'silent' }) });
  ingestUp = true;
  await until('backlog delivered', () => gw.status().mqtt.connected && gw.outbox.depth().records === 0);
  await until('the retained document seen again', () => cfg().received >= 1);
  t.match(cfg(), { version: lastGood, from: 'cache', refused: 0 }, 'the same version from the broker is not re-applied');
  t.equal(monA.open(), 1, 'and the session was not restarted');
});
