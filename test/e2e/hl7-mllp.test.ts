/**
 * End to end on real components: a simulated GE B40 (HL7 ORU^R01 over MLLP, the monitor is the
 * TCP client) → gateway (hl7-mllp on a 'tcp-server' transport, ACK AA per message, file outbox,
 * MQTT QoS 1) → embedded aedes → ingest → Debian's InfluxDB → GET /cases/:id/timeline. Every value
 * the simulator put on the wire is stored once at its exact time (NIBP at its measurement time);
 * sentinels are stored as absent, never as a value. Then a Mindray PDS monitor (TCP server) read
 * by a second gateway that connects out (tcp transport), heartbeats and sends no ACK.
 */
import t from 'tap';
import { join } from 'node:path';
import { startIngestRig, until } from '../helpers/ingest-rig.js';
import { freePort } from '../../ingest/src/series/influxd-launcher.js';
import { buildConfig } from '../../gateway/src/config.js';
import { startGateway } from '../../gateway/src/main.js';
import { Hl7Monitor } from '../../simulators/src/hl7-mllp/simulator.js';
import { VENDORS } from '../../simulators/src/hl7-mllp/vendors.js';
import type { ProducedNumeric } from '../../simulators/src/index.js';

interface TimelineNumeric {
  mdc: string | null;
  vendorCode: string;
  device: string;
  points: [number, number | null][];
}
interface Timeline {
  numerics: TimelineNumeric[];
}

const MESSAGES = 6;

t.test('GE B40 (monitor = client) and Mindray PDS (monitor = server) → gateways → ingest → InfluxDB → case timelines, exact', async (t) => {
  const rig = await startIngestRig(t, 'hl7');
  const { dir, logger, ingest, api } = rig;
  const password = await rig.registerBed({ room: 'OR3', bed: 'or3-bed', gatewayId: 'gw-or3' });
  await api('POST', '/devices', {
    id: 'or3-b40',
    gatewayId: 'gw-or3',
    bedId: 'or3-bed',
    vendor: 'GE',
    model: 'B40 (simulated)',
    profile: 'auto',
    transport: 'tcp-server',
  });

  const port = await freePort();
  const gateway = await startGateway(
    buildConfig(
      {
        gatewayId: 'gw-or3',
        site: 'main',
        room: 'OR3',
        bed: 'or3-bed',
        mqtt: { url: ingest.mqttUrl, username: 'gw-or3' },
        outbox: { kind: 'file', dir: join(dir, 'outbox') },
        devices: [
          {
            id: 'or3-b40',
            protocol: 'hl7-mllp',
            profile: 'auto',
            transport: { kind: 'tcp-server', host: '127.0.0.1', port, allow: ['127.0.0.1'] },
            options: { acceptBeds: ['OR3^^BED1'] },
          },
        ],
        log: { level: 'warn' },
      },
      { ORLINK_MQTT_PASSWORD: password },
    ),
    { logger },
  );
  t.teardown(() => gateway.close());

  const produced: ProducedNumeric[] = [];
  const mon = new Hl7Monitor({ style: VENDORS['ge-b40'], intervalMs: 1000, sentinelEvery: 3, count: MESSAGES, bed: 'OR3^^BED1', physiology: { seed: 11 } });
  mon.on('produced', (p: ProducedNumeric) => produced.push(p));
  t.teardown(() => mon.close());
  const started = Date.now();
  await mon.connect('127.0.0.1', port);
  await until('all messages acknowledged', () => (mon.stats.acks.AA ?? 0) >= MESSAGES);
  t.same(mon.stats.acks, { AA: MESSAGES }, 'every message acknowledged AA');
  t.ok(produced.length >= MESSAGES * 10, `simulator produced ${produced.length} values`);

  const kase = await api<{ id: string }>('POST', '/cases', { bed: 'or3-bed', start: started - 60 * 60_000 });
  const lastT = Math.max(...produced.map((p) => p.t));
  const url = `/cases/${kase.id}/timeline?from=${started - 60 * 60_000}&to=${lastT + 1000}`;
  const k = (mdc: string | null, vc: string, ts: number) => `${mdc}|${vc}|${ts}`;
  let stored = new Map<string, number | null>();
  let tl: Timeline | undefined;
  await until('every produced value queryable', async () => {
    tl = await api<Timeline>('GET', url);
    stored = new Map();
    for (const n of tl.numerics) for (const [ts, v] of n.points) stored.set(k(n.mdc, n.vendorCode, ts), v);
    return produced.every((p) => stored.has(k(p.mdc, p.vendorCode, p.t)));
  });
  const wrong = produced
    .filter((p) => stored.get(k(p.mdc, p.vendorCode, p.t)) !== p.value)
    .map((p) => `${k(p.mdc, p.vendorCode, p.t)} ${p.value} vs ${stored.get(k(p.mdc, p.vendorCode, p.t))}`);
  t.same(wrong, [], 'every value stored exactly at its time');
  const want = new Set(produced.map((p) => k(p.mdc, p.vendorCode, p.t)));
  const invented = [...stored].filter(([key, v]) => v !== null && !want.has(key));
  t.same(invented, [], 'nothing invented');
  const absent = [...stored].filter(([key, v]) => v === null && key.startsWith('MDC_PRESS_BLD_VEN_CENT_MEAN|'));
  t.equal(absent.length, 2, 'the two CVP sentinels stored as absent');
  t.ok(
    tl!.numerics.every((n) => n.device === 'or3-b40'),
    'tagged with the device',
  );
  t.ok(
    produced.some((p) => p.mdc === 'MDC_CONC_AWAY_CO2_ET' && p.vendorCode.startsWith('MDC:151712')),
    'GE EtCO2 quirk went through the profile',
  );

  // Mindray PDS: the monitor is the server; the gateway connects out (tcp), heartbeats, no ACKs.
  await api('POST', '/rooms', { id: 'OR4', siteId: 'main', name: 'OR 4' });
  await api('POST', '/beds', { id: 'or4-bed', roomId: 'OR4', name: 'OR 4 table' });
  const password4 = `secret-${Math.random().toString(36).slice(2)}`;
  await api('POST', '/gateways', { id: 'gw-or4', bedId: 'or4-bed', password: password4 });
  await api('POST', '/devices', {
    id: 'or4-t8',
    gatewayId: 'gw-or4',
    bedId: 'or4-bed',
    vendor: 'Mindray',
    model: 'BeneView T8 (simulated)',
    profile: 'hl7/mindray/pds',
    transport: 'tcp',
  });
  const pds = new Hl7Monitor({ style: VENDORS['mindray-pds'], intervalMs: 1000, sentinelEvery: 2, count: 5, physiology: { seed: 12 } });
  const pdsProduced: ProducedNumeric[] = [];
  pds.on('produced', (p: ProducedNumeric) => pdsProduced.push(p));
  t.teardown(() => pds.close());
  const pdsPort = await pds.listen(0);
  const gw4 = await startGateway(
    buildConfig(
      {
        gatewayId: 'gw-or4',
        site: 'main',
        room: 'OR4',
        bed: 'or4-bed',
        mqtt: { url: ingest.mqttUrl, username: 'gw-or4' },
        outbox: { kind: 'file', dir: join(dir, 'outbox4') },
        devices: [{ id: 'or4-t8', protocol: 'hl7-mllp', profile: 'hl7/mindray/pds', transport: { kind: 'tcp', host: '127.0.0.1', port: pdsPort } }],
        log: { level: 'warn' },
      },
      { ORLINK_MQTT_PASSWORD: password4 },
    ),
    { logger },
  );
  t.teardown(() => gw4.close());
  await until('PDS messages sent after the heartbeat', () => pds.stats.sent >= 5);
  t.ok(pds.stats.heartbeats >= 1, 'gateway heartbeats reached the monitor');
  t.same(pds.stats.acks, {}, 'no ACK to a PDS monitor');
  const case4 = await api<{ id: string }>('POST', '/cases', { bed: 'or4-bed', start: started - 60 * 60_000 });
  const url4 = `/cases/${case4.id}/timeline?from=${started - 60 * 60_000}&to=${Math.max(...pdsProduced.map((p) => p.t)) + 1000}`;
  let stored4 = new Map<string, number | null>();
  await until('every PDS value queryable', async () => {
    const tl4 = await api<Timeline>('GET', url4);
    stored4 = new Map();
    for (const n of tl4.numerics) for (const [ts, v] of n.points) stored4.set(k(n.mdc, n.vendorCode, ts), v);
    return pdsProduced.every((p) => stored4.has(k(p.mdc, p.vendorCode, p.t)));
  });
  t.same(
    pdsProduced.filter((p) => stored4.get(k(p.mdc, p.vendorCode, p.t)) !== p.value),
    [],
    'PDS values stored exactly at their times',
  );
  t.ok(
    pdsProduced.some((p) => p.vendorCode === 'MNDRY:170'),
    'NIBP (503) included',
  );
  const pdsNull = [...stored4].filter(([key, v]) => v === null && key.startsWith('MDC_TEMP|MNDRY:200|'));
  t.ok(pdsNull.length >= 1, 'the -100.0 temperature sentinel stored as absent');
});
