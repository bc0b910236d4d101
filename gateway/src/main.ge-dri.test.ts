/**
 * Smoke test of the runtime with the real GE DRI driver (protocols/ge-dri) against the GE DRI
 * simulator behind a loopback TCP port, publishing to an in-process aedes broker. Also: the
 * simulator hangs up → the session reconnects and data keeps flowing.
 */
import t from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { decodeEnvelope, type Envelope } from '../../schemas/src/envelope.js';
import { GeDriSimulator, TcpDeviceServer } from '../../simulators/src/index.js';
import { buildConfig } from './config.js';
import { silentLogger } from './log.js';
import { startGateway } from './main.js';

async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('gateway + GE DRI simulator over TCP → aedes', async (t) => {
  const aedes = await Aedes.createBroker();
  const broker = net.createServer(aedes.handle).listen(0, '127.0.0.1');
  await once(broker, 'listening');
  const bport = (broker.address() as net.AddressInfo).port;
  const sim = new GeDriSimulator({ seed: 7 });
  const dev = new TcpDeviceServer('127.0.0.1', 0);
  const { port: dport } = await dev.listen();
  dev.on('client', (sock: net.Socket) => sim.attach(sock));
  sim.start();

  const envs: Envelope[] = [];
  const statuses: any[] = [];
  const sub = mqtt.connect(`mqtt://127.0.0.1:${bport}`, { protocolVersion: 4, reconnectPeriod: 0 });
  sub.on('message', (topic, p) => {
    if (topic.endsWith('/data')) envs.push(decodeEnvelope(p));
    else statuses.push(JSON.parse(p.toString()));
  });
  await new Promise<void>((r) => sub.once('connect', () => r()));
  await new Promise((r) => sub.subscribe('orlink/v1/#', { qos: 1 }, r));

  const cfg = buildConfig(
    {
      gatewayId: 'gw-dri',
      site: 's',
      room: 'or5',
      bed: 'b1',
      mqtt: { url: `mqtt://127.0.0.1:${bport}`, publishIntervalMs: 200, statusIntervalMs: 500 },
      outbox: { kind: 'memory' },
      devices: [
        { id: 'mon1', protocol: 'ge-dri', transport: { kind: 'tcp', host: '127.0.0.1', port: dport }, options: { waves: ['ECG1', 'PLETH'], intervalS: 1 } },
      ],
    },
    {},
  );
  const gw = await startGateway(cfg, { logger: silentLogger(), mqttBackoff: { baseMs: 50, maxMs: 200 } });
  t.teardown(async () => {
    await gw.close();
    await sim.close();
    await dev.close();
    await new Promise<void>((r) => sub.end(true, {}, () => r()));
    await new Promise<void>((r) => aedes.close(() => r()));
    await new Promise<void>((r) => broker.close(() => r()));
  });

  const numerics = () => envs.flatMap((e) => e.devices.flatMap((d) => d.numerics));
  const waves = () => envs.flatMap((e) => e.devices.flatMap((d) => d.waves));
  await until('numerics and waves', () => numerics().some((n) => n.mdc && n.value !== null) && waves().length > 2);
  t.ok(
    waves().every((w) => w.samples.length <= Math.floor(w.rateHz)),
    'wave blocks ≤ 1 s',
  );
  t.ok(
    numerics().every((n) => n.value === null || Number.isFinite(n.value)),
    'no NaN on the wire',
  );
  await until('streaming status', () => statuses.some((s) => s.online && s.devices?.[0]?.link === 'streaming'));
  const st = gw.status().devices[0];
  t.ok(st.frames > 0, `${st.frames} frames`);
  t.equal(st.protocol, 'ge-dri');
  t.comment(JSON.stringify({ profile: st.profile, model: st.model, frames: st.frames, errors: st.errorsByKind, offset: st.clockOffsetMs }));

  // the device hangs up: the session reconnects and requests again
  const before = numerics().length;
  sim.disconnect();
  await until('reconnected', () => gw.status().devices[0].reconnects >= 1 && gw.status().devices[0].link === 'streaming');
  await until('data after reconnect', () => numerics().length > before + 5);
  t.pass('data flows again after the device hung up');
  await until('outbox drained', () => gw.outbox.depth().records === 0);
});
