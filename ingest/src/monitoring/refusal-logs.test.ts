/**
 * Every refused MQTT login, publish and subscription of the embedded broker leaves a warning line that says who
 * (gateway id or user name, client id, address) and what; and no secret reaches the log.
 */
import { Writable } from 'node:stream';
import mqtt from 'mqtt';
import pino from 'pino';
import t from 'tap';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { bearer, mintToken } from '../auth/test-tokens.js';
import { startIngest } from '../main.js';
import { until } from '../mqtt/test-fixtures.js';

t.test('refused logins, publishes and subscriptions are logged', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      raw.push(String(chunk));
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  const ing = await startIngest(
    loadIngestConfig({
      input: {
        http: { host: '127.0.0.1', port: 0 },
        db: { path: ':memory:' },
        broker: { host: '127.0.0.1', port: 0 },
        series: { kind: 'memory' },
        log: { level: 'warn' },
      },
      env: {},
    }),
    { logger: pino({ level: 'warn' }, dest) },
  );
  t.teardown(() => ing.close());
  const admin = bearer(mintToken(ing.services, 'admin'));
  for (const [url, body] of [
    ['/sites', { id: 'st1', name: 'Main' }],
    ['/rooms', { id: 'or4', siteId: 'st1', name: 'OR 4' }],
    ['/beds', { id: 'bed4', roomId: 'or4', name: 'Table' }],
    ['/gateways', { id: 'gw4', bedId: 'bed4', password: 'gateway-pass-4' }],
  ] as const) {
    const r = await ing.app.inject({ method: 'POST', url, headers: admin, payload: body });
    t.equal(r.statusCode, 201, url);
  }
  const warned = (msg: RegExp, fields: Record<string, unknown>) =>
    lines.some((l) => l.level === 40 && msg.test(String(l.msg)) && Object.entries(fields).every(([k, v]) => l[k] === v));
  const opts = { protocolVersion: 4 as const, reconnectPeriod: 0, connectTimeout: 5_000 };

  // a wrong password
  await t.rejects(mqtt.connectAsync(ing.mqttUrl, { ...opts, username: 'gw4', password: 'wrong-password-x', clientId: 'gw4' }));
  await until(() => warned(/mqtt login failed/, { username: 'gw4' }), 5_000, 'login failure logged');

  // a publish outside its own topics: connection closed, logged with the gateway id
  const c1 = await mqtt.connectAsync(ing.mqttUrl, { ...opts, username: 'gw4', password: 'gateway-pass-4', clientId: 'gw4' });
  t.teardown(() => c1.endAsync(true));
  c1.publish('orlink/v1/st1/or4/bed9/gw9/data', Buffer.from('x'), { qos: 1 });
  await until(() => warned(/^publish denied/, { gatewayId: 'gw4', topic: 'orlink/v1/st1/or4/bed9/gw9/data' }), 5_000, 'publish denial logged');

  // a subscription a gateway may not make: connection closed, logged with the gateway id
  const c2 = await mqtt.connectAsync(ing.mqttUrl, { ...opts, username: 'gw4', password: 'gateway-pass-4', clientId: 'gw4' });
  t.teardown(() => c2.endAsync(true));
  c2.subscribe('orlink/v1/#', { qos: 1 });
  await until(() => warned(/^subscribe denied/, { gatewayId: 'gw4', topic: 'orlink/v1/#' }), 5_000, 'subscription denial logged');

  const denied = lines.filter((l) => /denied|failed/.test(String(l.msg)));
  t.ok(
    denied.every((l) => typeof l.ip === 'string' && l.ip !== ''),
    'each with the client address',
  );
  t.notMatch(raw.join(''), /gateway-pass-4|wrong-password-x/, 'no password in the log');
});
