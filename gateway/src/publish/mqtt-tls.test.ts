/** mqtts:// with a private CA: trusted via mqtt.tls.caFile, refused without it. */
import t from 'tap';
import tls from 'node:tls';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { Aedes } from 'aedes';
import { buildConfig } from '../config.js';
import { silentLogger } from '../log.js';
import { startGateway } from '../main.js';

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

t.test('TLS to the broker', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-tls-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
  } catch {
    t.comment('openssl not available: TLS test not run');
    return;
  }
  const aedes = await Aedes.createBroker();
  const server = tls.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) }, aedes.handle);
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(async () => {
    await new Promise<void>((r) => aedes.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  });
  const port = (server.address() as import('node:net').AddressInfo).port;
  const base = { gatewayId: 'gw-tls', site: 's', room: 'r', bed: 'b', outbox: { kind: 'memory' }, devices: [] };
  const opts = { logger: silentLogger(), mqttBackoff: { baseMs: 50, maxMs: 100 }, drainMs: 0 };

  const trusted = await startGateway(buildConfig({ ...base, mqtt: { url: `mqtts://127.0.0.1:${port}`, tls: { caFile: 'cert.pem' } } }, {}, dir), opts);
  await until('TLS connection', () => trusted.status().mqtt.connected);
  await trusted.close();
  t.pass('connected with the private CA');

  const untrusted = await startGateway(buildConfig({ ...base, mqtt: { url: `mqtts://127.0.0.1:${port}` } }, {}, dir), opts);
  await until('a refused attempt', () => untrusted.status().mqtt.lastError !== undefined);
  t.equal(untrusted.status().mqtt.connected, false);
  t.match(untrusted.status().mqtt.lastError, /SELF_SIGNED|self.signed|UNABLE_TO_VERIFY/i);
  await untrusted.close();
});

t.test('unreadable TLS files and a cert without key are config errors', async (t) => {
  const base = { gatewayId: 'g', site: 's', room: 'r', bed: 'b' };
  const err = t.throws(() => buildConfig({ ...base, mqtt: { tls: { caFile: '/nonexistent/ca.pem', certFile: '/nonexistent/c.pem' } } }, {})) as any;
  const d = err.details.join('\n');
  t.match(d, '/mqtt/tls/caFile');
  t.match(d, 'certFile and keyFile go together');
});
