/**
 * End to end on real components, two simulated IntelliVue monitors behind ONE gateway: an MX800
 * on the LAN (UDP, 127.0.0.1 only) and an MP70 on the MIB/RS-232 port (pty, socat) → gateway
 * (Data Export sessions — LAN framing configured, serial auto-detected —, file outbox, MQTT QoS 1) → embedded aedes → ingest → Debian's InfluxDB →
 * GET /cases/:id/timeline. Every numeric must be stored with its produced value at its exact device
 * time, every wave sample at its place on the sample clock, and the standing alarm once.
 */
import t from 'tap';
import { join } from 'node:path';
import { startIngestRig, until } from '../helpers/ingest-rig.js';
import { buildConfig } from '../../gateway/src/config.js';
import { startGateway } from '../../gateway/src/main.js';
import { openPtyPair } from '../../simulators/src/link/pty.js';
import { serveSerial } from '../../simulators/src/serve-serial.js';
import { IntelliVueMonitor } from '../../simulators/src/philips-intellivue/monitor.js';
import { SerialMonitorLink, UdpMonitorServer } from '../../simulators/src/philips-intellivue/links.js';
import type { Produced, ProducedNumeric, ProducedWave } from '../../simulators/src/philips-intellivue/truth.js';

interface Timeline {
  numerics: { mdc: string | null; vendorCode: string; device: string; points: [number, number | null][] }[];
  waves: { mdc: string | null; vendorCode: string; device: string; rateHz: number; blocks: { t0: number; samples: (number | null)[] }[] }[];
  alarms: { vendorCode?: string; phase: string; t: number; device?: string; text: string }[];
}

const RUN_MS = 6_000;

t.test('IntelliVue LAN + serial simulators → gateway → aedes → ingest → InfluxDB → case timeline, exact', async (t) => {
  const rig = await startIngestRig(t, 'iv');
  const { dir, logger, ingest, api } = rig;
  const password = await rig.registerBed({ room: 'OR7', bed: 'or7-bed', gatewayId: 'gw-or7' });
  await api('POST', '/devices', {
    id: 'or7-mx800',
    gatewayId: 'gw-or7',
    bedId: 'or7-bed',
    vendor: 'Philips',
    model: 'IntelliVue MX800 (simulated)',
    profile: 'auto',
    transport: 'udp',
  });
  await api('POST', '/devices', {
    id: 'or7-mp70',
    gatewayId: 'gw-or7',
    bedId: 'or7-bed',
    vendor: 'Philips',
    model: 'IntelliVue MP70 (simulated)',
    profile: 'auto',
    transport: 'serial (pty)',
  });

  const truth: Record<string, Produced[]> = { 'or7-mx800': [], 'or7-mp70': [] };
  let recording = true;
  const lanMon = new IntelliVueMonitor({ seed: 31, model: 'MX800', faults: { alarm: true } });
  const serMon = new IntelliVueMonitor({ seed: 32, model: 'MP70', maxReplyBytes: 300 });
  lanMon.on('produced', (p: Produced) => {
    if (recording) truth['or7-mx800'].push(p);
  });
  serMon.on('produced', (p: Produced) => {
    if (recording) truth['or7-mp70'].push(p);
  });
  t.teardown(() => {
    lanMon.close();
    serMon.close();
  });
  const udp = new UdpMonitorServer(lanMon);
  const addr = await udp.listen();
  t.teardown(() => udp.close());
  const pty = await openPtyPair();
  t.teardown(() => pty.close());
  const serving = serveSerial(pty.devicePath, new SerialMonitorLink(serMon), logger);
  t.teardown(() => serving.stop());
  await serving.opened;

  const gateway = await startGateway(
    buildConfig(
      {
        gatewayId: 'gw-or7',
        site: 'main',
        room: 'OR7',
        bed: 'or7-bed',
        mqtt: { url: ingest.mqttUrl, username: 'gw-or7', publishIntervalMs: 250 },
        outbox: { kind: 'file', dir: join(dir, 'outbox') },
        devices: [
          {
            id: 'or7-mx800',
            protocol: 'philips-intellivue',
            profile: 'auto',
            transport: { kind: 'intellivue-lan', host: '127.0.0.1', port: addr.port },
            options: { framing: 'lan', waves: ['0x0102', '0x4BB4', '0x4A10'] },
          },
          {
            id: 'or7-mp70',
            protocol: 'philips-intellivue',
            profile: 'auto',
            transport: { kind: 'serial', path: pty.hostPath },
            options: { waves: ['0x0102', '0x50AC'], alerts: false },
          },
        ],
        log: { level: 'warn' },
      },
      { ORLINK_MQTT_PASSWORD: password },
    ),
    { logger },
  );
  t.teardown(() => gateway.close());
  const started = Date.now();
  await until('both monitors send numerics', () => Object.values(truth).every((l) => l.some((p) => p.kind === 'numeric')), 15_000);
  await new Promise((r) => setTimeout(r, RUN_MS));
  recording = false;
  lanMon.close();
  serMon.close();

  const kase = await api<{ id: string }>('POST', '/cases', { bed: 'or7-bed', start: started - 60_000 });
  const url = `/cases/${kase.id}/timeline?from=${started - 60_000}&to=${Date.now() + 5_000}`;
  const key = (dev: string, vc: string, ts: number): string => `${dev}|${vc}|${ts}`;
  let tl!: Timeline;
  let stored = new Map<string, number | null>();
  const nums = Object.entries(truth).flatMap(([dev, l]) => l.filter((p): p is ProducedNumeric => p.kind === 'numeric').map((p) => ({ dev, p })));
  await until('every produced numeric queryable', async () => {
    tl = await api<Timeline>('GET', url);
    stored = new Map();
    for (const n of tl.numerics) for (const [ts, v] of n.points) stored.set(key(n.device, n.vendorCode, ts), v);
    return nums.every(({ dev, p }) => stored.has(key(dev, p.vendorCode, p.t)));
  });
  for (const dev of Object.keys(truth)) {
    const mine = nums.filter((n) => n.dev === dev);
    t.ok(mine.length >= 5 * 12, `${dev}: ${mine.length} numerics produced`);
    const wrong = mine
      .filter(({ p }) => stored.get(key(dev, p.vendorCode, p.t)) !== p.value)
      .map(({ p }) => `${p.vendorCode}@${p.t}: ${p.value} vs ${stored.get(key(dev, p.vendorCode, p.t))}`);
    t.same(wrong.slice(0, 5), [], `${dev}: every numeric stored with its value at its device time`);
    const hr = tl.numerics.find((n) => n.device === dev && n.vendorCode === '0x4182');
    t.equal(hr?.mdc, 'MDC_ECG_HEART_RATE', `${dev}: HR mapped by code`);
    const waves = truth[dev].filter((p): p is ProducedWave => p.kind === 'wave');
    const codes = [...new Set(waves.map((w) => w.vendorCode))];
    t.ok(codes.length >= 2, `${dev}: waves ${codes.join(', ')}`);
    for (const vc of codes) {
      const want = waves.filter((w) => w.vendorCode === vc);
      const got = tl.waves.find((w) => w.device === dev && w.vendorCode === vc);
      t.equal(got?.rateHz, want[0].rateHz, `${dev} ${vc}: rate`);
      const have = new Map<number, number | null>();
      for (const b of got?.blocks ?? []) b.samples.forEach((s, i) => have.set(Math.round(b.t0 * want[0].rateHz) + i * 1000, s));
      let missing = 0;
      let bad = 0;
      for (const w of want)
        w.samples.forEach((s, i) => {
          const k = Math.round(w.t0 * w.rateHz) + i * 1000;
          if (!have.has(k)) missing++;
          else if (have.get(k) !== s) bad++;
        });
      t.same([missing, bad], [0, 0], `${dev} ${vc}: every sample of ${want.length} blocks stored exactly`);
    }
  }
  const alarms = tl.alarms.filter((a) => a.device === 'or7-mx800');
  t.same(
    alarms.map((a) => [a.text, a.phase]),
    [['**HR HIGH', 'start']],
    'the standing alarm stored once',
  );
  const metrics = await ingest.app.inject({ method: 'GET', url: '/metrics', headers: rig.headers });
  t.match(metrics.body, /dead_lettered_total 0/, 'nothing dead-lettered');
});
