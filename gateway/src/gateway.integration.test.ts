/**
 * Whole gateway against a real in-process aedes broker on loopback, with a fake line-protocol
 * device served over TCP: readings arrive in order, status is retained, LWT on abrupt loss,
 * broker stopped and restarted → the outbox backlog is resent and acked, nothing lost.
 */
import t from 'tap';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { decodeEnvelope } from '../../schemas/src/envelope.js';
import { buildConfig } from './config.js';
import { silentLogger } from './log.js';
import { startGateway, run } from './main.js';
import { fakeProtocol } from './session/testdata/fake-protocol.js';

async function until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Broker {
  port: number;
  aedes: Aedes;
  server: net.Server;
  stop(): Promise<void>;
}
async function startBroker(port = 0, authenticate?: (clientId: string) => boolean): Promise<Broker> {
  const aedes = await Aedes.createBroker(
    authenticate
      ? {
          authenticate: (client, _u, _p, cb) => cb(null, authenticate(client.id)),
        }
      : {},
  );
  const server = net.createServer(aedes.handle);
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    aedes,
    server,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A device on TCP: the test pushes lines; it also records what the gateway sent. */
async function startDevice() {
  let sock: net.Socket | undefined;
  const received: string[] = [];
  const server = net.createServer((s) => {
    sock = s;
    s.on('data', (d) => received.push(d.toString()));
    s.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    connected: () => !!sock && !sock.destroyed,
    send: (line: string) => sock?.write(line),
    received,
    stop: async () => {
      sock?.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Subscriber that decodes Envelopes and keeps statuses; counts unique (bootId, seq). */
async function startSubscriber(port: number) {
  const envs: { bootId: string; seq: number; values: number[] }[] = [];
  const statuses: any[] = [];
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    protocolVersion: 4,
    clientId: `sub-${Math.random().toString(16).slice(2, 8)}`,
    reconnectPeriod: 100,
  });
  client.on('message', (topic, payload) => {
    if (topic.endsWith('/data')) {
      const e = decodeEnvelope(payload);
      envs.push({ bootId: e.bootId, seq: e.seq, values: e.devices.flatMap((d) => d.numerics.map((n) => n.value as number)) });
    } else if (topic.endsWith('/status')) statuses.push(JSON.parse(payload.toString()));
  });
  client.on('error', () => {});
  let subscribed = false;
  client.on('close', () => {
    subscribed = false;
  });
  client.on('connect', () => {
    subscribed = false;
    client.subscribe('orlink/v1/#', { qos: 1 }, () => {
      subscribed = true;
    });
  });
  await until('subscriber', () => subscribed);
  return {
    envs,
    statuses,
    client,
    subscribed: () => subscribed,
    unique: () => new Set(envs.map((e) => `${e.bootId}/${e.seq}`)).size,
    values: () => new Set(envs.flatMap((e) => e.values)),
    stop: () => new Promise<void>((r) => client.end(true, {}, () => r())),
  };
}

function gatewayConfig(brokerPort: number, devicePort: number, dir: string) {
  return buildConfig(
    {
      gatewayId: 'gw-it',
      site: 'site1',
      room: 'or1',
      bed: 'bed1',
      mqtt: { url: `mqtt://127.0.0.1:${brokerPort}`, publishIntervalMs: 50, statusIntervalMs: 300, maxInflight: 8 },
      outbox: { kind: 'file', dir, maxBytes: 1 << 22, segmentBytes: 1 << 16 },
      devices: [{ id: 'mon1', protocol: 'fake-line', transport: { kind: 'tcp', host: '127.0.0.1', port: devicePort }, watchdogMs: 60_000 }],
    },
    {},
  );
}

t.test('end to end through aedes: order, retained status, broker restart, LWT, shutdown', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-it-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  let broker = await startBroker();
  const port = broker.port;
  const device = await startDevice();
  t.teardown(() => device.stop());
  const sub = await startSubscriber(port);
  const gw = await startGateway(gatewayConfig(port, device.port, path.join(dir, 'outbox')), {
    logger: silentLogger(),
    protocols: { 'fake-line': fakeProtocol },
    mqttBackoff: { baseMs: 50, maxMs: 200 },
    drainMs: 3000,
  });
  let closed = false;
  t.teardown(async () => {
    if (!closed) await gw.close();
    await sub.stop();
    await broker.stop();
  });

  await until('device connection', device.connected);
  await until('START request', () => device.received.join('').includes('START\n'));
  device.send('ID acme mon9 4.2\n');
  for (let i = 1; i <= 100; i++) device.send(`N hr ${i}\n`);
  await until('100 readings', () => sub.values().size === 100);
  const inOrder = [...sub.envs].sort((a, b) => a.seq - b.seq).flatMap((e) => e.values);
  t.same(
    inOrder,
    Array.from({ length: 100 }, (_, i) => i + 1),
    'readings arrive in order',
  );
  t.ok(sub.envs.every((e) => e.bootId === gw.bootId));
  await until('outbox drained', () => gw.outbox.depth().records === 0);

  // retained status: a late subscriber gets it at once
  const late = await startSubscriber(port);
  await until('retained status', () => late.statuses.length > 0);
  const st = late.statuses.at(-1);
  t.equal(st.online, true);
  t.equal(st.bootId, gw.bootId);
  t.equal(st.devices[0].link, 'streaming');
  t.equal(st.devices[0].model, 'mon9');
  t.equal(st.devices[0].profile, 'acme/mon9');
  t.type(st.outbox.records, 'number');
  t.equal(st.outbox.droppedRecords, 0);
  await late.stop();

  // broker down: readings keep flowing into the outbox
  await broker.stop();
  await until('publisher notices', () => !gw.status().mqtt.connected);
  for (let i = 101; i <= 200; i++) device.send(`N hr ${i}\n`);
  await until('backlog in outbox', () => gw.outbox.depth().records > 0 && sub.values().size === 100 && gw.status().batcher.observations >= 200);
  const backlog = gw.outbox.depth().records;
  t.ok(backlog > 0, `${backlog} records waiting`);

  // broker back on the same port; the gateway is admitted only once the subscriber listens again
  let admitGateway = false;
  broker = await startBroker(port, (id) => id.startsWith('sub-') || admitGateway);
  await until('subscriber back', () => sub.subscribed());
  admitGateway = true;
  for (let i = 201; i <= 250; i++) device.send(`N hr ${i}\n`);
  await until('all 250 readings after restart', () => sub.values().size === 250);
  await until('backlog acked', () => gw.outbox.depth().records === 0);
  const seqs = [...new Set(sub.envs.map((e) => e.seq))].sort((a, b) => a - b);
  t.same(
    seqs,
    Array.from({ length: seqs.at(-1)! }, (_, i) => i + 1),
    'every seq written was delivered (no gap)',
  );
  t.ok(gw.status().mqtt.published >= seqs.length);
  t.equal(gw.status().outbox.droppedRecords, 0, 'nothing dropped');
  t.ok(gw.status().mqtt.connects >= 2);

  // LWT: the broker loses the gateway's connection abruptly
  const before = sub.statuses.length;
  for (const c of Object.values((broker.aedes as any).clients) as any[]) if (!String(c.id).startsWith('sub-')) c.conn.destroy();
  await until('LWT offline', () => sub.statuses.slice(before).some((s) => s.online === false && s.reason === 'lwt'));
  await until('back online', () => sub.statuses.at(-1)?.online === true);
  t.pass('LWT published, then the gateway came back');

  // graceful stop: goodbye status retained
  device.send('N hr 251\n');
  await until('reading 251', () => sub.values().has(251));
  await gw.close();
  closed = true;
  await until('shutdown status', () => sub.statuses.at(-1)?.online === false);
  t.equal(sub.statuses.at(-1).reason, 'shutdown');
  t.ok(device.received.join('').includes('STOP\n'), 'driver stop request sent');
});

t.test('a restart resends unacked records with their original bootId and seq', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-it-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const device = await startDevice();
  t.teardown(() => device.stop());
  // no broker yet: a free port nobody listens on
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const cfg = gatewayConfig(port, device.port, path.join(dir, 'outbox'));
  const opts = { logger: silentLogger(), protocols: { 'fake-line': fakeProtocol }, mqttBackoff: { baseMs: 50, maxMs: 200 }, drainMs: 0 };
  const gw1 = await startGateway(cfg, opts);
  await until('device connection', device.connected);
  for (let i = 1; i <= 20; i++) device.send(`N hr ${i}\n`);
  await until('buffered', () => gw1.status().batcher.observations >= 20);
  const boot1 = gw1.bootId;
  await gw1.close();

  const broker = await startBroker(port);
  const sub = await startSubscriber(port);
  const gw2 = await startGateway(cfg, opts);
  t.teardown(async () => {
    await gw2.close();
    await sub.stop();
    await broker.stop();
  });
  t.not(gw2.bootId, boot1);
  await until('old readings resent', () => sub.values().size >= 20);
  t.ok(
    sub.envs.filter((e) => e.values.length).every((e) => e.bootId === boot1),
    'replayed records keep the bootId they were written with',
  );
  await until('acked', () => gw2.outbox.depth().records === 0);
});

t.test('run(): argument and config errors', async (t) => {
  t.equal(await run([]), 2);
  t.equal(await run(['--bogus']), 2);
  t.equal(await run(['--config', '/nonexistent/gw.yaml']), 2);
  t.equal(await run(['--help']), 0);
});

t.test('three broker restarts while the device streams: every reading arrives', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-it-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  let admit = true;
  let broker = await startBroker(0, (id) => id.startsWith('sub-') || admit);
  const port = broker.port;
  const device = await startDevice();
  const sub = await startSubscriber(port);
  const gw = await startGateway(gatewayConfig(port, device.port, path.join(dir, 'outbox')), {
    logger: silentLogger(),
    protocols: { 'fake-line': fakeProtocol },
    mqttBackoff: { baseMs: 20, maxMs: 100 },
    drainMs: 3000,
  });
  t.teardown(async () => {
    await gw.close();
    await sub.stop();
    await broker.stop();
    await device.stop();
  });
  await until('device connection', device.connected);
  let sent = 0;
  const feeder = setInterval(() => {
    for (let k = 0; k < 5; k++) device.send(`N hr ${++sent}\n`);
  }, 5);
  t.teardown(() => clearInterval(feeder));
  for (let round = 0; round < 3; round++) {
    const target = sent + 50;
    await until('some readings flowing', () => sub.values().size >= target - 50 && sent >= target);
    await broker.stop();
    const mark = sent;
    await until('readings buffered while the broker is down', () => sent >= mark + 100);
    admit = false;
    broker = await startBroker(port, (id) => id.startsWith('sub-') || admit);
    await until('subscriber back', () => sub.subscribed());
    admit = true;
  }
  clearInterval(feeder);
  await until(`all ${sent} readings`, () => sub.values().size === sent, 90_000); // generous: reconnect backoff on a loaded machine
  await until('outbox drained', () => gw.outbox.depth().records === 0);
  t.equal(sub.values().size, sent, `${sent} readings, none lost`);
  t.ok(gw.status().mqtt.connects >= 4);
  t.equal(gw.status().outbox.droppedRecords, 0);
});
