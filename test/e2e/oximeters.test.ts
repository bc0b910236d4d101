/**
 * End to end on real components, two oximeters behind ONE gateway, each on its own pty (socat):
 * a simulated Masimo Radical-7 (ASCII 1 lines, garbage + sensor-off faults) and a simulated Nonin
 * Onyx II that starts in data format #2 and is switched to #7 by the gateway's select-format
 * command → gateway (serialport, file outbox, MQTT QoS 1) → embedded aedes → ingest → Debian's
 * InfluxDB → GET /cases/:id/timeline.
 * Masimo lines carry the device clock: every value must be stored at exactly its time. Nonin sends
 * no clock: the gateway's 75 Hz frame clock is anchored on the receive time, so Nonin values must
 * be stored in order with one constant offset (< 250 ms, ±1 ms rounding) from the simulator's own
 * clock, every value and pleth sample exact.
 */
import t from 'tap';
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


t.test('Masimo + Nonin on two ptys → one gateway → aedes → ingest → InfluxDB → case timeline', async (t) => {
  const rig = await startIngestRig(t, 'oxi');
  const { dir, logger, ingest, api } = rig;
  const password = await rig.registerBed({ room: 'OR5', bed: 'or5-bed', gatewayId: 'gw-or5' });
  await api('POST', '/devices', { id: 'or5-masimo', gatewayId: 'gw-or5', bedId: 'or5-bed', vendor: 'Masimo', model: 'Radical-7 (simulated)', profile: 'auto', transport: 'serial (pty)' });
  await api('POST', '/devices', { id: 'or5-nonin', gatewayId: 'gw-or5', bedId: 'or5-bed', vendor: 'Nonin', model: 'Onyx II 9560 (simulated)', profile: 'nonin/onyx-ii-9560/format7', transport: 'serial (pty)' });

  const truth = { masimo: [] as OxiProduced[], nonin: [] as OxiProduced[] };
  let recording = true;
  const masimo = new MasimoSimulator({ model: 'radical7', seed: 21, faults: { garbageEveryLines: 3, sensorOff: { everyMs: 4000, durationMs: 1000 } }, onProduced: (r) => { if (recording) truth.masimo.push(r); } });
  const nonin = new NoninSimulator({ format: 2, seed: 22, faults: { garbageEveryPackets: 4 } });
  nonin.on('produced', (r: OxiProduced) => { if (recording && nonin.format === 7) truth.nonin.push(r); });
  const ptyM = await openPtyPair();
  t.teardown(() => ptyM.close());
  const ptyN = await openPtyPair();
  t.teardown(() => ptyN.close());
  masimo.start();
  nonin.start();
  t.teardown(() => masimo.close());
  t.teardown(() => nonin.close());
  const servM = serveSerial(ptyM.devicePath, masimo, logger);
  const servN = serveSerial(ptyN.devicePath, nonin, logger);
  t.teardown(() => servM.stop());
  t.teardown(() => servN.stop());
  await Promise.all([servM.opened, servN.opened]);

  const gateway = await startGateway(buildConfig({
    gatewayId: 'gw-or5', site: 'main', room: 'OR5', bed: 'or5-bed',
    mqtt: { url: ingest.mqttUrl, username: 'gw-or5', publishIntervalMs: 250 },
    outbox: { kind: 'file', dir: join(dir, 'outbox') },
    devices: [
      { id: 'or5-masimo', protocol: 'masimo', profile: 'auto', transport: { kind: 'serial', path: ptyM.hostPath } },
      { id: 'or5-nonin', protocol: 'nonin', profile: 'nonin/onyx-ii-9560/format7', transport: { kind: 'serial', path: ptyN.hostPath } },
    ],
    log: { level: 'warn' },
  }, { ORLINK_MQTT_PASSWORD: password }), { logger });
  t.teardown(() => gateway.close());
  const started = Date.now();
  await until('Nonin switched to format #7 by the gateway', () => nonin.format === 7, 10_000);
  await new Promise((r) => setTimeout(r, RUN_MS));
  recording = false;
  await masimo.close();
  await nonin.close();

  const mNum = truth.masimo.filter((r): r is OxiProducedNumeric => r.kind === 'numeric');
  const nNum = truth.nonin.filter((r): r is OxiProducedNumeric => r.kind === 'numeric');
  const nWave = truth.nonin.filter((r): r is OxiProducedWave => r.kind === 'wave');
  t.ok(mNum.length >= 3 * 10, `Masimo produced ${mNum.length} values`);
  t.ok(nNum.length >= 6 * 10, `Nonin produced ${nNum.length} values after the switch`);

  const kase = await api<{ id: string }>('POST', '/cases', { bed: 'or5-bed', start: started - 60_000 });
  const url = `/cases/${kase.id}/timeline?from=${started - 60_000}&to=${Date.now() + 5_000}`;
  const k = (dev: string, mdc: string | null, vc: string, ts: number): string => `${dev}|${mdc}|${vc}|${ts}`;
  let tl!: Timeline;
  let stored = new Map<string, number | null>();
  const lastN = Math.max(...nNum.map((n) => n.t));
  await until('every produced value queryable', async () => {
    tl = await api<Timeline>('GET', url);
    stored = new Map();
    for (const n of tl.numerics) for (const [ts, v] of n.points) stored.set(k(n.device, n.mdc, n.vendorCode, ts), v);
    const nonin = tl.numerics.filter((n) => n.device === 'or5-nonin').flatMap((n) => n.points.filter((p) => p[1] !== null)).length;
    const lastW = Math.max(...nWave.map((w) => w.t0));
    const wavesIn = tl.waves.some((w) => w.device === 'or5-nonin' && w.blocks.some((b) => b.t0 >= lastW - 250));
    return wavesIn && mNum.every((p) => stored.has(k('or5-masimo', p.mdc, p.vendorCode, p.t))) && nonin >= nNum.length && tl.numerics.some((n) => n.device === 'or5-nonin' && n.points.some((p) => p[0] >= lastN - 250));
  });

  // Masimo: exact values at exact device times, nothing invented, sensor-off alarms stored.
  const wrongM = mNum.filter((p) => stored.get(k('or5-masimo', p.mdc, p.vendorCode, p.t)) !== p.value).map((p) => `${p.vendorCode}@${p.t}: ${p.value} vs ${stored.get(k('or5-masimo', p.mdc, p.vendorCode, p.t))}`);
  t.same(wrongM.slice(0, 5), [], 'Masimo: every value stored exactly at its device time');
  const tMin = Math.min(...mNum.map((p) => p.t));
  const tMax = Math.max(...mNum.map((p) => p.t));
  const wantM = new Set(mNum.map((p) => k('or5-masimo', p.mdc, p.vendorCode, p.t)));
  const inventedM = [...stored].filter(([key, v]) => key.startsWith('or5-masimo|') && v !== null && !wantM.has(key)).filter(([key]) => { const ts = Number(key.split('|')[3]); return ts >= tMin && ts <= tMax; });
  t.same(inventedM.slice(0, 5), [], 'Masimo: nothing invented');
  const sensorOffNulls = [...stored].filter(([key, v]) => key.startsWith('or5-masimo|MDC_PULS_OXIM_SAT_O2|') && v === null);
  t.ok(sensorOffNulls.length >= 1, `sensor-off seconds stored as absent (${sensorOffNulls.length})`);
  const mAlarms = truth.masimo.filter((r) => r.kind === 'alarm').map((a) => `${a.vendorCode} ${a.phase} ${a.t}`);
  const gotAlarms = new Set(tl.alarms.filter((a) => a.device === 'or5-masimo').map((a) => `${a.vendorCode} ${a.phase} ${a.t}`));
  t.ok(mAlarms.length >= 2, `Masimo sensor-off alarms produced (${mAlarms.length})`);
  t.same(mAlarms.filter((a) => !gotAlarms.has(a)), [], 'Masimo: every sensor-off alarm start/end stored at its time');

  // Nonin: per vendor code, the produced values in order, at one constant offset from the device clock.
  const offsets: number[] = [];
  const wrongN: string[] = [];
  const byCode = new Map<string, OxiProducedNumeric[]>();
  for (const p of nNum) byCode.set(p.vendorCode, [...(byCode.get(p.vendorCode) ?? []), p]);
  t.equal(byCode.size, 10, 'ten Nonin parameters');
  for (const [code, want] of byCode) {
    const series = tl.numerics.find((n) => n.device === 'or5-nonin' && n.vendorCode === code);
    const pts = (series?.points ?? []).filter((p) => p[1] !== null);
    // the stored point nearest to the first produced one anchors the comparison
    const first = pts.findIndex((p) => Math.abs(p[0] - want[0].t) < 250);
    if (first < 0) { wrongN.push(`${code}: first value not found`); continue; }
    want.forEach((w, i) => {
      const p = pts[first + i];
      if (!p || p[1] !== w.value) wrongN.push(`${code}#${i}: ${w.value} vs ${p?.[1]}`);
      else offsets.push(p[0] - w.t);
    });
  }
  t.same(wrongN.slice(0, 5), [], 'Nonin: every value stored, in order');
  const off = offsets.sort((a, b) => a - b);
  t.ok(off.length > 0 && off[off.length - 1] - off[0] <= 2, `Nonin: one constant offset (${off[0]}..${off[off.length - 1]} ms)`);
  t.ok(off.length > 0 && Math.abs(off[0]) < 250, 'Nonin: frame clock within 250 ms of the device');
  const pleth = tl.waves.filter((w) => w.device === 'or5-nonin');
  t.equal(pleth.length, 1, 'one pleth channel');
  t.equal(pleth[0]?.rateHz, 75);
  const blocks = pleth[0]?.blocks ?? [];
  const lo = off[0] - 1;
  const hi = off[off.length - 1] + 1;
  const missingBlocks = nWave.filter((w) => !blocks.some((b) => b.t0 - w.t0 >= lo && b.t0 - w.t0 <= hi && JSON.stringify(b.samples) === JSON.stringify(w.samples)));
  t.same(missingBlocks.map((w) => w.t0), [], `Nonin: all ${nWave.length} pleth blocks stored with their samples at the same offset`, { stored: blocks.map((b) => b.t0) });
  t.ok(tl.numerics.every((n) => n.device === 'or5-masimo' || n.device === 'or5-nonin'), 'tagged with their own device');
  const devs = new Map(gateway.status().devices.map((d) => [d.id, d]));
  t.ok((devs.get('or5-masimo')?.errorsByKind.garbage ?? 0) >= 2, 'Masimo garbage lines counted by the gateway');
  t.equal(devs.get('or5-masimo')?.model, 'Radical-7', 'Masimo model recognised from the line');
  t.ok((devs.get('or5-nonin')?.bytesTx ?? 0) >= 6, 'select-format command sent to the Nonin');
  t.equal(devs.get('or5-nonin')?.profile, 'nonin/onyx-ii-9560/format7');
});
