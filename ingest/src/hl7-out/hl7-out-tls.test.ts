/**
 * Outbound HL7 over TLS (hl7Out.endpoints[].tls, docs/hl7-out.md "TLS") against the test record
 * system serving MLLP over TLS (test-emr.ts) with a test PKI (cli/certs.ts). Ingest trusts the test
 * CA (caFile) and presents its client certificate (certFile/keyFile). An endpoint whose certificate
 * comes from another CA is refused: the messages stay queued (none dead-lettered, none received),
 * the failures are counted and logged; once the endpoint serves a certificate of the right CA (and
 * asks for ingest's certificate) the queue drains and every message is ACKed. Also: the client
 * alone (an endpoint requiring a certificate ingest does not have) and the config checks.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import { createTestPki, type TestPki } from '../../../cli/certs.js';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { startIngest } from '../main.js';
import { silent } from '../mqtt/test-fixtures.js';
import { numericPoint } from '../series/layout.js';
import { MemorySeriesStore } from '../series/memory.js';
import { MllpClient, readClientTlsFiles } from './mllp-client.js';
import { TestEmr } from './test-emr.js';

const dir = mkdtempSync(path.join(tmpdir(), 'orlink-hl7out-tls-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let pki: TestPki;
let other: TestPki;
t.before(async () => {
  pki = await createTestPki({ dir: path.join(dir, 'ca'), clients: ['orlink-ingest'] });
  other = await createTestPki({ dir: path.join(dir, 'other'), clients: ['orlink-ingest'], caName: 'another CA' });
});

async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** the endpoint's TLS server options: its certificate from `ca`; with `clientCa`, a client certificate of that CA is required */
const emrTls = (ca: TestPki, clientCa?: TestPki) => ({
  cert: readFileSync(ca.server.certFile),
  key: readFileSync(ca.server.keyFile),
  ...(clientCa ? { ca: readFileSync(clientCa.caFile), requestCert: true, rejectUnauthorized: true } : {}),
});

t.test('an endpoint with another CA is refused (queued, not dead), the right one drains the queue, all ACKed', async (t) => {
  const emr = new TestEmr({ tls: emrTls(other) });
  const port = await emr.start(0);
  t.teardown(() => emr.stop());
  const series = new MemorySeriesStore();
  const logs: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    {
      write: (line: string) => {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  const config = loadIngestConfig({
    input: {
      http: { host: '127.0.0.1', port: 0 },
      db: { path: ':memory:' },
      series: { kind: 'memory' },
      broker: { kind: 'embedded', host: '127.0.0.1', port: 0 },
      log: { level: 'info' },
      hl7Out: {
        endpoints: [
          {
            name: 'emr',
            host: '127.0.0.1',
            port,
            intervalS: 0.1,
            ackTimeoutMs: 2_000,
            retryMinMs: 20,
            retryMaxMs: 200,
            connectTimeoutMs: 2_000,
            tls: {
              caFile: pki.caFile,
              certFile: pki.clients['orlink-ingest'].certFile,
              keyFile: pki.clients['orlink-ingest'].keyFile,
              servername: 'localhost',
            },
          },
        ],
        settleMs: 50,
        pollMs: 30,
      },
    },
    env: {},
  });
  const ingest = await startIngest(config, { logger, series });
  t.teardown(() => ingest.close());
  const reg = ingest.services.registry;
  reg.createSite({ id: 'main', name: 'Main' });
  reg.createRoom({ id: 'or3', siteId: 'main', name: 'OR 3' });
  reg.createBed({ id: 'or3-1', roomId: 'or3', name: 'Table' });
  reg.createDevice({ id: 'mon-1', bedId: 'or3-1', vendor: 'GE', model: 'B40', serial: 'S1' });
  ingest.services.cases.create({ bedId: 'or3-1', externalIds: { mrn: 'M123' } });
  const tags = { site: 'main', room: 'or3', bed: 'or3-1', device: 'mon-1' };
  let n = 0;
  const writer = setInterval(() => {
    void series.write([
      numericPoint({ kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, value: 60 + (n++ % 30), unit: '/min', t: Date.now(), vendorCode: 'HR' }, tags),
    ]);
  }, 20);
  t.teardown(() => clearInterval(writer));

  const out = ingest.hl7Out!;
  const sender = out.senders.get('emr')!;
  const status = () => out.queue.status(['emr'])[0];
  await until('3 messages queued and 3 refused connections', () => status().queued >= 3 && sender.stats.transportFailures >= 3);
  t.equal(emr.received.length, 0, 'nothing reached the endpoint with the untrusted certificate');
  t.equal(status().dead, 0, 'nothing dead-lettered');
  t.equal(sender.stats.dead, 0);
  t.equal(sender.stats.acked, 0);
  const warn = logs.find((l) => l.msg === 'HL7 endpoint unreachable or silent, will resend');
  t.match(warn, { endpoint: 'emr', err: /connect 127\.0\.0\.1:\d+: .*(certificate|CERT)/i }, 'the refusal is logged with the TLS reason');
  t.equal(logs.filter((l) => l.msg === 'HL7 endpoint unreachable or silent, will resend').length, 1, 'once, not per attempt');

  // the endpoint now has a certificate of the CA ingest trusts, and requires ingest's certificate
  const failedBefore = emr.tlsFailures;
  t.ok(failedBefore >= 1, 'the endpoint saw ingest abort the handshakes');
  await emr.stop();
  emr.tls = emrTls(pki, pki);
  await emr.start(port);
  await until('the first ACK', () => sender.stats.acked > 0);
  clearInterval(writer);
  // the producer has passed the end of the data once it finds empty windows; then the queue must drain
  const empty = out.producer.stats.emptyWindows;
  await until(
    'the queue drained after the stream stopped',
    () => out.producer.stats.emptyWindows >= empty + 2 && status().queued === 0 && out.queue.head('emr') === null,
  );
  const ids = new Set(emr.received.map((r) => r.controlId));
  t.ok(ids.size >= 3, `messages received (${ids.size})`);
  t.equal(sender.stats.acked, ids.size, 'every message received was ACKed, once');
  t.equal(status().dead, 0, 'none dead-lettered');
  t.ok(
    emr.received.every((r) => r.peerCn === 'orlink-ingest'),
    'ingest presented its client certificate on every connection',
  );
  t.ok(
    logs.some((l) => l.msg === 'HL7 endpoint answering again'),
    'recovery logged',
  );
  t.equal(emr.tlsFailures, failedBefore, 'no handshake failed at the right endpoint');
});

t.test('the client alone: no certificate for an endpoint that requires one, a server name mismatch', async (t) => {
  const emr = new TestEmr({ tls: emrTls(pki, pki) });
  const port = await emr.start(0);
  t.teardown(() => emr.stop());
  const msg = 'MSH|^~\\&|ORLINK|OR|EMR|HOSP|20260101000000+0000||ORU^R01^ORU_R01|C-1|P|2.6\rPID|1||M1^^^HOSP^MR\r';
  const anonymous = new MllpClient({
    host: '127.0.0.1',
    port,
    connectTimeoutMs: 2_000,
    tls: readClientTlsFiles({ caFile: pki.caFile, servername: 'localhost', rejectUnauthorized: true }, 'emr'),
  });
  t.teardown(() => anonymous.close());
  await t.rejects(anonymous.send(msg, 'C-1', 2_000), { code: 'ING_ERR_HL7OUT_CONNECT' }, 'refused without a client certificate');
  t.equal(emr.received.length, 0);
  t.ok(emr.tlsFailures >= 1, 'the endpoint saw a failed handshake');

  const wrongName = new MllpClient({
    host: '127.0.0.1',
    port,
    connectTimeoutMs: 2_000,
    tls: readClientTlsFiles(
      {
        caFile: pki.caFile,
        servername: 'emr.example',
        certFile: pki.clients['orlink-ingest'].certFile,
        keyFile: pki.clients['orlink-ingest'].keyFile,
        rejectUnauthorized: true,
      },
      'emr',
    ),
  });
  t.teardown(() => wrongName.close());
  await t.rejects(
    wrongName.send(msg, 'C-1', 2_000),
    { code: 'ING_ERR_HL7OUT_CONNECT', message: /emr\.example|altname|ERR_TLS_CERT_ALTNAME/i },
    'a certificate not issued for the server name is refused',
  );

  const good = new MllpClient({
    host: '127.0.0.1',
    port,
    connectTimeoutMs: 2_000,
    tls: readClientTlsFiles(
      {
        caFile: pki.caFile,
        servername: 'localhost',
        certFile: pki.clients['orlink-ingest'].certFile,
        keyFile: pki.clients['orlink-ingest'].keyFile,
        rejectUnauthorized: true,
      },
      'emr',
    ),
  });
  t.teardown(() => good.close());
  t.match(await good.send(msg, 'C-1', 5_000), { code: 'AA', controlId: 'C-1' });
  t.same(
    emr.received.map((r) => [r.controlId, r.peerCn]),
    [['C-1', 'orlink-ingest']],
  );
});

t.test('config: paths relative to the config file, certFile and keyFile together, unreadable files named', async (t) => {
  const file = path.join(dir, 'ingest.yaml');
  const ep = (tls: Record<string, unknown>) => {
    writeFileSync(file, JSON.stringify({ hl7Out: { endpoints: [{ name: 'emr', host: 'emr.example', port: 2575, tls }] } })); // JSON is YAML
    return { file, env: {} };
  };
  t.throws(() => loadIngestConfig(ep({ certFile: 'c.pem' })), { message: /\/hl7Out\/endpoints\/0\/tls: certFile and keyFile go together/ });
  t.throws(() => loadIngestConfig(ep({ ca: 'x.pem' })), { code: 'ING_ERR_CONFIG' }, 'an unknown key');
  const cfg = loadIngestConfig(ep({ caFile: 'certs/emr-ca.pem', certFile: 'certs/me.pem', keyFile: 'certs/me-key.pem' }));
  t.match(
    cfg.hl7Out.endpoints[0].tls,
    {
      caFile: path.join(dir, 'certs/emr-ca.pem'),
      certFile: path.join(dir, 'certs/me.pem'),
      keyFile: path.join(dir, 'certs/me-key.pem'),
      minVersion: 'TLSv1.2',
    },
    'relative to the config file',
  );
  t.throws(() => readClientTlsFiles({ caFile: path.join(dir, 'nope.pem'), rejectUnauthorized: true }, 'emr'), {
    code: 'ING_ERR_HL7OUT_CONFIG',
    message: /hl7Out endpoint emr: tls\.caFile: cannot read .*nope\.pem: ENOENT/,
  });
  const config = loadIngestConfig({
    input: {
      http: { port: 0 },
      db: { path: ':memory:' },
      series: { kind: 'memory' },
      broker: { port: 0 },
      log: { level: 'silent' },
      hl7Out: {
        endpoints: [
          {
            name: 'emr',
            host: '127.0.0.1',
            port: 2575,
            tls: { caFile: pki.caFile, certFile: path.join(dir, 'missing.pem'), keyFile: pki.clients['orlink-ingest'].keyFile },
          },
        ],
      },
    },
    env: { ORLINK_INGEST_BROKER_PASSWORD: 'svc' },
  });
  await t.rejects(
    startIngest(config, { logger: silent, series: new MemorySeriesStore() }),
    { code: 'ING_ERR_HL7OUT_CONFIG', message: /tls\.certFile: cannot read/ },
    'ingest does not start',
  );
});
