/**
 * One OR bed as it really is: ONE gateway reading a patient monitor (simulated GE S/5 / CARESCAPE,
 * DRI), an anesthesia workstation (simulated Dräger Atlan, MEDIBUS) and a pulse oximeter
 * (simulated Masimo Radical-7), each on its own serial line (socat pty pairs). Each device must be
 * identified and mapped by its own firmware profile, and all of them must land in ONE case
 * timeline from Debian's InfluxDB with the values the simulators put on the wire.
 * GE and Masimo carry the device clock (exact times); MEDIBUS frames carry no time, so its values
 * are matched within the link latency (≤ 250 ms), as in test/e2e/draeger-medibus.test.ts.
 */
import t from 'tap';
import { join } from 'node:path';
import { startIngestRig } from '../helpers/ingest-rig.js';
import { buildConfig } from '../../gateway/src/config.js';
import { startGateway } from '../../gateway/src/main.js';
import { openPtyPair } from '../../simulators/src/link/pty.js';
import { serveSerial } from '../../simulators/src/serve-serial.js';
import { GeDriSimulator } from '../../simulators/src/ge-dri/simulator.js';
import { MedibusSimulator } from '../../simulators/src/draeger-medibus/simulator.js';
import { MasimoSimulator } from '../../simulators/src/masimo/simulator.js';

interface Numeric {
  kind: string;
  mdc: string | null;
  vendorCode: string;
  value: number | null;
  t: number;
}
interface Timeline {
  numerics: { mdc: string | null; vendorCode: string; device: string; points: [number, number | null][] }[];
}

const RUN_MS = 8_000;
const MEDIBUS_SLACK_MS = 250;

t.test('monitor + workstation + oximeter behind one gateway land in one case timeline', async (t) => {
  const rig = await startIngestRig(t, 'bed');
  const { dir, logger, ingest, api } = rig;
  const password = await rig.registerBed({ room: 'OR3', bed: 'or3-bed', gatewayId: 'gw-or3' });

  const truth = new Map<string, Numeric[]>([
    ['or3-monitor', []],
    ['or3-atlan', []],
    ['or3-spo2', []],
  ]);
  let recording = true;
  const keep = (device: string) => (r: { kind: string }) => {
    if (recording && r.kind === 'numeric') truth.get(device)!.push(r as Numeric);
  };
  const monitor = new GeDriSimulator({ seed: 31, logger, onProduced: keep('or3-monitor') });
  const atlan = new MedibusSimulator({ seed: 32, onProduced: keep('or3-atlan') });
  const oximeter = new MasimoSimulator({ model: 'radical7', seed: 33, onProduced: keep('or3-spo2') });
  const sims = [monitor, atlan, oximeter];
  const ptys = [];
  for (const sim of sims) {
    const pty = await openPtyPair();
    t.teardown(() => pty.close());
    ptys.push(pty);
    sim.start();
    t.teardown(() => sim.close());
    const serial = serveSerial(pty.devicePath, sim, logger);
    t.teardown(() => serial.stop());
    await serial.opened;
  }

  const gateway = await startGateway(
    buildConfig(
      {
        gatewayId: 'gw-or3',
        site: 'main',
        room: 'OR3',
        bed: 'or3-bed',
        mqtt: { url: ingest.mqttUrl, username: 'gw-or3', publishIntervalMs: 500 },
        outbox: { kind: 'file', dir: join(dir, 'outbox') },
        devices: [
          { id: 'or3-monitor', protocol: 'ge-dri', profile: 'auto', transport: { kind: 'serial', path: ptys[0].hostPath }, options: { intervalS: 1 } },
          { id: 'or3-atlan', protocol: 'draeger-medibus', profile: 'auto', transport: { kind: 'serial', path: ptys[1].hostPath } },
          { id: 'or3-spo2', protocol: 'masimo', profile: 'auto', transport: { kind: 'serial', path: ptys[2].hostPath } },
        ],
        log: { level: 'warn' },
      },
      { ORLINK_MQTT_PASSWORD: password },
    ),
    { logger },
  );
  t.teardown(() => gateway.close());
  const started = Date.now();
  await new Promise((r) => setTimeout(r, RUN_MS));
  recording = false;
  for (const sim of sims) await sim.close();

  // Each device identified and mapped by its own profile.
  const status = new Map(gateway.status().devices.map((d) => [d.id, d]));
  t.match(status.get('or3-monitor')?.profile, /^ge\//, `monitor profile ${status.get('or3-monitor')?.profile}`);
  t.match(status.get('or3-atlan')?.profile, /^draeger\/atlan\//, `workstation profile ${status.get('or3-atlan')?.profile}`);
  t.equal(status.get('or3-spo2')?.model, 'Radical-7', 'oximeter model recognised');

  const kase = await api<{ id: string }>('POST', '/cases', { bed: 'or3-bed', start: started - 60_000 });
  const url = `/cases/${kase.id}/timeline?from=${started - 60_000}&to=${Date.now() + 5_000}`;
  const find = (tl: Timeline, device: string, n: Numeric, slack: number) =>
    tl.numerics
      .filter((x) => x.device === device && x.mdc === n.mdc && x.vendorCode === n.vendorCode)
      .flatMap((x) => x.points)
      .find(([ts, v]) => Math.abs(ts - n.t) <= slack && v === n.value);
  const slackOf = (device: string) => (device === 'or3-atlan' ? MEDIBUS_SLACK_MS : 0);
  const missing = (tl: Timeline) =>
    [...truth].flatMap(([device, list]) =>
      list.filter((n) => n.value !== null && !find(tl, device, n, slackOf(device))).map((n) => `${device} ${n.vendorCode}=${n.value}@${n.t}`),
    );

  let tl!: Timeline;
  const deadline = Date.now() + 30_000;
  for (;;) {
    tl = await api<Timeline>('GET', url);
    if (missing(tl).length === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  for (const [device, list] of truth) {
    const mapped = list.filter((n) => n.mdc !== null && n.value !== null);
    t.ok(mapped.length >= 10, `${device}: ${mapped.length} mapped values produced`);
  }
  t.same(missing(tl).slice(0, 8), [], 'every produced value of all three devices is in the one case timeline, exact');
  const devices = new Set(tl.numerics.map((n) => n.device));
  t.same([...devices].sort(), ['or3-atlan', 'or3-monitor', 'or3-spo2'], 'one timeline holds the three devices');
  for (const mdc of ['MDC_ECG_HEART_RATE', 'MDC_VENT_PRESS_AWAY_END_EXP_POS', 'MDC_PULS_OXIM_SAT_O2']) {
    t.ok(
      tl.numerics.some((n) => n.mdc === mdc && n.points.some((p) => p[1] !== null)),
      `${mdc} present`,
    );
  }
});
