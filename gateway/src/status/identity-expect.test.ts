/**
 * A device config's `expect` block against the identity the device reports: the status document
 * marks the differing fields (`identityMismatch`), the gateway warns once per change, and the
 * config schema accepts only serial/model/firmware there.
 */
import { once } from 'node:events';
import net from 'node:net';
import pino from 'pino';
import t from 'tap';
import { buildConfig } from '../config.js';
import { startGateway } from '../main.js';
import { fakeProtocol } from '../session/testdata/fake-protocol.js';
import type { DeviceSessionStatus } from '../session/device-session.js';
import { deviceStatusDoc, identityMismatchOf } from './gateway-status.js';

const session = (identity?: DeviceSessionStatus['identity']): DeviceSessionStatus => ({
  id: 'mon1',
  protocol: 'x',
  link: 'streaming',
  frames: 1,
  errors: 0,
  errorsByKind: {},
  observations: 0,
  reconnects: 0,
  watchdogTrips: 0,
  bytesRx: 0,
  bytesTx: 0,
  ...(identity ? { identity } : {}),
});

t.test('status document: mismatching fields only, compared trimmed and case-insensitively', async (t) => {
  const reported = { vendor: 'GE', model: 'S/5', firmware: '2003', serial: 'AB-12' };
  t.same(deviceStatusDoc(session(reported), { serial: 'AB-99', model: 's/5 ' }).identityMismatch, [{ field: 'serial', expected: 'AB-99', reported: 'AB-12' }]);
  t.notOk('identityMismatch' in deviceStatusDoc(session(reported), { serial: ' ab-12', firmware: '2003' }), 'matching: no field at all');
  t.notOk('identityMismatch' in deviceStatusDoc(session(reported)), 'nothing expected');
  t.same(identityMismatchOf(session({ vendor: 'GE', model: 'S/5' }), { serial: 'AB-99' }), [], 'a serial the device does not report is not a mismatch');
  t.same(identityMismatchOf(session(), { serial: 'AB-99' }), [], 'not identified yet');
});

t.test('config: expect takes serial, model, firmware only', async (t) => {
  const base = { gatewayId: 'gw1', site: 's', room: 'r', bed: 'b' };
  const dev = { id: 'd1', protocol: 'ge-dri', transport: { kind: 'tcp', host: '127.0.0.1', port: 4001 } };
  t.same(buildConfig({ ...base, devices: [{ ...dev, expect: { serial: 'SN1', firmware: '2.0' } }] }, {}).devices[0].expect, { serial: 'SN1', firmware: '2.0' });
  t.throws(() => buildConfig({ ...base, devices: [{ ...dev, expect: { colour: 'red' } }] }, {}), { code: 'GW_ERR_CONFIG' });
  t.throws(() => buildConfig({ ...base, devices: [{ ...dev, expect: { serial: '' } }] }, {}), { code: 'GW_ERR_CONFIG' });
});

t.test('running gateway: the status marks the device that reports another identity, and warns once', async (t) => {
  let sock: net.Socket | undefined;
  const device = net.createServer((s) => {
    sock = s;
    s.on('error', () => undefined);
  });
  device.listen(0, '127.0.0.1');
  await once(device, 'listening');
  t.teardown(() => {
    sock?.destroy();
    return new Promise<void>((r) => device.close(() => r()));
  });
  const logs: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'warn' },
    {
      write: (s: string) => {
        logs.push(JSON.parse(s) as Record<string, unknown>);
      },
    },
  );
  const config = buildConfig(
    {
      gatewayId: 'gw1',
      site: 's',
      room: 'r',
      bed: 'b',
      mqtt: { url: 'mqtt://127.0.0.1:1', publishIntervalMs: 50, statusIntervalMs: 200 }, // no broker: the status is read locally
      outbox: { kind: 'memory' },
      devices: [
        {
          id: 'mon1',
          protocol: 'fake-line',
          transport: { kind: 'tcp', host: '127.0.0.1', port: (device.address() as net.AddressInfo).port },
          expect: { model: 'mon9', firmware: '5.0' },
        },
      ],
    },
    {},
  );
  const gw = await startGateway(config, { logger, protocols: { 'fake-line': fakeProtocol }, drainMs: 50, mqttBackoff: { baseMs: 1000, maxMs: 1000 } });
  t.teardown(() => gw.close());
  const until = async (what: string, cond: () => boolean) => {
    const end = Date.now() + 10_000;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await until('device connection', () => !!sock);
  sock!.write('ID acme mon9 4.2\nN hr 70\n');
  await until('identity', () => gw.status().devices[0].model === 'mon9');
  t.same(gw.status().devices[0].identityMismatch, [{ field: 'firmware', expected: '5.0', reported: '4.2' }]);
  sock!.write('N hr 71\nN hr 72\n');
  await until('more frames', () => gw.status().devices[0].frames >= 4);
  const warned = logs.filter((l) => l.msg === 'device identity differs from the configured expectation');
  t.equal(warned.length, 1, 'once, not per status');
  t.same(warned[0].mismatch, [{ field: 'firmware', expected: '5.0', reported: '4.2' }]);
  t.equal(warned[0].deviceId, 'mon1');
});
