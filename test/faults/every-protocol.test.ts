/**
 * Every protocol behind ONE gateway (a child process, through the rig's TCP fault proxy), one bed:
 *   GE S/5 (DRI, pty)  ·  Philips IntelliVue MP70 (MIB/RS-232, pty)  ·  Dräger Atlan (MEDIBUS, pty)
 *   Masimo Radical-7 (ASCII 1, pty)  ·  Nonin Onyx II 9560 (format #7, pty)  ·  GE B40 (HL7 v2 over
 *   MLLP, the monitor dials the gateway's tcp-server port through a TcpFaultProxy)
 * With readings flowing the whole time, in sequence (LONG: longer, ×3):
 *   1. partition: the gateway ↔ broker proxy blackholes every byte, then heals with the half-open
 *      connections cut: the backlog of every device in the outbox drains;
 *   2. ingest SIGKILL, restarted (aedes: the broker dies with it; Mosquitto: ingest's persistent
 *      session holds what arrives meanwhile);
 *   3. every device's link fault at once: each serial cable pulled and plugged back
 *      (harness/multi-cable.ts; GE as in serial-unplug.test.ts), the MLLP connection reset between
 *      two acknowledged messages; every session must recover (IntelliVue re-association, MEDIBUS
 *      re-init, Nonin select-format, …) and its readings flow again.
 * Then the devices stop, the audit settles (numerics and wave samples), and each device is audited
 * on its own: produced > 0, nothing lost, duplicated, invented or mismatched. What each
 * simulator's truth holds, and what it leaves out: harness/multi-devices.ts.
 */
import t from 'tap';
import { appendFileSync } from 'node:fs';
import type { Test } from 'tap';
import { BROKERS, LONG, pollUntil, runFor, startRig } from './harness/index.js';
import { outboxBytes } from './harness/outbox-files.js';
import { geMonitor, hl7Sender, intelliVueSerial, masimo, medibus, nonin, readingsOf, type AuditedDevice, type MultiDevice } from './harness/multi-devices.js';
import { auditDevice, deviceClean, deviceLine, type DeviceAudit } from './harness/multi-audit.js';

const ROUNDS = LONG ? 3 : 1;
const PARTITION_MS = LONG ? 60_000 : 10_000;
const INGEST_DOWN_MS = LONG ? 10_000 : 3_000;
const CABLE_OUT_MS = LONG ? 20_000 : 3_000;
const UP_MS = LONG ? 10_000 : 3_000;
const DRAIN_MS = 500; // a pulled cable: bytes already written reach the gateway before the pty goes
const WATCHDOG_MS = 3_000;
const TOLERANCE_MS = 500; // host-stamped devices (MEDIBUS, Nonin): simulator time → gateway receive stamp
const SCENARIO = 'every protocol';

function assertDevice(t: Test, a: DeviceAudit, extra: string[]): void {
  const line = deviceLine(SCENARIO, a, extra);
  t.comment(line);
  if (process.env.ORLINK_FAULTS_REPORT) appendFileSync(process.env.ORLINK_FAULTS_REPORT, `${line}\n`);
  const n = a.device.name;
  const opts = { examples: a.examples };
  t.ok(a.numerics.produced > 0, `${n}: produced numerics (${a.numerics.produced})`);
  t.equal(a.numerics.lost, 0, `${n}: no numeric lost`, opts);
  t.equal(a.numerics.duplicated, 0, `${n}: no numeric duplicated`, opts);
  t.equal(a.numerics.invented, 0, `${n}: no numeric invented`, opts);
  t.equal(a.numerics.mismatched, 0, `${n}: no numeric value or time mismatch`, opts);
  if (a.waves.produced === 0 && a.waves.stored === 0) return;
  t.equal(a.waves.lost, 0, `${n}: no wave sample lost (of ${a.waves.produced})`, opts);
  t.equal(a.waves.duplicated, 0, `${n}: no wave sample duplicated`, opts);
  t.equal(a.waves.invented, 0, `${n}: no wave sample invented`, opts);
  t.equal(a.waves.mismatched, 0, `${n}: no wave sample value or position mismatch`, opts);
}

for (const broker of BROKERS) {
  t.test(`every protocol on one gateway: partition, ingest SIGKILL, every link pulled [${broker}]`, async (t) => {
    const began = Date.now();
    let extras: MultiDevice[] = [];
    const rig = await startRig(t, {
      name: 'every',
      broker,
      beds: 1,
      gatewayMode: 'process',
      brokerProxy: true,
      watchdogMs: WATCHDOG_MS,
      extraDevices: async (bed, rig) => {
        const ctx = (seed: number) => ({ bed, rig, seed, watchdogMs: WATCHDOG_MS });
        extras = [
          await intelliVueSerial(ctx(41)),
          await medibus(ctx(42), TOLERANCE_MS),
          await masimo(ctx(43)),
          await nonin(ctx(44), TOLERANCE_MS),
          await hl7Sender(ctx(45)),
        ];
        return extras;
      },
    });
    const b = rig.beds[0];
    const devices: AuditedDevice[] = [geMonitor(b), ...extras];
    const silent = () => devices.filter((d) => d.truth.produced.length === 0).map((d) => d.name);
    const streaming = await pollUntil(() => silent().length === 0, { timeoutMs: 45_000, intervalMs: 100 });
    t.ok(streaming, `every device streams (silent: ${silent().join(', ') || 'none'})`, { log: streaming ? undefined : b.child?.logTail() });
    if (!streaming) return;
    const status = () => rig.status(b);
    const queued = new Map<AuditedDevice, number[]>(devices.map((d) => [d, []])); // readings produced during each partition
    await runFor(UP_MS);

    for (let round = 1; round <= ROUNDS; round++) {
      // ---- 1. partition gateway ↔ broker, then heal (half-open connections cut)
      const connects = status()?.mqtt.connects ?? 0;
      const bytesBefore = outboxBytes(b.outboxDir);
      b.proxy!.mode = 'blackhole';
      const cutAt = Date.now();
      await runFor(PARTITION_MS);
      const bytesAtHeal = outboxBytes(b.outboxDir);
      b.proxy!.mode = 'pass';
      b.proxy!.cut();
      const healAt = Date.now();
      const during = devices.map((d) => d.truth.produced.filter((r) => r.at >= cutAt && r.at < healAt).reduce((k, r) => k + readingsOf(r), 0));
      devices.forEach((d, i) => t.ok(during[i] > 0, `round ${round}: ${d.name} produced during the partition (${during[i]} readings)`));
      t.ok(bytesAtHeal > bytesBefore, `round ${round}: the outbox grew during the partition (${bytesBefore} → ${bytesAtHeal} B)`);
      let backlog = 0;
      const drained = await pollUntil(
        () => {
          const s = status();
          if (!s || s.mqtt.connects <= connects) return false;
          backlog = Math.max(backlog, s.outbox.records);
          return s.outbox.records <= 2;
        },
        { timeoutMs: 60_000, intervalMs: 50 },
      );
      t.ok(
        drained,
        `round ${round}: reconnected after the heal and the backlog drained in ${Date.now() - healAt} ms (largest backlog seen in a status: ${backlog} records)`,
      );
      devices.forEach((d, i) => queued.get(d)!.push(during[i]));
      await runFor(UP_MS);

      // ---- 2. ingest SIGKILL, restarted
      const before = status()?.mqtt.connects ?? 0;
      const baseline = rig.mosquitto ? await rig.mosquittoStored() : 0; // steady state ($SYS retained too)
      await rig.ingest.kill('SIGKILL');
      await runFor(INGEST_DOWN_MS);
      if (rig.mosquitto) {
        const held = await rig.mosquittoStored();
        t.ok(
          held > baseline,
          `round ${round}: Mosquitto holds what arrives for the dead ingest's session (${held} messages stored, ${baseline} in steady state)`,
        );
      }
      await rig.startIngest();
      if (!rig.mosquitto) {
        const back = await pollUntil(() => (status()?.mqtt.connects ?? 0) > before, { timeoutMs: 45_000, intervalMs: 100 });
        t.ok(back, `round ${round}: the gateway reconnected to the restarted embedded broker`);
      }
      await runFor(UP_MS);

      // ---- 3. every link pulled at once and plugged back
      const results = await Promise.all(devices.map((d) => d.linkFault({ outMs: CABLE_OUT_MS, drainMs: DRAIN_MS, recoverTimeoutMs: 45_000 })));
      devices.forEach((d, i) => {
        const r = results[i];
        t.ok(r.recovered, `round ${round}: ${d.name} recovered, readings flow again ${r.recoverMs} ms after the pull (${r.note})`);
      });
      const links = () => (status()?.devices ?? []).map((x) => `${x.id}:${x.link}`);
      const allStreaming = await pollUntil(
        () => (status()?.devices ?? []).every((x) => x.link === 'streaming') && (status()?.devices.length ?? 0) === devices.length,
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      t.ok(allStreaming, `round ${round}: the gateway shows every device streaming (${links().join(' ')})`);
      await runFor(UP_MS);
    }

    const reconnects = new Map((status()?.devices ?? []).map((x) => [x.id, x.reconnects])); // before the stop (then watchdogs trip)
    await rig.stopDevices();
    let audits: DeviceAudit[] = [];
    await pollUntil(
      async () => {
        audits = [];
        for (const d of devices) audits.push(await auditDevice(rig.influxUrl, rig.database, rig.broker, d));
        return audits.every(deviceClean);
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    for (const a of audits) {
      const q = queued.get(a.device)!;
      assertDevice(t, a, [
        `partition ${PARTITION_MS / 1000} s${q.length > 1 ? ` ×${q.length}` : ''}: ${q.join(' + ')} readings queued`,
        `gateway reconnects ${reconnects.get(a.device.id) ?? '?'}`,
      ]);
    }
    t.comment(`${SCENARIO} [${broker}]: ${((Date.now() - began) / 1000).toFixed(1)} s`);
  });
}
