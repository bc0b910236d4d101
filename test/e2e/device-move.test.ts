/**
 * Data follows the registry, on the real path (Debian's InfluxDB, ingest with its embedded broker,
 * REST): a device registered on bed A streams through its gateway; it is moved to bed B through
 * the API; what it sends afterwards — through the same gateway, still at bed A — is stored under
 * bed B and shows in an open case on bed B, and what it sent before stays in bed A. A device that
 * belongs to another gateway, riding in the same envelopes, is refused without costing the others.
 */
import mqtt from 'mqtt';
import t from 'tap';
import { encodeEnvelope, type DeviceBatch } from '../../schemas/src/envelope.js';
import { startIngestRig } from '../helpers/ingest-rig.js';

interface Timeline {
  numerics: { mdc: string; device: string; points: [number, number | null][] }[];
}

const hr = (deviceId: string, t: number, value: number): DeviceBatch => ({
  deviceId,
  profileId: 'test',
  waves: [],
  alarms: [],
  settings: [],
  numerics: [{ kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, value, unit: '/min', t, vendorCode: 'hr' }],
});

t.test("a device moved to another bed through the API streams into the new bed's case", async (t) => {
  const rig = await startIngestRig(t, 'device_move');
  const { api, ingest } = rig;
  const password = await rig.registerBed({ room: 'or1', bed: 'bedA', gatewayId: 'gw1' });
  await api('POST', '/rooms', { id: 'or2', siteId: 'main', name: 'OR 2' });
  await api('POST', '/beds', { id: 'bedB', roomId: 'or2', name: 'OR 2 table' });
  await api('POST', '/gateways', { id: 'gw2', bedId: 'bedB', password: 'gw2-password' });
  await api('POST', '/devices', { id: 'mon1', gatewayId: 'gw1', bedId: 'bedA', vendor: 'GE', model: 'S/5' });
  await api('POST', '/devices', { id: 'pump9', gatewayId: 'gw2' }); // belongs to the other gateway

  const gw = await mqtt.connectAsync(ingest.mqttUrl, { protocolVersion: 4, username: 'gw1', password, clientId: 'gw1-e2e', reconnectPeriod: 0 });
  t.teardown(() => gw.endAsync(true));
  const topic = 'orlink/v1/main/or1/bedA/gw1/data';
  const base = Math.floor((Date.now() - 120_000) / 1000) * 1000;
  let seq = 0;
  // QoS 1 with the embedded broker: the PUBACK comes after the points are stored
  const send = (devices: DeviceBatch[]) =>
    gw.publishAsync(topic, Buffer.from(encodeEnvelope({ gatewayId: 'gw1', bootId: 'boot-e2e', seq: ++seq, sentAt: Date.now(), devices })), { qos: 1 });

  for (let i = 0; i < 3; i++) await send([hr('mon1', base + i * 1000, 60 + i)]);
  const moved = await api('POST', '/devices/mon1/move', { bedId: 'bedB' });
  t.equal(moved.bedId, 'bedB');
  for (let i = 3; i < 6; i++) await send([hr('mon1', base + i * 1000, 60 + i), hr('pump9', base + i * 1000, 1)]);

  const window = { from: base - 1000, to: base + 10_000 };
  const values = async (bed: string, device: string) =>
    (await ingest.services.series.query({ bed, ...window })).numerics.filter((n) => n.device === device).map((n) => [n.t, n.value, n.room]);
  t.same(
    await values('bedA', 'mon1'),
    [
      [base, 60, 'or1'],
      [base + 1000, 61, 'or1'],
      [base + 2000, 62, 'or1'],
    ],
    'before the move: bed A',
  );
  t.same(
    await values('bedB', 'mon1'),
    [
      [base + 3000, 63, 'or2'],
      [base + 4000, 64, 'or2'],
      [base + 5000, 65, 'or2'],
    ],
    "after the move: bed B, with bed B's room",
  );

  const caseB = await api<{ id: string; status: string }>('POST', '/cases', { bed: 'bedB', start: base - 500 });
  t.equal(caseB.status, 'open');
  const tl = await api<Timeline>('GET', `/cases/${caseB.id}/timeline?from=${window.from}&to=${window.to}`);
  t.same(
    tl.numerics.map((n) => [n.device, n.points]),
    [
      [
        'mon1',
        [
          [base + 3000, 63],
          [base + 4000, 64],
          [base + 5000, 65],
        ],
      ],
    ],
    'the open case on bed B has the readings after the move, and only those',
  );

  t.same(await values('bedA', 'pump9'), [], "the other gateway's device was refused");
  t.same(await values('bedB', 'pump9'), []);
  t.equal(ingest.services.metrics.get('device_wrong_gateway_total'), 3);
  t.equal(ingest.services.metrics.get('envelopes_written_total'), 6, 'every envelope acked and stored');
  const dl = await api<{ items: { code: string; reason: string }[] }>('GET', '/dead-letters');
  t.same(
    dl.items.map((d) => d.code),
    Array(3).fill('ING_ERR_DEVICE_WRONG_GATEWAY'),
  );
  t.match(dl.items[0].reason, 'device pump9 is registered to gateway gw2, not gw1');
  const audit = await api<{ action: string; entityId: string }[]>('GET', '/audit?entity=device&action=registry.move');
  t.same(
    audit.map((a) => a.entityId),
    ['mon1'],
  );
});
