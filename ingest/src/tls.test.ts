/**
 * TLS for ingest (docs/tls.md): REST over HTTPS only (http.tls) with an optional or required client
 * certificate in addition to the API token; the config keys (paths relative to the config file,
 * the loopback rule for the plain broker listener, unreadable files named by key); and a real
 * gateway (startGateway) that logs in to the embedded broker's mqtts listener with its client
 * certificate and no password, and whose reading is stored.
 */
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { createTestPki, type TestPki } from '../../cli/certs.js';
import { buildConfig } from '../../gateway/src/config.js';
import { silentLogger } from '../../gateway/src/log.js';
import { startGateway } from '../../gateway/src/main.js';
import { fakeProtocol } from '../../gateway/src/session/testdata/fake-protocol.js';
import { IngestConfigError, loadIngestConfig } from '../../schemas/src/ingest-config.js';
import { bearer, mintToken } from './auth/test-tokens.js';
import { startIngest } from './main.js';
import { until, silent } from './mqtt/test-fixtures.js';
import { httpsGet, startTlsIngest } from './tls-fixture.js';

function tmp(t: Test): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'orlink-tls-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

let pki: TestPki;
let otherCa: TestPki;
t.before(async () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'orlink-tls-pki-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  pki = await createTestPki({ dir: path.join(d, 'ca'), clients: ['biomed-laptop', 'gw-real'] });
  otherCa = await createTestPki({ dir: path.join(d, 'other'), clients: ['biomed-laptop'], caName: 'another CA' });
});

/** a plain HTTP GET: the status, or the error code */
const plainGet = (url: string) =>
  new Promise<{ status?: number; error?: string }>((resolve) => {
    const req = http.get(url, { timeout: 10_000, agent: false }, (res) => {
      res.resume();
      resolve({ status: res.statusCode });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
  });

t.test('REST over HTTPS: the CA works, plain HTTP and an untrusted CA fail, the token is still required', async (t) => {
  const rig = await startTlsIngest(t, { pki, dir: tmp(t), http: {} });
  const url = rig.ingest.url;
  t.match(url, /^https:\/\/127\.0\.0\.1:\d+$/, 'url is https://');
  const headers = bearer(mintToken(rig.ingest.services, 'viewer'));
  t.same(await httpsGet(`${url}/health/live`, { ca: pki.caFile }), { status: 200, body: '{"live":true}' });
  t.equal((await httpsGet(`${url}/sites`, { ca: pki.caFile, headers })).status, 200, 'with a token');
  t.equal((await httpsGet(`${url}/sites`, { ca: pki.caFile })).status, 401, 'without a token');
  const plain = await plainGet(`${url.replace('https:', 'http:')}/health/live`);
  t.equal(plain.status, undefined, `plain HTTP to the HTTPS port gets no answer (${plain.error})`);
  t.ok(plain.error);
  const untrusted = await httpsGet(`${url}/health/live`, { ca: otherCa.caFile });
  t.match(untrusted, { error: /UNABLE_TO_VERIFY|SELF_SIGNED|CERT/ }, `a client with another CA refuses the server (${untrusted.error})`);
});

t.test(
  "REST clientCerts 'required': no certificate fails the handshake; certificate and token together work; the certificate never replaces the token",
  async (t) => {
    const rig = await startTlsIngest(t, { pki, dir: tmp(t), http: { clientCerts: 'required' } });
    const url = rig.ingest.url;
    const headers = bearer(mintToken(rig.ingest.services, 'viewer'));
    const noCert = await httpsGet(`${url}/sites`, { ca: pki.caFile, headers });
    t.equal(noCert.status, undefined, `token without a client certificate: no answer (${noCert.error})`);
    t.ok(noCert.error);
    t.equal((await httpsGet(`${url}/sites`, { ca: pki.caFile, headers, client: pki.clients['biomed-laptop'] })).status, 200);
    t.equal((await httpsGet(`${url}/sites`, { ca: pki.caFile, client: pki.clients['biomed-laptop'] })).status, 401, 'certificate without a token: 401');
    const foreign = await httpsGet(`${url}/sites`, { ca: pki.caFile, headers, client: otherCa.clients['biomed-laptop'] });
    t.equal(foreign.status, undefined, `a certificate from another CA: no answer (${foreign.error})`);
  },
);

t.test("REST clientCerts 'optional': without a certificate as before; a certificate that does not verify is refused", async (t) => {
  const rig = await startTlsIngest(t, { pki, dir: tmp(t), http: { clientCerts: 'optional' } });
  const url = rig.ingest.url;
  const headers = bearer(mintToken(rig.ingest.services, 'viewer'));
  t.equal((await httpsGet(`${url}/sites`, { ca: pki.caFile, headers })).status, 200, 'no certificate');
  t.equal((await httpsGet(`${url}/sites`, { ca: pki.caFile, headers, client: pki.clients['biomed-laptop'] })).status, 200, 'a valid certificate');
  const foreign = await httpsGet(`${url}/sites`, { ca: pki.caFile, headers, client: otherCa.clients['biomed-laptop'] });
  t.equal(foreign.status, undefined, `a certificate from another CA: connection closed (${foreign.error})`);
  t.ok(
    rig.logs.some((l) => l.msg === 'https client certificate not verified: connection closed'),
    'logged',
  );
});

t.test('config: paths relative to the config file, loopback plain listener, caFile needed, unreadable files named by key', async (t) => {
  const dir = tmp(t);
  const file = path.join(dir, 'conf', 'ingest.yaml');
  mkdirSync(path.dirname(file));
  writeFileSync(
    file,
    'http:\n  tls: { certFile: tls/server.pem, keyFile: tls/server-key.pem }\nbroker:\n  tls: { certFile: /abs/s.pem, keyFile: k.pem, caFile: ca.pem, clientCerts: required, port: 0 }\n',
  );
  const c = loadIngestConfig({ file, env: {} });
  t.equal(c.http.tls?.certFile, path.join(dir, 'conf', 'tls', 'server.pem'));
  t.equal(c.broker.tls?.certFile, '/abs/s.pem');
  t.equal(c.broker.tls?.caFile, path.join(dir, 'conf', 'ca.pem'));
  t.same([c.http.tls?.clientCerts, c.http.tls?.minVersion, c.broker.tls?.host], ['none', 'TLSv1.2', '127.0.0.1']);
  t.equal(loadIngestConfig({ input: { broker: { tls: { certFile: 'a', keyFile: 'b' } } }, env: {} }).broker.tls?.port, 8883, 'default mqtts port');

  const problems = (input: unknown) => {
    try {
      loadIngestConfig({ input, env: {} });
      return [];
    } catch (e) {
      return (e as IngestConfigError).problems;
    }
  };
  t.match(problems({ broker: { host: '0.0.0.0', tls: { certFile: 'a', keyFile: 'b' } } }), [/^\/broker\/host: must be a loopback address/]);
  t.same(problems({ broker: { host: '::1', tls: { certFile: 'a', keyFile: 'b' } } }), []);
  t.match(problems({ http: { tls: { certFile: 'a', keyFile: 'b', clientCerts: 'required' } } }), [/^\/http\/tls\/caFile: required/]);
  t.match(problems({ http: { tls: { certFile: 'a', keyFile: 'b', minVersion: 'TLSv1.1' } } }), [/\/http\/tls\/minVersion/]);
  t.match(problems({ broker: { kind: 'external', url: 'mqtt://x:1883', tls: { certFile: 'a', keyFile: 'b' } } }), [
    /^\/broker\/tls: only for the embedded broker/,
  ]);

  const bad = loadIngestConfig({
    input: {
      http: { port: 0, tls: { certFile: pki.server.certFile, keyFile: path.join(dir, 'missing-key.pem') } },
      db: { path: ':memory:' },
      series: { kind: 'memory' },
      broker: { port: 0 },
    },
    env: {},
  });
  const err = await startIngest(bad, { logger: silent }).then(
    () => null,
    (e: unknown) => e,
  );
  t.match(
    err,
    { code: 'ING_ERR_CONFIG', problems: [/^\/http\/tls\/keyFile: cannot read .*missing-key\.pem: ENOENT/] },
    'unreadable key: coded config error naming the key',
  );
});

t.test('a real gateway logs in to mqtts with its client certificate and no password; its reading is stored', async (t) => {
  const dir = tmp(t);
  const rig = await startTlsIngest(t, { pki, dir, broker: { clientCerts: 'required' } });
  await rig.ingest.services.registry.createGateway({ id: 'gw-real', bedId: 'bed3', password: 'not-used-by-the-gateway' });
  let sock: net.Socket | undefined;
  const device = net.createServer((s) => {
    sock = s;
    s.on('error', () => {});
  });
  device.listen(0, '127.0.0.1');
  await once(device, 'listening');
  t.teardown(() => {
    sock?.destroy();
    device.close();
  });
  const gw = await startGateway(
    buildConfig(
      {
        gatewayId: 'gw-real',
        site: 's1',
        room: 'or1',
        bed: 'bed3',
        mqtt: {
          url: `mqtts://127.0.0.1:${rig.ingest.mqttsPort}`,
          publishIntervalMs: 50,
          statusIntervalMs: 200,
          tls: { caFile: pki.caFile, certFile: pki.clients['gw-real'].certFile, keyFile: pki.clients['gw-real'].keyFile },
        },
        outbox: { kind: 'memory' },
        devices: [
          {
            id: 'mon1',
            protocol: 'fake-line',
            transport: { kind: 'tcp', host: '127.0.0.1', port: (device.address() as net.AddressInfo).port },
            watchdogMs: 60_000,
          },
        ],
      },
      {},
    ),
    { logger: silentLogger(), protocols: { 'fake-line': fakeProtocol }, mqttBackoff: { baseMs: 50, maxMs: 200 }, drainMs: 0 },
  );
  t.teardown(() => gw.close());
  await until(() => gw.status().mqtt.connected, 10_000, 'gateway connected over mqtts');
  await until(() => sock !== undefined, 10_000, 'device connection');
  sock?.write('ID acme mon9 1.0\nN hr 73\n');
  await until(
    async () => (await rig.store.query({ bed: 'bed3', from: 0, to: Date.now() + 60_000 })).numerics.some((n) => n.value === 73),
    10_000,
    'reading stored',
  );
  t.pass('HR 73 stored under bed3');
  await until(() => rig.ingest.services.registry.getGateway('gw-real')?.online === true, 10_000, 'gateway status online');
  t.equal(rig.ingest.services.metrics.get('mqtt_auth_failures_total'), 0, 'no password login was tried');
});
