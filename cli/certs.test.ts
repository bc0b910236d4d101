/** cli/certs.ts: the test PKI (openssl), checked with Node's own X509 parser and a real TLS handshake. */
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import t from 'tap';
import { createTestPki, issueClientCert, openTestPki, revokeClientCert, run, type CertPair, type TestPki } from './certs.js';
import { CERTS_ERR } from './certs-errors.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const cert = (f: string) => new X509Certificate(readFileSync(f));
const mode = (f: string) => statSync(f).mode & 0o777;

function tmp(t: { teardown(fn: () => void): void }): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'orlink-certs-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** one mTLS handshake on loopback: resolves with what the server saw (authorized, CN) or the client's error */
async function handshake(pki: TestPki, client: CertPair | undefined, opts: { crl?: boolean; caFile?: string } = {}) {
  const server = tls.createServer({
    cert: readFileSync(pki.server.certFile),
    key: readFileSync(pki.server.keyFile),
    ca: readFileSync(pki.caFile),
    requestCert: true,
    rejectUnauthorized: false,
    ...(opts.crl ? { crl: readFileSync(pki.crlFile) } : {}),
  });
  const seen: { authorized: boolean; error?: string; cn?: string }[] = [];
  server.on('secureConnection', (s) => {
    const peer = s.getPeerCertificate();
    seen.push({ authorized: s.authorized, error: s.authorizationError?.toString(), cn: peer?.subject?.CN as string | undefined });
    s.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const port = (server.address() as AddressInfo).port;
    const sock = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: readFileSync(opts.caFile ?? pki.caFile),
      ...(client ? { cert: readFileSync(client.certFile), key: readFileSync(client.keyFile) } : {}),
    });
    const result = await new Promise<{ clientError?: string }>((resolve) => {
      const timer = setTimeout(() => resolve({ clientError: 'timeout' }), 10_000);
      sock.on('error', (e) => {
        clearTimeout(timer);
        resolve({ clientError: (e as NodeJS.ErrnoException).code ?? e.message });
      });
      sock.on('close', () => {
        clearTimeout(timer);
        resolve({});
      });
      sock.resume();
    });
    return { ...result, server: seen[0] };
  } finally {
    server.close();
  }
}

t.test('createTestPki: CA, server (serverAuth, SANs), clients (clientAuth, CN), empty CRL, key modes', async (t) => {
  const dir = path.join(tmp(t), 'pki');
  const pki = await createTestPki({ dir, clients: ['gw-or1', 'gw-or2'], caName: 'unit CA' });
  const ca = cert(pki.caFile);
  t.ok(ca.ca, 'the CA certificate is a CA');
  t.match(ca.subject, /CN=unit CA/);
  const server = cert(pki.server.certFile);
  t.ok(server.checkIssued(ca) && server.verify(ca.publicKey), 'server certificate signed by the CA');
  t.same(server.keyUsage, [SERVER_AUTH]);
  t.match(server.subjectAltName ?? '', /DNS:localhost/);
  t.match(server.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
  t.notOk(server.ca);
  t.same(Object.keys(pki.clients).sort(), ['gw-or1', 'gw-or2']);
  for (const [cn, pair] of Object.entries(pki.clients)) {
    const c = cert(pair.certFile);
    t.equal(c.subject.trim(), `CN=${cn}`);
    t.same(c.keyUsage, [CLIENT_AUTH], `${cn}: clientAuth only`);
    t.ok(c.verify(ca.publicKey));
    t.equal(mode(pair.keyFile), 0o600);
  }
  t.equal(mode(dir), 0o700);
  t.equal(mode(pki.caKeyFile), 0o600);
  t.equal(mode(pki.server.keyFile), 0o600);
  t.match(readFileSync(pki.crlFile, 'utf8'), /-----BEGIN X509 CRL-----/);
  const serials = new Set([server.serialNumber, ...Object.values(pki.clients).map((p) => cert(p.certFile).serialNumber)]);
  t.equal(serials.size, 3, 'distinct serials');

  await t.rejects(createTestPki({ dir }), { code: CERTS_ERR.EXISTS }, 'an existing CA is never overwritten');
  await t.rejects(issueClientCert(pki, 'a/b'), { code: CERTS_ERR.BAD_NAME });
  await t.rejects(revokeClientCert(pki, 'never-issued'), { code: CERTS_ERR.UNKNOWN_CLIENT });
});

t.test('custom hosts become SANs; a TLS handshake verifies both sides; a revoked client fails CRL checking', async (t) => {
  const pki = await createTestPki({ dir: tmp(t), hosts: ['ingest.or.example', '10.1.2.3'], clients: ['gw-a'] });
  const san = cert(pki.server.certFile).subjectAltName ?? '';
  t.match(san, /DNS:ingest\.or\.example/);
  t.match(san, /IP Address:10\.1\.2\.3/);
  t.notMatch(san, /localhost/);

  const pki2 = await createTestPki({ dir: tmp(t), clients: ['gw-a'] });
  const ok = await handshake(pki2, pki2.clients['gw-a'], { crl: true });
  t.equal(ok.clientError, undefined);
  t.same(ok.server, { authorized: true, error: undefined, cn: 'gw-a' });

  const other = await handshake(pki2, pki.clients['gw-a']);
  t.equal(other.server?.authorized, false, 'a client certificate from another CA is not authorized');

  const wrongCa = await handshake(pki2, undefined, { caFile: pki.caFile });
  t.ok(wrongCa.clientError, 'the client refuses a server certificate from a CA it does not trust');

  const extra = await issueClientCert(pki2, 'gw-b');
  t.same(extra, pki2.clients['gw-b']);
  const crlFile = await revokeClientCert(pki2, 'gw-a');
  t.equal(crlFile, pki2.crlFile);
  const revoked = await handshake(pki2, pki2.clients['gw-a'], { crl: true });
  t.equal(revoked.server?.authorized, false);
  t.match(revoked.server?.error ?? '', /REVOKED/);
  const stillOk = await handshake(pki2, pki2.clients['gw-b'], { crl: true });
  t.equal(stillOk.server?.authorized, true, 'the other client is not affected');

  // re-issuing a revoked CN gives a new certificate that is valid again
  const again = await issueClientCert(pki2, 'gw-a');
  const back = await handshake(pki2, again, { crl: true });
  t.equal(back.server?.authorized, true);
  t.same(Object.keys(openTestPki(pki2.dir).clients).sort(), ['gw-a', 'gw-b']);
});

t.test('orlink certs: creates, refuses to overwrite, reuses for --client and --revoke, usage errors', async (t) => {
  const dir = path.join(tmp(t), 'out');
  const io = () => {
    const o = { out: '', err: '' };
    return {
      o,
      io: {
        out: (s: string) => {
          o.out += s;
        },
        err: (s: string) => {
          o.err += s;
        },
      },
    };
  };
  let r = io();
  t.equal(await run(['--out', dir, '--client', 'gw-1', '--host', 'localhost'], r.io), 0, r.o.err);
  t.match(r.o.out, path.join(dir, 'ca.pem'));
  t.match(r.o.out, /client gw-1 /);
  const caBefore = readFileSync(path.join(dir, 'ca.pem'), 'utf8');

  r = io();
  t.equal(await run(['--out', dir], r.io), 1);
  t.match(r.o.err, CERTS_ERR.EXISTS);

  r = io();
  t.equal(await run(['--out', dir, '--client', 'gw-2', '--revoke', 'gw-1'], r.io), 0, r.o.err);
  t.equal(readFileSync(path.join(dir, 'ca.pem'), 'utf8'), caBefore, 'the CA is reused');
  t.ok(existsSync(path.join(dir, 'clients', 'gw-2.pem')));
  t.match(r.o.out, /client gw-1 .*\(revoked\)/);
  const pki = openTestPki(dir);
  t.equal((await handshake(pki, pki.clients['gw-1'], { crl: true })).server?.authorized, false);

  r = io();
  t.equal(await run(['--out', dir, '--client', 'bad name'], r.io), 2);
  t.match(r.o.err, CERTS_ERR.BAD_NAME);
  r = io();
  t.equal(await run(['--out', path.join(dir, 'none'), '--revoke', 'gw-1'], r.io), 1);
  t.match(r.o.err, CERTS_ERR.NO_CA);
  r = io();
  t.equal(await run(['--client', 'x'], r.io), 2);
  t.equal(await run(['--out', dir, '--bogus'], r.io), 2);
});
