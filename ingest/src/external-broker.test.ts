/**
 * With an external broker (Mosquitto 2, persistent session: clean false + fixed client id), the
 * messages a gateway publishes while ingest is stopped are delivered and stored when it restarts.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import t from 'tap';
import { encodeEnvelope } from '../../schemas/src/envelope.js';
import { loadIngestConfig } from '../../schemas/src/ingest-config.js';
import { bearer, mintToken } from './auth/test-tokens.js';
import { startIngest } from './main.js';
import { envelope, silent, until } from './mqtt/test-fixtures.js';
import { freePort } from './series/influxd-launcher.js';
import { MemorySeriesStore } from './series/memory.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-mosq-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const port = await freePort();
writeFileSync(path.join(dir, 'mosquitto.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type error\n`);
const mosq = spawn('/usr/sbin/mosquitto', ['-c', path.join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
const exited = new Promise<void>((r) => mosq.once('exit', () => r()));
t.teardown(async () => {
  mosq.kill('SIGTERM');
  await exited;
});
await until(
  () =>
    new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    }),
  10_000,
  'mosquitto listening',
);

const config = loadIngestConfig({
  input: {
    http: { port: 0 },
    db: { path: path.join(dir, 'ingest.sqlite') },
    series: { kind: 'memory' },
    broker: { kind: 'external', url: `mqtt://127.0.0.1:${port}` },
    mqtt: { clientId: 'ingest-ext' },
    log: { level: 'silent' },
  },
  env: {},
});
const admin = bearer(mintToken(config.db.path, 'admin'));

t.test('messages published while ingest is down are stored after its restart', async (t) => {
  const series = new MemorySeriesStore();
  const first = await startIngest(config, { logger: silent, series });
  const post = (url: string, body: object) =>
    fetch(`${first.url}${url}`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await post('/sites', { id: 's1', name: 'S' });
  await post('/rooms', { id: 'or1', siteId: 's1', name: 'R' });
  await post('/beds', { id: 'bed1', roomId: 'or1', name: 'B' });
  t.equal((await post('/gateways', { id: 'gw1', bedId: 'bed1', password: 'password-1' })).status, 201);
  await first.close();

  const gw = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, clientId: 'gw1', reconnectPeriod: 0 });
  const base = Date.now() - 60_000;
  for (let i = 0; i < 3; i++)
    await gw.publishAsync('orlink/v1/s1/or1/bed1/gw1/data', Buffer.from(encodeEnvelope(envelope(i + 1, base + i * 1000, 80 + i))), { qos: 1 });
  await gw.endAsync();
  t.equal(series.size('numeric'), 0, 'nothing stored while ingest is down');

  const second = await startIngest(config, { logger: silent, series });
  t.teardown(() => second.close());
  await until(() => series.size('numeric') === 3, 10_000, 'queued messages stored');
  t.equal(second.services.metrics.get('envelopes_written_total'), 3);
  const r = await series.query({ bed: 'bed1', from: base, to: base + 5000, kinds: ['numeric'] });
  t.same(
    r.numerics.map((n) => [n.t, n.value]),
    [
      [base, 80],
      [base + 1000, 81],
      [base + 2000, 82],
    ],
  );
});

t.test('with an external broker the case topic goes out on the subscriber connection, retained', async (t) => {
  const ing = await startIngest(config, { logger: silent, series: new MemorySeriesStore() });
  t.teardown(() => ing.close());
  const rec = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, clientId: 'record-ext', reconnectPeriod: 0 });
  t.teardown(() => rec.endAsync(true));
  const got: { topic: string; msg: { caseId: string | null; change: string } }[] = [];
  rec.on('message', (topic, payload) => got.push({ topic, msg: JSON.parse(payload.toString()) }));
  await rec.subscribeAsync('orlink/v1/+/+/+/case', { qos: 1 });
  const res = await fetch(`${ing.url}/cases`, {
    method: 'POST',
    headers: { ...admin, 'content-type': 'application/json' },
    body: JSON.stringify({ bed: 'bed1' }),
  });
  const c = (await res.json()) as { id: string };
  await until(() => got.some((g) => g.msg.caseId === c.id), 10_000, 'case message');
  t.match(
    got.find((g) => g.msg.caseId === c.id),
    { topic: 'orlink/v1/s1/or1/bed1/case', msg: { change: 'open' } },
  );
  const late = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, clientId: 'record-ext-late', reconnectPeriod: 0 });
  t.teardown(() => late.endAsync(true));
  const retained: { caseId: string }[] = [];
  late.on('message', (_topic, payload, packet) => {
    if (packet.retain) retained.push(JSON.parse(payload.toString()));
  });
  await late.subscribeAsync('orlink/v1/s1/or1/bed1/case', { qos: 1 });
  await until(() => retained.length > 0, 10_000, 'retained case message');
  t.equal(retained[0].caseId, c.id);
});
