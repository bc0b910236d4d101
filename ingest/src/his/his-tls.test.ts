/**
 * The HIS MLLP listener over TLS (his.tls, docs/his.md "TLS"), with a test PKI (cli/certs.ts) and a
 * running ingest: an ADT from the interface engine's certificate is applied and ACKed AA; plain TCP
 * to the TLS port, an untrusted or missing client certificate, and a verified certificate whose CN
 * is not in his.allowCn are refused, counted (his_tls_handshake_failures_total) and logged once per
 * address and minute, and nothing they sent is applied; with 'optional', no certificate is fine
 * but one that does not verify is refused; his.allow still applies before the
 * handshake; an unreadable certificate file stops the start with the key named.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import pino from 'pino';
import t from 'tap';
import { createTestPki, type CertPair, type TestPki } from '../../../cli/certs.js';
import { MllpFramer, mllpWrap } from '../../../gateway/src/protocols/hl7-mllp/mllp.js';
import { IngestConfigError, loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { startIngest, type RunningIngest } from '../main.js';
import { silent } from '../mqtt/test-fixtures.js';
import { MemorySeriesStore } from '../series/memory.js';
import { HisFeed } from './his-feed.js';
import { HisListener } from './his-listener.js';
import { adt } from './test-messages.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-his-tls-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let pki: TestPki;
let other: TestPki;
const T0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;

const hisInput = (tlsCfg: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  http: { port: 0 },
  db: { path: ':memory:' },
  broker: { port: 0 },
  mqtt: { clientId: 'ingest-his-tls' },
  series: { kind: 'memory' },
  log: { level: 'info' },
  his: { enabled: true, port: 0, allow: ['127.0.0.1'], locationMap: { 'OP^OR1^T1': 'bed-or1' }, tls: tlsCfg, ...extra },
});
const env = { ORLINK_INGEST_BROKER_PASSWORD: 'svc-password' };

interface Outcome {
  ack?: string;
  closed: boolean;
  error?: string;
}

/** one MLLP message over `how` (TLS with the given trust and certificate, or plain TCP); the ACK, or how it ended (bounded: 10 s) */
function sendOnce(port: number, message: string, how: { plain: true } | { ca: string; client?: CertPair }): Promise<Outcome> {
  return new Promise((resolve) => {
    const s =
      'plain' in how
        ? net.connect({ host: '127.0.0.1', port })
        : tls.connect({
            host: '127.0.0.1',
            port,
            servername: 'localhost',
            ca: readFileSync(how.ca),
            ...(how.client ? { cert: readFileSync(how.client.certFile), key: readFileSync(how.client.keyFile) } : {}),
          });
    const framer = new MllpFramer();
    let error: string | undefined;
    let done = false;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => finish({ closed: false, error }), 10_000);
    s.on('error', (e: NodeJS.ErrnoException) => {
      error ??= e.code ?? e.message;
    });
    s.on('close', () => finish({ closed: true, error }));
    s.on('data', (c: Buffer) => {
      for (const p of framer.push(c)) finish({ ack: p.toString('utf8'), closed: false });
    });
    s.once('plain' in how ? 'connect' : 'secureConnect', () => s.write(mllpWrap(message)));
  });
}
const msa = (ack: string | undefined) => /\rMSA\|([A-Z]{2})\|([^|\r]*)/.exec(ack ?? '')?.slice(1, 3) ?? [];

function registry(ing: RunningIngest): void {
  const r = ing.services.registry;
  r.createSite({ id: 'site1', name: 'Main' });
  r.createRoom({ id: 'or1', siteId: 'site1', name: 'OR 1' });
  r.createBed({ id: 'bed-or1', roomId: 'or1', name: 'T1' });
}

t.before(async () => {
  pki = await createTestPki({ dir: path.join(dir, 'ca'), clients: ['his-engine', 'other-engine'] });
  other = await createTestPki({ dir: path.join(dir, 'other'), clients: ['his-engine'], caName: 'another CA' });
});

t.test('clientCerts required + allowCn: the engine is served, everyone else refused and counted', async (t) => {
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
    input: hisInput({ certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.caFile, clientCerts: 'required' }, { allowCn: ['his-engine'] }),
    env,
  });
  const ing = await startIngest(config, { logger, series: new MemorySeriesStore() });
  t.teardown(() => ing.close());
  registry(ing);
  const his = ing.his as HisListener;
  const port = his.port;
  const m = ing.services.metrics;
  const applied = () => m.get('his_messages_applied_total');
  const refusedTls = () => m.get('his_tls_handshake_failures_total');

  const ok = await sendOnce(port, adt('A02', 'TLS-1', T0, 'OP^OR1^T1'), { ca: pki.caFile, client: pki.clients['his-engine'] });
  t.same(msa(ok.ack), ['AA', 'TLS-1'], 'ADT over TLS answered AA');
  t.equal(applied(), 1, 'and applied');
  t.ok(ing.services.cases.caseIdAt('bed-or1', T0 + 1000), 'a case is open on the mapped bed');
  t.equal(refusedTls(), 0);

  // one after the other: each outcome is checked against the counter
  const expectRefused = async (what: string, controlId: string, how: Parameters<typeof sendOnce>[2]) => {
    const before = refusedTls();
    const o = await sendOnce(port, adt('A03', controlId, T0 + 60_000, 'OP^OR1^T1'), how);
    t.equal(o.ack, undefined, `${what}: no ACK`);
    t.ok(o.closed, `${what}: connection closed (${o.error ?? 'no error'})`);
    t.equal(refusedTls(), before + 1, `${what}: counted`);
  };
  await expectRefused('plain TCP to the TLS port', 'P-1', { plain: true });
  await expectRefused('no client certificate', 'P-2', { ca: pki.caFile });
  await expectRefused('a certificate from another CA', 'P-3', { ca: pki.caFile, client: other.clients['his-engine'] });
  await expectRefused('a verified certificate whose CN is not pinned', 'P-4', { ca: pki.caFile, client: pki.clients['other-engine'] });
  t.equal(applied(), 1, 'nothing the refused peers sent was applied');
  t.ok(ing.services.cases.caseIdAt('bed-or1', T0 + 60_000), 'the case was not closed by a refused A03');
  t.equal(his.stats.tlsRefused, 4);
  const warned = logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('HIS sender refused'));
  t.equal(warned.length, 1, 'logged once for the address within the minute');
  t.match(warned[0], { peer: '127.0.0.1', msg: /TLS handshake failed/ });

  const again = await sendOnce(port, adt('A03', 'TLS-2', T0 + 120_000, 'OP^OR1^T1'), { ca: pki.caFile, client: pki.clients['his-engine'] });
  t.same(msa(again.ack), ['AA', 'TLS-2'], 'the engine is still served after the refusals');
  t.equal(applied(), 2);
});

t.test('clientCerts none: any TLS client is served, a client that does not trust the server gets nothing', async (t) => {
  const config = loadIngestConfig({ input: hisInput({ certFile: pki.server.certFile, keyFile: pki.server.keyFile }), env });
  const ing = await startIngest(config, { logger: silent, series: new MemorySeriesStore() });
  t.teardown(() => ing.close());
  registry(ing);
  const port = (ing.his as HisListener).port;
  t.same(msa((await sendOnce(port, adt('A02', 'N-1', T0, 'OP^OR1^T1'), { ca: pki.caFile })).ack), ['AA', 'N-1']);
  const untrusting = await sendOnce(port, adt('A03', 'N-2', T0 + 60_000, 'OP^OR1^T1'), { ca: other.caFile });
  t.equal(untrusting.ack, undefined, `a client with another CA refuses the server (${untrusting.error})`);
  t.match(untrusting.error, /CERT|VERIFY|SELF_SIGNED/);
  t.equal(ing.services.metrics.get('his_messages_applied_total'), 1);
});

t.test('clientCerts optional: served without a certificate, refused with one that does not verify', async (t) => {
  const config = loadIngestConfig({
    input: hisInput({ certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.caFile, clientCerts: 'optional' }),
    env,
  });
  const ing = await startIngest(config, { logger: silent, series: new MemorySeriesStore() });
  t.teardown(() => ing.close());
  registry(ing);
  const port = (ing.his as HisListener).port;
  const m = ing.services.metrics;
  t.same(msa((await sendOnce(port, adt('A02', 'O-1', T0, 'OP^OR1^T1'), { ca: pki.caFile })).ack), ['AA', 'O-1'], 'no certificate: served');
  const bad = await sendOnce(port, adt('A03', 'O-2', T0 + 60_000, 'OP^OR1^T1'), { ca: pki.caFile, client: other.clients['his-engine'] });
  t.equal(bad.ack, undefined, 'a certificate from another CA: no ACK');
  t.equal(m.get('his_tls_handshake_failures_total'), 1, 'counted');
  t.same(
    msa((await sendOnce(port, adt('A03', 'O-3', T0 + 60_000, 'OP^OR1^T1'), { ca: pki.caFile, client: pki.clients['other-engine'] })).ack),
    ['AA', 'O-3'],
    'a verified certificate: served (no CN pinned)',
  );
  t.equal(m.get('his_messages_applied_total'), 2, 'O-2 was not applied');
});

t.test('his.allow is checked before the handshake', async (t) => {
  const config = loadIngestConfig({
    input: hisInput({ certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.caFile, clientCerts: 'required' }),
    env,
  });
  const ing = await startIngest(config, { logger: silent, series: new MemorySeriesStore() });
  t.teardown(() => ing.close());
  registry(ing);
  const s = ing.services;
  const feed = new HisFeed({ db: s.db, cases: s.cases, registry: s.registry, audit: s.audit, config: config.his });
  const l = new HisListener({ ...config.his, allow: ['10.9.9.9'] }, feed, undefined, s.metrics);
  await l.start();
  t.teardown(() => l.close());
  const o = await sendOnce(l.port, adt('A02', 'X-1', T0, 'OP^OR1^T1'), { ca: pki.caFile, client: pki.clients['his-engine'] });
  t.equal(o.ack, undefined);
  t.ok(o.closed, `closed (${o.error ?? 'no error'})`);
  t.equal(l.stats.refused, 1, 'refused by address');
  t.equal(l.stats.tlsRefused, 0, 'no handshake was attempted');
  t.equal(l.stats.accepted, 0);
  t.equal(s.metrics.get('his_messages_applied_total'), 0);
});

t.test('config: files read at start, allowCn needs required client certificates', async (t) => {
  const missing = path.join(dir, 'nope.pem');
  const config = loadIngestConfig({ input: hisInput({ certFile: missing, keyFile: pki.server.keyFile }), env });
  const err = await startIngest(config, { logger: silent, series: new MemorySeriesStore() }).then(
    () => null,
    (e: unknown) => e,
  );
  t.type(err, IngestConfigError);
  t.match(err, { code: 'ING_ERR_CONFIG', message: /\/his\/tls\/certFile: cannot read .*nope\.pem: ENOENT/ });
  t.throws(() => loadIngestConfig({ input: hisInput({ certFile: 'a.pem', keyFile: 'b.pem' }, { allowCn: ['his-engine'] }), env }), {
    message: /\/his\/allowCn: pinning certificate CNs needs his.tls.clientCerts 'required'/,
  });
  t.throws(() => loadIngestConfig({ input: hisInput({ certFile: 'a.pem', keyFile: 'b.pem', clientCerts: 'required' }), env }), {
    message: /\/his\/tls\/caFile: required/,
  });
  const file = path.join(dir, 'ingest.yaml');
  writeFileSync(file, JSON.stringify(hisInput({ certFile: 'certs/his.pem', keyFile: 'certs/his-key.pem' }))); // JSON is YAML
  const rel = loadIngestConfig({ file, env });
  t.equal(rel.his.tls?.certFile, path.join(dir, 'certs/his.pem'), 'relative to the config file');
});
