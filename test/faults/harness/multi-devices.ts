/**
 * Every protocol on one bed: the devices a bed's gateway reads beside its GE monitor in
 * test/faults/every-protocol.test.ts (RigOptions.extraDevices), each with its truth
 * (harness/multi-truth.ts) and its link fault. Serial devices sit behind a SerialCable
 * (harness/multi-cable.ts); the HL7 monitor dials the gateway's MLLP port through a TcpFaultProxy.
 * The end of a device (stop()): its truth window closes, the simulator runs TAIL_MS longer (what
 * it sends then is excluded: a MEDIBUS link must carry a few more 7-bit frames for the gateway to
 * close the wave blocks holding the last truth samples), then it closes.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../../ingest/src/series/influxd-launcher.js';
import { openPtyPair } from '../../../simulators/src/index.js';
import { IntelliVueMonitor } from '../../../simulators/src/philips-intellivue/monitor.js';
import { SerialMonitorLink } from '../../../simulators/src/philips-intellivue/links.js';
import { MedibusSimulator } from '../../../simulators/src/draeger-medibus/simulator.js';
import { MasimoSimulator } from '../../../simulators/src/masimo/simulator.js';
import { NoninSimulator } from '../../../simulators/src/nonin/simulator.js';
import { Hl7Monitor } from '../../../simulators/src/hl7-mllp/simulator.js';
import { VENDORS } from '../../../simulators/src/hl7-mllp/vendors.js';
import { CP1_ITEMS } from '../../../simulators/src/draeger-medibus/device-table.js';
import type { Bed, ExtraDevice, FaultRig } from './rig.js';
import { DeviceTruth, type AuditedDevice, type DeviceAuditMode, type MultiDevice, type TruthReading } from './multi-truth.js';
import { SerialCable } from './multi-cable.js';
import { TcpFaultProxy } from './proxies.js';
import { pollUntil, runFor } from './processes.js';

export {
  DeviceTruth,
  readingsOf,
  type AuditedDevice,
  type DeviceAuditMode,
  type LinkFaultOptions,
  type LinkFaultResult,
  type MultiDevice,
  type TruthReading,
} from './multi-truth.js';

export interface DeviceContext {
  bed: Bed;
  rig: FaultRig;
  seed: number;
  watchdogMs: number;
}

const TAIL_MS = 1500;

/** `p`, or undefined after `ms` (the timer is cleared either way: nothing keeps the process alive). */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Readings flow again: one produced (on a live link) since `since`. */
async function recovery(truth: DeviceTruth, since: number, timeoutMs: number): Promise<boolean> {
  return !!(await pollUntil(() => truth.since(since) > 0, { timeoutMs, intervalMs: 50 }));
}

/** The bed's own GE monitor (rig.ts), pulled as test/faults/serial-unplug.test.ts does it. */
export function geMonitor(bed: Bed): AuditedDevice {
  const truth = new DeviceTruth(bed.produced as (TruthReading & { at: number })[]);
  let pulls = 0;
  const faultsAt: number[] = [];
  return {
    id: bed.deviceId,
    name: 'GE S/5 (DRI)',
    protocol: 'ge-dri',
    truth,
    audit: { mode: 'exact' },
    faultsAt,
    async linkFault(o) {
      pulls++;
      faultsAt.push(Date.now());
      bed.sim.silence(600_000); // the GE simulator reports nothing while silent: no truth for the cut
      await runFor(o.drainMs);
      await bed.pty.close();
      await runFor(o.outMs);
      bed.pty = await openPtyPair({ dir: bed.ptyDir }); // the rig's teardown closes bed.pty
      const asked = (await within(new Promise<boolean>((r) => bed.sim.once('request', () => r(true))), o.recoverTimeoutMs)) === true;
      bed.sim.silence(0); // the gateway has the port again and asks: the monitor answers
      const rec = await recovery(truth, Date.now(), o.recoverTimeoutMs);
      return { recovered: asked && rec, recoverMs: Date.now() - faultsAt[faultsAt.length - 1], note: asked ? 'requests again' : 'no request after the replug' };
    },
    notes: () => `cable pulled ×${pulls}; silenced records ${bed.sim.stats().dropped.silence ?? 0}`,
  };
}

interface SerialParts {
  ctx: DeviceContext;
  key: string;
  name: string;
  protocol: string;
  registry: ExtraDevice['registry'];
  device: Record<string, unknown>;
  audit: DeviceAuditMode;
  truth: DeviceTruth;
  cable: SerialCable;
  closeSim: () => Promise<void> | void;
}

function serialDevice(p: SerialParts): MultiDevice {
  const id = `${p.ctx.bed.room.toLowerCase()}-${p.key}`;
  let closed = false;
  const closeSim = async () => {
    if (!closed) {
      closed = true;
      await p.closeSim();
    }
  };
  const faultsAt: number[] = [];
  return {
    id,
    name: p.name,
    protocol: p.protocol,
    truth: p.truth,
    audit: p.audit,
    registry: p.registry,
    faultsAt,
    gatewayDevice: { id, protocol: p.protocol, transport: { kind: 'serial', path: p.cable.hostPath }, watchdogMs: p.ctx.watchdogMs, ...p.device },
    async stop() {
      p.truth.end();
      await runFor(TAIL_MS);
      await closeSim();
    },
    async close() {
      await closeSim();
      await p.cable.close();
    },
    async linkFault(o) {
      faultsAt.push(Date.now());
      await p.cable.pull(o.drainMs);
      await runFor(o.outMs);
      await p.cable.replug();
      const live =
        (await within(
          p.cable.whenLive().then(() => true),
          o.recoverTimeoutMs,
        )) === true;
      const rec = live && (await recovery(p.truth, p.cable.stats.liveAt, o.recoverTimeoutMs));
      return { recovered: rec, recoverMs: Date.now() - faultsAt[faultsAt.length - 1], note: live ? 'gateway took the line' : 'gateway never took the line' };
    },
    notes: () => `cable pulled ×${p.cable.stats.pulls}; undeliverable ${p.truth.undeliverable} (${p.cable.stats.droppedBytes} B dropped while out/not taken)`,
  };
}

function cableDir(ctx: DeviceContext, key: string): string {
  const dir = join(ctx.rig.dir, `pty-${ctx.bed.room.toLowerCase()}-${key}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Philips IntelliVue MP70 on its MIB/RS-232 port: association, extended polls of numerics and waves. */
export async function intelliVueSerial(ctx: DeviceContext): Promise<MultiDevice> {
  const monitor = new IntelliVueMonitor({ seed: ctx.seed, model: 'MP70', maxReplyBytes: 300 });
  const link = new SerialMonitorLink(monitor);
  const truth = new DeviceTruth();
  const cable = new SerialCable({ dir: cableDir(ctx, 'mp70'), device: link, liveWhen: 'host-speaks' });
  monitor.on('produced', (r: { kind: string }) => truth.add(r, cable.live));
  await cable.plug();
  return serialDevice({
    ctx,
    key: 'mp70',
    name: 'Philips IntelliVue MP70 (serial)',
    protocol: 'philips-intellivue',
    truth,
    cable,
    registry: { vendor: 'Philips', model: 'IntelliVue MP70 (simulated)', profile: 'auto', transport: 'serial (pty)' },
    device: { profile: 'auto', options: { waves: ['0x0102', '0x50AC'], alerts: false } },
    audit: { mode: 'exact', waveKey: 'vendor' },
    closeSim: () => monitor.close(),
  });
}

/**
 * CP1 items the simulated Atlan sends but reports no truth for (no MDC code of its own: 0x83 VTe,
 * sent on purpose to arrive 'unmapped'), each paired with the mapped item that prints the same vital
 * with the same decimals and conversion, so the same characters go on the wire in the same answer.
 */
const CP1_TWINS: { twin: string; of: string }[] = CP1_ITEMS.filter((u) => u.mdc === null).flatMap((u) => {
  const m = CP1_ITEMS.find((x) => x.mdc !== null && x.key === u.key && x.decimals === u.decimals && x.convert === u.convert);
  const code = (c: number) => `cp1.${c.toString(16).toUpperCase().padStart(2, '0')}`;
  return m ? [{ twin: code(u.code), of: code(m.code) }] : [];
});

/**
 * Dräger Atlan (MEDIBUS): ICC, device id, CP1 polls, realtime curves. Frames carry no time: audited
 * host-stamped. Wave truth per sample (waveBlockSamples 1): the simulator's 25-sample truth blocks
 * would leave up to 24 samples per curve on the wire without truth whenever a link ends. Truth of
 * the unmapped CP1 item 0x83 is derived from its twin (CP1_TWINS): the simulator emits none for it.
 */
export async function medibus(ctx: DeviceContext, toleranceMs: number): Promise<MultiDevice> {
  const truth = new DeviceTruth();
  let cable!: SerialCable;
  const onProduced = (r: { kind: string; vendorCode?: string }): void => {
    truth.add(r, cable.live);
    for (const x of CP1_TWINS) {
      const twin = { ...r, vendorCode: x.twin, mdc: null };
      if (r.kind === 'numeric' && r.vendorCode === x.of) truth.add(twin, cable.live);
    }
  };
  const sim = new MedibusSimulator({ seed: ctx.seed, waveBlockSamples: 1, onProduced });
  cable = new SerialCable({ dir: cableDir(ctx, 'atlan'), device: sim, liveWhen: 'host-speaks' });
  sim.start();
  await cable.plug();
  return serialDevice({
    ctx,
    key: 'atlan',
    name: 'Dräger Atlan (MEDIBUS)',
    protocol: 'draeger-medibus',
    truth,
    cable,
    registry: { vendor: 'Draeger', model: 'Atlan (simulated)', profile: 'auto', transport: 'serial (pty)' },
    device: { profile: 'auto', options: { waves: ['00', '01', '06'] } },
    audit: { mode: 'host-stamped', toleranceMs },
    closeSim: () => sim.close(),
  });
}

/** Masimo Radical-7, ASCII 1: a line per second with the device clock; output only. */
export async function masimo(ctx: DeviceContext): Promise<MultiDevice> {
  const truth = new DeviceTruth();
  let cable!: SerialCable;
  const sim = new MasimoSimulator({ model: 'radical7', seed: ctx.seed, onProduced: (r) => truth.add(r, cable.live) });
  cable = new SerialCable({ dir: cableDir(ctx, 'masimo'), device: sim, liveWhen: 'host-opens', hostPid: () => ctx.bed.child?.pid });
  sim.start();
  await cable.plug();
  return serialDevice({
    ctx,
    key: 'masimo',
    name: 'Masimo Radical-7',
    protocol: 'masimo',
    truth,
    cable,
    registry: { vendor: 'Masimo', model: 'Radical-7 (simulated)', profile: 'auto', transport: 'serial (pty)' },
    device: { profile: 'auto' },
    audit: { mode: 'exact' },
    closeSim: () => sim.close(),
  });
}

/**
 * Nonin Onyx II 9560, data format #7 (the gateway selects it): 75 Hz frames with pleth, no device
 * clock (the gateway's frame clock is anchored on receive): audited host-stamped.
 */
export async function nonin(ctx: DeviceContext, toleranceMs: number): Promise<MultiDevice> {
  const truth = new DeviceTruth();
  let cable!: SerialCable;
  const sim = new NoninSimulator({ format: 7, seed: ctx.seed, onProduced: (r) => truth.add(r, cable.live) });
  cable = new SerialCable({ dir: cableDir(ctx, 'nonin'), device: sim, liveWhen: 'host-speaks' });
  sim.start();
  await cable.plug();
  return serialDevice({
    ctx,
    key: 'nonin',
    name: 'Nonin Onyx II 9560',
    protocol: 'nonin',
    truth,
    cable,
    registry: { vendor: 'Nonin', model: 'Onyx II 9560 (simulated)', profile: 'nonin/onyx-ii-9560/format7', transport: 'serial (pty)' },
    device: { profile: 'nonin/onyx-ii-9560/format7' },
    audit: { mode: 'host-stamped', waveKey: 'vendor', toleranceMs },
    closeSim: () => sim.close(),
  });
}

/**
 * GE B40 as an HL7 v2 sender: ORU^R01 over MLLP every second to the gateway's `tcp-server` port,
 * through a TcpFaultProxy. A message's values count once the gateway ACKed it AA (ACKs come in
 * order on a connection); messages of a connection that ended before their ACK are excluded.
 */
export async function hl7Sender(ctx: DeviceContext): Promise<MultiDevice> {
  const id = `${ctx.bed.room.toLowerCase()}-b40`;
  const pv1 = `${ctx.bed.room}^^BED1`;
  const port = await freePort();
  const proxy = new TcpFaultProxy({ host: '127.0.0.1', port });
  await proxy.start();
  const mon = new Hl7Monitor({ style: VENDORS['ge-b40'], intervalMs: 1000, sentinelEvery: 5, bed: pv1, physiology: { seed: ctx.seed } });
  const truth = new DeviceTruth();
  const pending: { n: number; conn: number; readings: { kind: string }[] }[] = [];
  const stats = { acked: 0, unacked: 0, resets: 0 };
  const giveUp = (m: { readings: { kind: string }[] }) => {
    stats.unacked++;
    for (const r of m.readings) truth.exclude(r);
  };
  mon.on('produced', (r: { kind: string }) => {
    if (truth.ended) {
      truth.exclude(r);
      return;
    }
    const n = mon.stats.sent;
    let m = pending.at(-1);
    if (!m || m.n !== n) {
      m = { n, conn: mon.stats.connects, readings: [] };
      pending.push(m);
    }
    m.readings.push(r);
  });
  mon.on('ack', (a: { code: string }) => {
    while (pending.length && pending[0].conn !== mon.stats.connects) giveUp(pending.shift()!);
    const m = pending.shift();
    if (!m) return;
    if (a.code !== 'AA') {
      giveUp(m);
      return;
    }
    stats.acked++;
    for (const r of m.readings) truth.accept(r);
  });
  let closed = false;
  const closeSim = async () => {
    if (closed) return;
    closed = true;
    await mon.close();
    for (const m of pending.splice(0)) giveUp(m);
  };
  const acked = () => pending.length === 0;
  const faultsAt: number[] = [];
  return {
    id,
    name: 'GE B40 (HL7 v2 MLLP)',
    protocol: 'hl7-mllp',
    truth,
    audit: { mode: 'exact' },
    faultsAt,
    registry: { vendor: 'GE', model: 'B40 (simulated)', profile: 'auto', transport: 'tcp-server' },
    gatewayDevice: {
      id,
      protocol: 'hl7-mllp',
      profile: 'auto',
      transport: { kind: 'tcp-server', host: '127.0.0.1', port, allow: ['127.0.0.1'] },
      options: { acceptBeds: [pv1] },
    },
    async started() {
      await mon.connect('127.0.0.1', proxy.port);
    },
    async stop() {
      truth.end();
      await pollUntil(acked, { timeoutMs: 3000, intervalMs: 50 });
      await closeSim();
    },
    async close() {
      await closeSim();
      await proxy.close();
    },
    async linkFault(o) {
      // reset the connection between two messages, once the last one is acknowledged: nothing in flight
      await pollUntil(acked, { timeoutMs: 5000, intervalMs: 20 });
      stats.resets++;
      faultsAt.push(Date.now());
      proxy.cut();
      const before = stats.acked;
      const ok = await pollUntil(() => stats.acked > before, { timeoutMs: o.recoverTimeoutMs, intervalMs: 50 });
      return { recovered: !!ok, recoverMs: Date.now() - faultsAt[faultsAt.length - 1], note: `monitor connections ${mon.stats.connects}` };
    },
    notes: () => `MLLP connection reset ×${stats.resets}; messages ACKed AA ${stats.acked}, never ACKed (excluded) ${stats.unacked}`,
  };
}
