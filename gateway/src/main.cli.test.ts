/**
 * `orlink gateway --config FILE --record FILE` as a real child process: the registry's ge-dri
 * driver talks to a silent TCP "device", the retained status goes online, SIGTERM stops it
 * gracefully (exit 0, retained offline "shutdown" status, capture written).
 */
import t from 'tap';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { buildConfig } from './config.js';
import { startGateway } from './main.js';
import { silentLogger } from './log.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

t.test('unknown protocol is a fatal start error', async (t) => {
  const cfg = buildConfig(
    {
      gatewayId: 'g',
      site: 's',
      room: 'r',
      bed: 'b',
      outbox: { kind: 'memory' },
      devices: [{ id: 'd', protocol: 'no-such-protocol', transport: { kind: 'tcp', host: '127.0.0.1', port: 9 } }],
    },
    {},
  );
  await t.rejects(startGateway(cfg, { logger: silentLogger() }), { code: 'GW_ERR_PROTOCOL_UNKNOWN', kind: 'fatal' });
});

t.test('device options the driver refuses are a config error at start', async (t) => {
  const cfg = buildConfig(
    {
      gatewayId: 'g',
      site: 's',
      room: 'r',
      bed: 'b',
      outbox: { kind: 'memory' },
      devices: [{ id: 'mon1', protocol: 'ge-dri', transport: { kind: 'tcp', host: '127.0.0.1', port: 9 }, options: { waves: ['NO_SUCH_WAVE'] } }],
    },
    {},
  );
  const err = await startGateway(cfg, { logger: silentLogger() }).catch((e) => e);
  t.equal(err.code, 'GW_ERR_CONFIG');
  t.match(err.details[0], /devices\/0\/options \(mon1\)/);
});

t.test('CLI child: online status, capture, SIGTERM → graceful shutdown', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cli-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const aedes = await Aedes.createBroker();
  const broker = net.createServer(aedes.handle).listen(0, '127.0.0.1');
  await once(broker, 'listening');
  const bport = (broker.address() as net.AddressInfo).port;
  const devSockets: net.Socket[] = [];
  const device = net
    .createServer((s) => {
      devSockets.push(s);
      s.on('error', () => {});
    })
    .listen(0, '127.0.0.1');
  await once(device, 'listening');
  const dport = (device.address() as net.AddressInfo).port;
  t.teardown(async () => {
    for (const s of devSockets) s.destroy();
    await new Promise<void>((r) => device.close(() => r()));
    await new Promise<void>((r) => aedes.close(() => r()));
    await new Promise<void>((r) => broker.close(() => r()));
  });

  const cfgFile = path.join(dir, 'gateway.yaml');
  fs.writeFileSync(
    cfgFile,
    [
      'gatewayId: gw-cli',
      'site: s1',
      'room: or2',
      'bed: b1',
      `mqtt: { url: "mqtt://127.0.0.1:${bport}", statusIntervalMs: 500 }`,
      'outbox: { kind: file, dir: ./outbox }',
      'log: { level: warn }',
      'devices:',
      `  - { id: mon1, protocol: ge-dri, transport: { kind: tcp, host: 127.0.0.1, port: ${dport} } }`,
      '',
    ].join('\n'),
  );
  const statuses: any[] = [];
  const sub = mqtt.connect(`mqtt://127.0.0.1:${bport}`, { protocolVersion: 4, reconnectPeriod: 0 });
  sub.on('message', (_topic, p) => statuses.push(JSON.parse(p.toString())));
  await new Promise<void>((r) => sub.once('connect', () => r()));
  await new Promise((r) => sub.subscribe('orlink/v1/s1/or2/b1/gw-cli/status', { qos: 1 }, r));
  t.teardown(() => new Promise<void>((r) => sub.end(true, {}, () => r())));

  const capture = path.join(dir, 'cap.hexlog');
  const child = spawn(process.execPath, [path.join(root, 'bin', 'orlink.js'), 'gateway', '--config', cfgFile, '--record', capture], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  await until('online status with the device link', () => statuses.some((s) => s.online && s.devices?.[0]?.link === 'identifying'));
  const online = statuses.find((s) => s.online);
  t.equal(online.gatewayId, 'gw-cli');
  t.equal(online.devices[0].protocol, 'ge-dri');
  t.equal(online.outbox.kind, 'file');
  await until('driver request captured', () => fs.existsSync(capture) && /^TX /m.test(fs.readFileSync(capture, 'utf8')));
  child.kill('SIGTERM');
  t.equal(await exited, 0, `exit 0 ${stderr}`);
  await until('shutdown status', () => statuses.at(-1)?.online === false);
  t.equal(statuses.at(-1).reason, 'shutdown');
  const cap = fs.readFileSync(capture, 'utf8');
  t.match(cap, /^# protocol: ge-dri$/m);
  t.ok(
    cap
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .every((l) => /^(RX|TX)( [0-9a-f]{2})+$/.test(l)),
    'hexlog lines',
  );
  t.ok(fs.existsSync(path.join(dir, 'outbox')), 'outbox dir resolved against the config file');
});
