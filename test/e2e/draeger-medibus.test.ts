/**
 * End to end on real components: the simulated Dräger Atlan (MEDIBUS) on a pty (socat) → gateway
 * (serialport, MEDIBUS session: ICC, device id → profile, ESC S/T realtime, CP1/alarm polling,
 * answering the device's own commands) → embedded aedes → ingest → real InfluxDB → GET
 * /cases/:id/timeline. MEDIBUS frames carry no timestamps: the gateway stamps the receive time
 * (numerics) and the realtime sample clock anchored at receive time (waves). So values must match
 * exactly, times within a small link latency (numerics ≤ 250 ms, waves ≤ 300 ms at the first
 * sample), and samples must be contiguous and complete in order.
 */
import t from 'tap';
import { join } from 'node:path';
import { startIngestRig } from '../helpers/ingest-rig.js';
import { buildConfig } from '../../gateway/src/config.js';
import { startGateway } from '../../gateway/src/main.js';
import { openPtyPair } from '../../simulators/src/link/pty.js';
import { serveSerial } from '../../simulators/src/serve-serial.js';
import { MedibusSimulator } from '../../simulators/src/draeger-medibus/simulator.js';
import type { Produced, ProducedNumeric, ProducedWave } from '../../simulators/src/ge-dri/truth.js';

interface TimelineNumeric {
  mdc: string | null;
  vendorCode: string;
  device: string;
  points: [number, number | null][];
}
interface TimelineWave {
  mdc: string | null;
  device: string;
  rateHz: number;
  blocks: { t0: number; samples: (number | null)[] }[];
}
interface Timeline {
  numerics: TimelineNumeric[];
  waves: TimelineWave[];
  alarms?: unknown[];
}

const RUN_MS = 7_000;
const NUMERIC_SLACK_MS = 250;

t.test('Atlan simulator → gateway → aedes → ingest → InfluxDB → case timeline', async (t) => {
  const rig = await startIngestRig(t, 'medibus');
  const { dir, logger, ingest, api } = rig;
  const password = await rig.registerBed({ room: 'OR7', bed: 'or7-bed', gatewayId: 'gw-or7' });
  await api('POST', '/devices', {
    id: 'or7-atlan',
    gatewayId: 'gw-or7',
    bedId: 'or7-bed',
    vendor: 'Draeger',
    model: 'Atlan (simulated)',
    profile: 'auto',
    transport: 'serial (pty)',
  });

  const produced: Produced[] = [];
  let recording = true;
  const sim = new MedibusSimulator({
    seed: 11,
    onProduced: (r) => {
      if (recording) produced.push(r);
    },
  });
  sim.start();
  t.teardown(() => sim.close());
  const pty = await openPtyPair();
  t.teardown(() => pty.close());
  const serial = serveSerial(pty.devicePath, sim, logger);
  await serial.opened;
  t.teardown(() => serial.stop());

  const started = Date.now();
  const gw = await startGateway(
    buildConfig(
      {
        gatewayId: 'gw-or7',
        site: 'main',
        room: 'OR7',
        bed: 'or7-bed',
        mqtt: { url: ingest.mqttUrl, username: 'gw-or7' },
        outbox: { kind: 'file', dir: join(dir, 'outbox') },
        devices: [
          {
            id: 'or7-atlan',
            protocol: 'draeger-medibus',
            profile: 'auto',
            transport: { kind: 'serial', path: pty.hostPath },
            options: { waves: ['00', '01', '06'] },
          },
        ],
        log: { level: 'warn' },
      },
      { ORLINK_MQTT_PASSWORD: password },
    ),
    { logger },
  );
  t.teardown(() => gw.close());

  await new Promise((r) => setTimeout(r, RUN_MS));
  recording = false;
  // Keep the link up a little longer: the next polls close the wave blocks still open in the
  // gateway (a block closes at 25 samples or at the next 7-bit frame).
  await new Promise((r) => setTimeout(r, 1500));
  await serial.stop();

  const numerics = produced.filter((r): r is ProducedNumeric => r.kind === 'numeric');
  const waves = produced.filter((r): r is ProducedWave => r.kind === 'wave');
  t.ok(numerics.length >= 30, `simulator answered CP1 polls (${numerics.length} values)`);
  t.ok(waves.length >= 10, `simulator streamed realtime blocks (${waves.length})`);
  t.same(sim.stats().rxErrors, {}, 'every gateway frame verified by the device');
  // The simulator's first ICC goes out before the gateway opened the pty, so the first ESC R may
  // be refused (as on the real Atlan) until the repeated ICC is acknowledged; then nothing is.
  t.ok(sim.stats().naks <= 2, `at most the start-up NAKs (${sim.stats().naks})`, { stats: sim.stats() });

  const kase = await api<{ id: string }>('POST', '/cases', { bed: 'or7-bed', start: started - 60_000 });
  const url = `/cases/${kase.id}/timeline?from=${started - 60_000}&to=${Date.now() + 1000}`;
  const find = (tl: Timeline, n: ProducedNumeric): [number, number | null] | undefined =>
    tl.numerics
      .filter((x) => x.mdc === n.mdc && x.vendorCode === n.vendorCode)
      .flatMap((x) => x.points)
      .find(([ts]) => Math.abs(ts - n.t) <= NUMERIC_SLACK_MS);
  const deadline = Date.now() + 30_000;
  let tl: Timeline;
  for (;;) {
    tl = await api<Timeline>('GET', url);
    const missing = numerics.filter((n) => !find(tl, n)).length;
    const stored = tl.waves.reduce((k, w) => k + w.blocks.reduce((j, b) => j + b.samples.length, 0), 0);
    if ((missing === 0 && stored >= waves.reduce((k, w) => k + w.samples.length, 0)) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const lost = numerics.filter((n) => !find(tl!, n));
  t.same(
    lost.slice(0, 5).map((n) => `${n.vendorCode}@${n.t}`),
    [],
    `no numeric lost of ${numerics.length}`,
  );
  const wrong = numerics.filter((n) => {
    const p = find(tl!, n);
    return p && p[1] !== n.value;
  });
  t.same(
    wrong.slice(0, 5).map((n) => `${n.vendorCode}=${n.value} stored ${String(find(tl!, n)?.[1])}`),
    [],
    'every numeric has the produced value',
  );
  const mbar = tl!.numerics.find((x) => x.vendorCode === 'cp1.7D');
  t.equal(mbar?.mdc, 'MDC_VENT_PRESS_AWAY_MAX', 'PIP stored under its MDC id');
  t.ok(
    tl!.numerics.every((x) => x.device === 'or7-atlan'),
    'tagged with the device',
  );

  for (const mdc of ['MDC_PRESS_AWAY', 'MDC_FLOW_AWAY', 'MDC_CONC_AWAY_CO2']) {
    const want = waves.filter((w) => w.mdc === mdc).sort((a, b) => a.t0 - b.t0);
    const got = tl!.waves.filter((w) => w.mdc === mdc);
    t.equal(got.length, 1, `${mdc}: one stored channel`);
    t.equal(got[0]?.rateHz, 50, `${mdc}: 50 Hz`);
    const blocks = [...(got[0]?.blocks ?? [])].sort((a, b) => a.t0 - b.t0);
    const gotSamples = blocks.flatMap((b) => b.samples);
    const wantSamples = want.flatMap((w) => w.samples);
    t.ok(wantSamples.length >= 100, `${mdc}: ${wantSamples.length} samples produced (≥ 2 s of stream)`);
    t.same(gotSamples.slice(0, wantSamples.length), wantSamples, `${mdc}: every produced sample stored, in order, same value`);
    t.ok(
      Math.abs((blocks[0]?.t0 ?? 0) - (want[0]?.t0 ?? 0)) <= 300,
      `${mdc}: first sample within 300 ms of the device time (${(blocks[0]?.t0 ?? 0) - (want[0]?.t0 ?? 0)} ms)`,
    );
    const gaps = blocks.slice(1).filter((b, i) => b.t0 !== blocks[i]!.t0 + blocks[i]!.samples.length * 20).length;
    t.equal(gaps, 0, `${mdc}: blocks contiguous on the 20 ms sample clock`);
  }
});
