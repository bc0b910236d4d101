import t from 'tap';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildConfig, loadConfig } from './config.js';
import { GatewayError } from './errors.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const minimal = {
  gatewayId: 'gw1',
  site: 's',
  room: 'r',
  bed: 'b',
  devices: [{ id: 'd1', protocol: 'ge-dri', transport: { kind: 'tcp', host: '127.0.0.1', port: 4001 } }],
};

t.test('sample config validates', async (t) => {
  const cfg = loadConfig(path.join(here, '..', 'gateway.sample.yaml'), {});
  t.equal(cfg.gatewayId, 'gw-or3-bed1');
  t.equal(cfg.devices.length, 3);
  t.same(cfg.devices[2].transport, { kind: 'tcp-server', host: '0.0.0.0', port: 2575, allow: ['10.1.20.31'] }, 'the MLLP listener shows its allow-list');
  t.equal(cfg.devices[1].profile, 'auto', 'device default applied');
  t.equal(cfg.devices[1].watchdogMs, 10_000);
  t.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.mqtt) && Object.isFrozen(cfg.devices[0].transport));
});

t.test('defaults < file < env', async (t) => {
  const cfg = buildConfig(
    { ...minimal, mqtt: { publishIntervalMs: 500 } },
    { ORLINK_MQTT_URL: 'mqtt://127.0.0.1:9999', ORLINK_MQTT_PASSWORD: 'sec', ORLINK_OUTBOX_KIND: 'memory' },
    '/base',
  );
  t.equal(cfg.mqtt.topicPrefix, 'orlink/v1');
  t.equal(cfg.mqtt.publishIntervalMs, 500);
  t.equal(cfg.mqtt.url, 'mqtt://127.0.0.1:9999');
  t.equal(cfg.mqtt.password, 'sec');
  t.equal(cfg.outbox.kind, 'memory');
  t.equal(cfg.outbox.dir, '/base/outbox', 'relative dir resolved against the config folder');
});

t.test('passwordFile is read', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gwcfg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'pw'), 'hunter2\n');
  const cfg = buildConfig({ ...minimal, mqtt: { passwordFile: 'pw' } }, {}, dir);
  t.equal(cfg.mqtt.password, 'hunter2');
});

t.test('all errors reported at once', async (t) => {
  const bad = {
    gatewayId: 'gw 1',
    site: 's',
    bed: 'b',
    mqtt: { url: 'http://x', maxInflight: 0 },
    outbox: { maxBytes: 8192, segmentBytes: 8192 },
    devices: [
      { id: 'd1', protocol: 'ge-dri', transport: { kind: 'serial' } },
      { id: 'd1', protocol: 'ge-dri', transport: { kind: 'udp', host: 'x' } },
      { id: 'd3', protocol: 'ge-dri', transport: { kind: 'tcp', host: 'h', port: 70000 }, watchdogMs: 'x' },
    ],
  };
  const err = t.throws(() => buildConfig(bad, { ORLINK_PUBLISH_INTERVAL_MS: 'abc' })) as unknown as GatewayError;
  t.equal(err.code, 'GW_ERR_CONFIG');
  const d = (err.details as string[]).join('\n');
  for (const needle of [
    '/gatewayId',
    '/room',
    '/mqtt/url',
    '/mqtt/maxInflight',
    '/outbox/segmentBytes',
    '/devices/0/transport/path',
    '/devices/1/id: duplicate',
    '/devices/1/transport/kind',
    '/devices/2/transport/port',
    '/devices/2/watchdogMs',
    'ORLINK_PUBLISH_INTERVAL_MS',
  ]) {
    t.match(d, needle, needle);
  }
});

t.test('unreadable and non-YAML files are GW_ERR_CONFIG', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gwcfg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.throws(() => loadConfig(path.join(dir, 'missing.yaml'), {}), { code: 'GW_ERR_CONFIG' });
  writeFileSync(path.join(dir, 'bad.yaml'), 'a: [1, 2\n');
  t.throws(() => loadConfig(path.join(dir, 'bad.yaml'), {}), { code: 'GW_ERR_CONFIG' });
  writeFileSync(path.join(dir, 'list.yaml'), '- 1\n- 2\n');
  t.throws(() => loadConfig(path.join(dir, 'list.yaml'), {}), { code: 'GW_ERR_CONFIG' });
});

t.test('a listening (tcp-server) device needs an allow-list of senders or an explicit allowAnySender', async (t) => {
  const mllp = (transport: Record<string, unknown>) => ({
    ...minimal,
    devices: [{ id: 'or3-b40', protocol: 'hl7-mllp', transport: { kind: 'tcp-server', host: '0.0.0.0', port: 2575, ...transport } }],
  });
  const err = t.throws(() => buildConfig(mllp({}), {})) as unknown as GatewayError;
  t.equal(err.code, 'GW_ERR_CONFIG');
  t.match(
    (err.details as string[]).join('\n'),
    /\/devices\/0\/transport\/allow: device 'or3-b40' listens \(tcp-server\) without an allow-list.*set transport\.allow to the monitor's IP.*allowAnySender: true/,
  );
  t.match(err.message, "device 'or3-b40'", 'the message names the device');
  t.throws(() => buildConfig(mllp({ allow: [] }), {}), { code: 'GW_ERR_CONFIG' }, 'an empty list is no list');
  t.throws(() => buildConfig(mllp({ allowAnySender: false }), {}), { code: 'GW_ERR_CONFIG' });

  t.same(buildConfig(mllp({ allow: ['10.1.20.31', '10.1.21.0/28', 'fd00::31'] }), {}).devices[0].transport, {
    kind: 'tcp-server',
    host: '0.0.0.0',
    port: 2575,
    allow: ['10.1.20.31', '10.1.21.0/28', 'fd00::31'],
  });
  t.equal((buildConfig(mllp({ allowAnySender: true }), {}).devices[0].transport as { allowAnySender?: boolean }).allowAnySender, true);

  const bad = t.throws(() => buildConfig(mllp({ allow: ['10.1.20.31', 'monitor-3.local', '10.0.0.0/33'] }), {})) as unknown as GatewayError;
  const d = (bad.details as string[]).join('\n');
  t.match(d, "/devices/0/transport/allow/1: device 'or3-b40': 'monitor-3.local' is not an IP address");
  t.match(d, '/devices/0/transport/allow/2');
  t.notMatch(d, '/allow/0');
  const both = t.throws(() => buildConfig(mllp({ allow: ['10.1.20.31'], allowAnySender: true }), {})) as unknown as GatewayError;
  t.match((both.details as string[]).join('\n'), '/devices/0/transport/allowAnySender');
  // other transports are not concerned
  t.doesNotThrow(() => buildConfig(minimal, {}));
});

t.test('recordPhi is a boolean, absent by default', async (t) => {
  t.equal(buildConfig(minimal, {}).recordPhi, undefined);
  t.equal(buildConfig({ ...minimal, recordPhi: true }, {}).recordPhi, true);
  t.throws(() => buildConfig({ ...minimal, recordPhi: 'yes' }, {}), { code: 'GW_ERR_CONFIG' });
});
