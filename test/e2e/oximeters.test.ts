/**
 * End to end on real components, three oximeters behind ONE gateway, each on its own pty (socat):
 * a simulated Masimo Radical-7 (ASCII 1 lines, garbage + sensor-off faults), a simulated Nonin
 * Onyx II that starts in data format #2 and is switched to #7 by the gateway's select-format
 * command (profile named), and a second Onyx II already in #7 with profile `auto` (the format is
 * found in the stream, no command sent) → gateway (serialport, file outbox, MQTT QoS 1) → embedded
 * aedes → ingest → Debian's InfluxDB → GET /cases/:id/timeline. Both Nonins get the same checks.
 * Masimo lines carry the device clock: every value must be stored at exactly its time. Nonin sends
 * no clock: the gateway's 75 Hz frame clock is anchored on the receive time, so Nonin values must
 * be stored in order with one constant offset (< 250 ms, ±1 ms rounding) from the simulator's own
 * clock, every value and pleth sample exact.
 */
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { startIngestRig, until } from '../helpers/ingest-rig.js';
import { buildConfig } from '../../gateway/src/config.js';
import { startGateway } from '../../gateway/src/main.js';
import { openPtyPair } from '../../simulators/src/link/pty.js';
import { serveSerial } from '../../simulators/src/serve-serial.js';
import { MasimoSimulator } from '../../simulators/src/masimo/simulator.js';
import { NoninSimulator } from '../../simulators/src/nonin/simulator.js';
import type { OxiProduced, OxiProducedNumeric, OxiProducedWave } from '../../simulators/src/masimo/truth.js';

interface Timeline {
  numerics: { mdc: string | null; vendorCode: string; device: string; points: [number, number | null][] }[];
  waves: { mdc: string | null; vendorCode: string; device: string; rateHz: number; blocks: { t0: number; samples: (number | null)[] }[] }[];
  alarms: { vendorCode?: string; phase: string; t: number; device?: string; text: string }[];
}

const RUN_MS = 7_000;
const NONINS = ['or5-nonin', 'or5-nonin-auto'] as const;
type NoninId = (typeof NONINS)[number];

/** Every produced Nonin value and pleth block of `dev` is in the timeline (`stored` by device|mdc|vendorCode|t). */
function noninStored(tl: Timeline, dev: NoninId, nNum: OxiProducedNumeric[], nWave: OxiProducedWave[]): boolean {
  const values = tl.numerics.filter((n) => n.device === dev).flatMap((n) => n.points.filter((p) => p[1] !== null)).length;
  const lastN = Math.max(...nNum.map((n) => n.t));
  const lastW = Math.max(...nWave.map((w) => w.t0));
  const wavesIn = tl.waves.some((w) => w.device === dev && w.blocks.some((b) => b.t0 >= lastW - 250));
  return wavesIn && values >= nNum.length && tl.numerics.some((n) => n.device === dev && n.points.some((p) => p[0] >= lastN - 250));
}

/** Nonin: per vendor code, the produced values in order, at one constant offset from the device clock; pleth likewise. */
function checkNonin(t: Test, tl: Timeline, dev: NoninId, nNum: OxiProducedNumeric[], nWave: OxiProducedWave[]): void {
  const offsets: number[] = [];
  const wrongN: string[] = [];
  const byCode = new Map<string, OxiProducedNumeric[]>();
  for (const p of nNum) byCode.set(p.vendorCode, [...(byCode.get(p.vendorCode) ?? []), p]);
  t.equal(byCode.size, 10, `${dev}: ten Nonin parameters`);
  for (const [code, want] of byCode) {
    const series = tl.numerics.find((n) => n.device === dev && n.vendorCode === code);
    const pts = (series?.points ?? []).filter((p) => p[1] !== null);
    // the stored point nearest to the first produced one anchors the comparison
    const first = pts.findIndex((p) => Math.abs(p[0] - want[0].t) < 250);
    if (first < 0) {
      wrongN.push(`${code}: first value not found`);
      continue;
    }
    want.forEach((w, i) => {
      const p = pts[first + i];
      if (!p || p[1] !== w.value) wrongN.push(`${code}#${i}: ${w.value} vs ${p?.[1]}`);
      else offsets.push(p[0] - w.t);
    });
  }
  t.same(wrongN.slice(0, 5), [], `${dev}: every value stored, in order`);
  const off = offsets.sort((a, b) => a - b);
  t.ok(off.length > 0 && off[off.length - 1] - off[0] <= 2, `${dev}: one constant offset (${off[0]}..${off[off.length - 1]} ms)`);
  t.ok(off.length > 0 && Math.abs(off[0]) < 250, `${dev}: frame clock within 250 ms of the device`);
  const pleth = tl.waves.filter((w) => w.device === dev);
  t.equal(pleth.length, 1, `${dev}: one pleth channel`);
  t.equal(pleth[0]?.rateHz, 75);
  const blocks = pleth[0]?.blocks ?? [];
  const lo = off[0] - 1;
  const hi = off[off.length - 1] + 1;
  const missingBlocks = nWave.filter(
    (w) => !blocks.some((b) => b.t0 - w.t0 >= lo && b.t0 - w.t0 <= hi && JSON.stringify(b.samples) === JSON.stringify(w.samples)),
  );
  t.same(
    missingBlocks.map((w) => w.t0),
    [],
    `${dev}: all ${nWave.length} pleth blocks stored with their samples at the same offset`,
    { stored: blocks.map((b) => b.t0) },
  );
}

t.test('Masimo + Nonin (profile named) + Nonin (auto) on three ptys → one gateway → aedes → ingest → InfluxDB → case timeline', async (t) => {
  const rig = await startIngestRig(t, 'oxi');
  const { dir, logger, ingest, api } = rig;
  const password = await rig.registerBed({ room: 'OR5', bed: 'or5-bed', gatewayId: 'gw-or5' });
  await api('POST', '/devices', {
    id: 'or5-masimo',
    gatewayId: 'gw-or5',
    bedId: 'or5-bed',
    vendor: 'Masimo',
    model: 'Radical-7 (simulated)',
    profile: 'auto',
    transport: 'serial (pty)',
  });
  await api('POST', '/devices', {
    id: 'or5-nonin',
    gatewayId: 'gw-or5',
    bedId: 'or5-bed',
    vendor: 'Nonin',
    model: 'Onyx II 9560 (simulated)',
    profile: 'nonin/onyx-ii-9560/format7',
    transport: 'serial (pty)',
  });
  await api('POST', '/devices', {
    id: 'or5-nonin-auto',
    gatewayId: 'gw-or5',
    bedId: 'or5-bed',
    vendor: 'Nonin',
    model: 'Onyx II 9560 (simulated)',
    profile: 'auto',
    transport: 'serial (pty)',
  });

  const truth = { masimo: [] as OxiProduced[], nonin: [] as OxiProduced[], noninAuto: [] as OxiProduced[] };
  let recording = true;
  let recordingAuto = false;
  const masimo = new MasimoSimulator({
    model: 'radical7',
    seed: 21,
    faults: { garbageEveryLines: 3, sensorOff: { everyMs: 4000, durationMs: 1000 } },
    onProduced: (r) => {
      if (recording) truth.masimo.push(r);
    },
  });
  const nonin = new NoninSimulator({ format: 2, seed: 22, faults: { garbageEveryPackets: 4 } });
  nonin.on('produced', (r: OxiProduced) => {
    if (recording && nonin.format === 7) truth.nonin.push(r);
  });
  // profile auto: already in #7, recorded from the moment the gateway has found the format
  const noninAuto = new NoninSimulator({ format: 7, seed: 23, faults: { garbageEveryPackets: 4 } });
  noninAuto.on('produced', (r: OxiProduced) => {
    if (recording && recordingAuto) truth.noninAuto.push(r);
  });
  const ptyM = await openPtyPair();
  t.teardown(() => ptyM.close());
  const ptyN = await openPtyPair();
  t.teardown(() => ptyN.close());
  const ptyA = await openPtyPair();
  t.teardown(() => ptyA.close());
  masimo.start();
  nonin.start();
  noninAuto.start();
  t.teardown(() => masimo.close());
  t.teardown(() => nonin.close());
  t.teardown(() => noninAuto.close());
  const servM = serveSerial(ptyM.devicePath, masimo, logger);
  const servN = serveSerial(ptyN.devicePath, nonin, logger);
  const servA = serveSerial(ptyA.devicePath, noninAuto, logger);
  t.teardown(() => servM.stop());
  t.teardown(() => servN.stop());
  t.teardown(() => servA.stop());
  await Promise.all([servM.opened, servN.opened, servA.opened]);

  const gateway = await startGateway(
    buildConfig(
      {
        gatewayId: 'gw-or5',
        site: 'main',
        room: 'OR5',
        bed: 'or5-bed',
        mqtt: { url: ingest.mqttUrl, username: 'gw-or5', publishIntervalMs: 250 },
        outbox: { kind: 'file', dir: join(dir, 'outbox') },
        devices: [
          { id: 'or5-masimo', protocol: 'masimo', profile: 'auto', transport: { kind: 'serial', path: ptyM.hostPath } },
          { id: 'or5-nonin', protocol: 'nonin', profile: 'nonin/onyx-ii-9560/format7', transport: { kind: 'serial', path: ptyN.hostPath } },
          { id: 'or5-nonin-auto', protocol: 'nonin', profile: 'auto', transport: { kind: 'serial', path: ptyA.hostPath } },
        ],
        log: { level: 'warn' },
      },
      { ORLINK_MQTT_PASSWORD: password },
    ),
    { logger },
  );
  t.teardown(() => gateway.close());
  const started = Date.now();
  const statusOf = (id: string) => gateway.status().devices.find((d) => d.id === id);
  await until('Nonin switched to format #7 by the gateway', () => nonin.format === 7, 10_000);
  await until('Nonin auto: format #7 found in the stream', () => statusOf('or5-nonin-auto')?.profile !== undefined, 10_000);
  recordingAuto = true;
  await new Promise((r) => setTimeout(r, RUN_MS));
  recording = false;
  await masimo.close();
  await nonin.close();
  await noninAuto.close();

  const mNum = truth.masimo.filter((r): r is OxiProducedNumeric => r.kind === 'numeric');
  const nNum = truth.nonin.filter((r): r is OxiProducedNumeric => r.kind === 'numeric');
  const nWave = truth.nonin.filter((r): r is OxiProducedWave => r.kind === 'wave');
  const aNum = truth.noninAuto.filter((r): r is OxiProducedNumeric => r.kind === 'numeric');
  const aWave = truth.noninAuto.filter((r): r is OxiProducedWave => r.kind === 'wave');
  t.ok(mNum.length >= 3 * 10, `Masimo produced ${mNum.length} values`);
  t.ok(nNum.length >= 6 * 10, `Nonin produced ${nNum.length} values after the switch`);
  t.ok(aNum.length >= 6 * 10, `Nonin (auto) produced ${aNum.length} values after the format was found`);

  const kase = await api<{ id: string }>('POST', '/cases', { bed: 'or5-bed', start: started - 60_000 });
  const url = `/cases/${kase.id}/timeline?from=${started - 60_000}&to=${Date.now() + 5_000}`;
  const k = (dev: string, mdc: string | null, vc: string, ts: number): string => `${dev}|${mdc}|${vc}|${ts}`;
  let tl!: Timeline;
  let stored = new Map<string, number | null>();
  await until('every produced value queryable', async () => {
    tl = await api<Timeline>('GET', url);
    stored = new Map();
    for (const n of tl.numerics) for (const [ts, v] of n.points) stored.set(k(n.device, n.mdc, n.vendorCode, ts), v);
    return (
      mNum.every((p) => stored.has(k('or5-masimo', p.mdc, p.vendorCode, p.t))) &&
      noninStored(tl, 'or5-nonin', nNum, nWave) &&
      noninStored(tl, 'or5-nonin-auto', aNum, aWave)
    );
  });

  // Masimo: exact values at exact device times, nothing invented, sensor-off alarms stored.
  const wrongM = mNum
    .filter((p) => stored.get(k('or5-masimo', p.mdc, p.vendorCode, p.t)) !== p.value)
    .map((p) => `${p.vendorCode}@${p.t}: ${p.value} vs ${stored.get(k('or5-masimo', p.mdc, p.vendorCode, p.t))}`);
  t.same(wrongM.slice(0, 5), [], 'Masimo: every value stored exactly at its device time');
  const tMin = Math.min(...mNum.map((p) => p.t));
  const tMax = Math.max(...mNum.map((p) => p.t));
  const wantM = new Set(mNum.map((p) => k('or5-masimo', p.mdc, p.vendorCode, p.t)));
  const inventedM = [...stored]
    .filter(([key, v]) => key.startsWith('or5-masimo|') && v !== null && !wantM.has(key))
    .filter(([key]) => {
      const ts = Number(key.split('|')[3]);
      return ts >= tMin && ts <= tMax;
    });
  t.same(inventedM.slice(0, 5), [], 'Masimo: nothing invented');
  const sensorOffNulls = [...stored].filter(([key, v]) => key.startsWith('or5-masimo|MDC_PULS_OXIM_SAT_O2|') && v === null);
  t.ok(sensorOffNulls.length >= 1, `sensor-off seconds stored as absent (${sensorOffNulls.length})`);
  const mAlarms = truth.masimo.filter((r) => r.kind === 'alarm').map((a) => `${a.vendorCode} ${a.phase} ${a.t}`);
  const gotAlarms = new Set(tl.alarms.filter((a) => a.device === 'or5-masimo').map((a) => `${a.vendorCode} ${a.phase} ${a.t}`));
  t.ok(mAlarms.length >= 2, `Masimo sensor-off alarms produced (${mAlarms.length})`);
  t.same(
    mAlarms.filter((a) => !gotAlarms.has(a)),
    [],
    'Masimo: every sensor-off alarm start/end stored at its time',
  );

  // Nonin, profile named and profile auto: the same checks.
  checkNonin(t, tl, 'or5-nonin', nNum, nWave);
  checkNonin(t, tl, 'or5-nonin-auto', aNum, aWave);
  t.ok(
    tl.numerics.every((n) => n.device === 'or5-masimo' || (NONINS as readonly string[]).includes(n.device)),
    'tagged with their own device',
  );
  const devs = new Map(gateway.status().devices.map((d) => [d.id, d]));
  t.ok((devs.get('or5-masimo')?.errorsByKind.garbage ?? 0) >= 2, 'Masimo garbage lines counted by the gateway');
  t.equal(devs.get('or5-masimo')?.model, 'Radical-7', 'Masimo model recognised from the line');
  t.ok((devs.get('or5-nonin')?.bytesTx ?? 0) >= 6, 'select-format command sent to the Nonin');
  t.equal(devs.get('or5-nonin')?.profile, 'nonin/onyx-ii-9560/format7');
  t.equal(devs.get('or5-nonin-auto')?.profile, 'nonin/onyx-ii-9560/format7', 'Nonin auto: the #7 profile, from the stream');
  t.same([devs.get('or5-nonin-auto')?.vendor, devs.get('or5-nonin-auto')?.model], ['Nonin', undefined], 'Nonin auto: vendor, no model (a format names none)');
  t.equal(devs.get('or5-nonin-auto')?.bytesTx ?? 0, 0, 'Nonin auto: no command sent');
  t.equal(noninAuto.format, 7, 'Nonin auto: the device stayed in #7');
});
