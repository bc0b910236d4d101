/**
 * The embedded broker's mqtts listener (broker.tls, docs/tls.md) in a running ingest: client
 * certificate logins (CN = gateway id, no password) with the same ACL, client id, session and
 * registry rules as password logins; refusals at the handshake (untrusted CA, no certificate where
 * one is required, a revoked one after a restart with the new CRL) and at CONNACK (unknown or
 * retired gateway, the service account, a user name other than the CN), each counted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { createTestPki, issueClientCert, revokeClientCert, type TestPki } from '../../../cli/certs.js';
import { encodeEnvelope } from '../../../schemas/src/envelope.js';
import { onlineStatus } from '../../../test/helpers/status-docs.js';
import { envelope, until } from '../mqtt/test-fixtures.js';
import { mqttsConnect, SERVICE_PASSWORD, startTlsIngest, topicOf, type TlsRig } from '../tls-fixture.js';

const NOT_AUTHORIZED = 5;
const BAD_USER_OR_PASSWORD = 4;
const IDENTIFIER_REJECTED = 2;

function tmp(t: Test): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'orlink-mqtts-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const counter = (rig: TlsRig, name: Parameters<TlsRig['ingest']['services']['metrics']['get']>[0]) => rig.ingest.services.metrics.get(name);
const data = (gw: string, seq: number, hr: number) => Buffer.from(encodeEnvelope(envelope(seq, Date.now() - 5000 + seq, hr, `boot-${gw}`, gw)));

async function withGateways(rig: TlsRig): Promise<void> {
  await rig.ingest.services.registry.createGateway({ id: 'gw-a', bedId: 'bed1', password: 'pass-a' });
  await rig.ingest.services.registry.createGateway({ id: 'gw-b', bedId: 'bed2', password: 'pass-b' });
}

let pki: TestPki;
let otherCa: TestPki;
t.before(async () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'orlink-mqtts-pki-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  pki = await createTestPki({ dir: path.join(d, 'ca'), clients: ['gw-a', 'gw-b', 'gw-unknown', 'orlink-ingest'] });
  otherCa = await createTestPki({ dir: path.join(d, 'other'), clients: ['gw-a'], caName: 'another CA' });
});

t.test("clientCerts 'required': a certificate logs in as its gateway, data is stored, status arrives; the rules of a password login apply", async (t) => {
  const rig = await startTlsIngest(t, { pki, dir: tmp(t), broker: { clientCerts: 'required' } });
  await withGateways(rig);
  const port = rig.ingest.mqttsPort as number;
  t.ok(port > 0 && rig.ingest.mqttsUrl === `mqtts://127.0.0.1:${port}`, 'mqttsPort/mqttsUrl reported');
  t.not(port, rig.ingest.mqttPort, 'the plain listener is separate');

  const a = await mqttsConnect(t, port, pki, { client: pki.clients['gw-a'], clientId: 'gw-a' });
  t.ok(a.client, `gw-a logs in with its certificate and no password (${a.error ?? a.returnCode ?? 'ok'})`);
  const gwA = a.client!;
  await gwA.publishAsync(topicOf('bed1', 'gw-a', 'data'), data('gw-a', 1, 71), { qos: 1 });
  const stored = await rig.store.query({ bed: 'bed1', from: 0, to: Date.now() + 1000 });
  t.same(
    stored.numerics.map((n) => n.value),
    [71],
    'PUBACK after the reading is stored under its bed',
  );
  await gwA.publishAsync(topicOf('bed1', 'gw-a', 'status'), JSON.stringify(onlineStatus({ gatewayId: 'gw-a', site: 's1', room: 'or1', bed: 'bed1' })), {
    qos: 1,
    retain: true,
  });
  await until(() => rig.ingest.services.registry.getGateway('gw-a')?.online === true, 5000, 'status of gw-a processed');
  t.pass('status arrived in the registry');

  const refusedBefore = counter(rig, 'mqtt_cert_refused_total');
  // the same client id from another gateway's certificate: refused, gw-a's session stays
  const takeover = await mqttsConnect(t, port, pki, { client: pki.clients['gw-b'], clientId: 'gw-a' });
  t.equal(takeover.returnCode, IDENTIFIER_REJECTED, 'gw-b cannot take over the client id of gw-a');
  t.ok(gwA.connected, 'gw-a still connected');
  const mismatch = await mqttsConnect(t, port, pki, { client: pki.clients['gw-a'], username: 'gw-b', password: 'pass-b', clientId: 'gw-b-2' });
  t.equal(mismatch.returnCode, NOT_AUTHORIZED, "the user name must equal the certificate CN (even with that user's password)");

  // ACL: another bed's topic closes the connection, nothing stored
  const before = rig.ingest.broker!.stats.publishDenied;
  const closed = new Promise<void>((r) => gwA.once('close', () => r()));
  gwA.publish(topicOf('bed2', 'gw-b', 'data'), data('gw-b', 1, 99), { qos: 1 });
  await closed;
  t.equal(rig.ingest.broker!.stats.publishDenied, before + 1, 'publish to another bed denied');
  t.same((await rig.store.query({ bed: 'bed2', from: 0, to: Date.now() + 1000 })).numerics, [], 'nothing stored for bed2');

  // refusals at CONNACK, counted and logged
  const unknown = await mqttsConnect(t, port, pki, { client: pki.clients['gw-unknown'], clientId: 'gw-unknown' });
  t.equal(unknown.returnCode, NOT_AUTHORIZED, 'a certificate for an unregistered gateway is refused');
  const service = await mqttsConnect(t, port, pki, { client: pki.clients['orlink-ingest'], clientId: 'orlink-ingest-x' });
  t.equal(service.returnCode, NOT_AUTHORIZED, 'the service account never logs in by certificate');
  t.equal(counter(rig, 'mqtt_cert_refused_total'), refusedBefore + 3, 'user name mismatch, unknown gateway, service account: counted');
  t.ok(
    rig.logs.some((l) => l.msg === 'mqtt certificate login refused' && l.gatewayId === 'gw-unknown'),
    'logged with the CN',
  );
  t.notOk(JSON.stringify(rig.logs).includes('pass-b'), 'no password in the logs');

  // refusals at the handshake
  const hsBefore = counter(rig, 'mqtt_tls_handshake_failures_total');
  const foreign = await mqttsConnect(t, port, pki, { client: otherCa.clients['gw-a'], clientId: 'gw-a-9' });
  t.ok(foreign.error && foreign.client === undefined, `a certificate from another CA fails the handshake (${foreign.error})`);
  const none = await mqttsConnect(t, port, pki, { username: 'gw-b', password: 'pass-b', clientId: 'gw-b-3' });
  t.ok(none.error && none.client === undefined, `no certificate where one is required fails the handshake (${none.error})`);
  await until(() => counter(rig, 'mqtt_tls_handshake_failures_total') >= hsBefore + 2, 5000, 'handshake failures counted');
  const untrustedServer = await mqttsConnect(t, port, pki, { client: pki.clients['gw-b'], ca: otherCa.caFile, clientId: 'gw-b-4' });
  t.ok(untrustedServer.error, "a client that does not trust the server's CA does not connect");
});

t.test('retiring the gateway ends its certificate session and refuses the next login', async (t) => {
  const rig = await startTlsIngest(t, { pki, dir: tmp(t), broker: { clientCerts: 'required' } });
  await withGateways(rig);
  const port = rig.ingest.mqttsPort as number;
  const b = await mqttsConnect(t, port, pki, { client: pki.clients['gw-b'], clientId: 'gw-b' });
  t.ok(b.client);
  const closed = new Promise<void>((r) => b.client!.once('close', () => r()));
  rig.ingest.services.registry.retireGateway('gw-b', 'test');
  await closed;
  t.pass('session closed at the retirement');
  const again = await mqttsConnect(t, port, pki, { client: pki.clients['gw-b'], clientId: 'gw-b' });
  t.equal(again.returnCode, NOT_AUTHORIZED, "a retired gateway's certificate is refused");
  // revoking the password does not end certificate logins (docs/tls.md: retire or revoke the certificate)
  t.ok(rig.ingest.services.registry.revokeGatewayPassword('gw-a'));
  const a = await mqttsConnect(t, port, pki, { client: pki.clients['gw-a'], clientId: 'gw-a' });
  t.ok(a.client, 'gw-a with its certificate after its password was revoked');
});

t.test("clientCerts 'optional': password logins over mqtts still work, a certificate logs in, one that does not verify is refused", async (t) => {
  const rig = await startTlsIngest(t, { pki, dir: tmp(t), broker: { clientCerts: 'optional' } });
  await withGateways(rig);
  const port = rig.ingest.mqttsPort as number;
  const pw = await mqttsConnect(t, port, pki, { username: 'gw-a', password: 'pass-a', clientId: 'gw-a' });
  t.ok(pw.client, 'password login without a certificate');
  await pw.client!.publishAsync(topicOf('bed1', 'gw-a', 'data'), data('gw-a', 1, 64), { qos: 1 });
  const wrong = await mqttsConnect(t, port, pki, { username: 'gw-b', password: 'nope', clientId: 'gw-b' });
  t.equal(wrong.returnCode, BAD_USER_OR_PASSWORD, 'a wrong password is still refused');
  const cert = await mqttsConnect(t, port, pki, { client: pki.clients['gw-b'], clientId: 'gw-b-1' });
  t.ok(cert.client, 'certificate login');
  const before = counter(rig, 'mqtt_cert_refused_total');
  const foreign = await mqttsConnect(t, port, pki, { client: otherCa.clients['gw-a'], username: 'gw-a', password: 'pass-a', clientId: 'gw-a-2' });
  t.equal(foreign.returnCode, NOT_AUTHORIZED, 'a presented certificate that does not verify is refused, even with a good password');
  t.equal(counter(rig, 'mqtt_cert_refused_total'), before + 1);
  const svc = await mqttsConnect(t, port, pki, { username: 'orlink-ingest', password: SERVICE_PASSWORD, clientId: 'orlink-ingest-tls' });
  t.ok(svc.client, 'the service account logs in with its password');
});

t.test("clientCerts 'none': no certificate is asked for, so a certificate alone is no login", async (t) => {
  const rig = await startTlsIngest(t, { pki, dir: tmp(t), broker: { clientCerts: 'none' } });
  await withGateways(rig);
  const port = rig.ingest.mqttsPort as number;
  const cert = await mqttsConnect(t, port, pki, { client: pki.clients['gw-a'], clientId: 'gw-a' });
  t.equal(cert.returnCode, BAD_USER_OR_PASSWORD);
  const pw = await mqttsConnect(t, port, pki, { username: 'gw-a', password: 'pass-a', clientId: 'gw-a-1' });
  t.ok(pw.client);
});

t.test('a revoked certificate is refused once ingest restarts with the new CRL', async (t) => {
  const dir = tmp(t);
  const own = await createTestPki({ dir: path.join(dir, 'pki'), clients: ['gw-a'] });
  const first = await startTlsIngest(t, { pki: own, dir, broker: { clientCerts: 'required', crlFile: own.crlFile } });
  await withGateways(first);
  const ok = await mqttsConnect(t, first.ingest.mqttsPort as number, own, { client: own.clients['gw-a'], clientId: 'gw-a' });
  t.ok(ok.client, 'valid before the revocation');
  await ok.client!.endAsync();
  await revokeClientCert(own, 'gw-a');
  await first.stop();

  const second = await startTlsIngest(t, { pki: own, dir, broker: { clientCerts: 'required', crlFile: own.crlFile } });
  const port = second.ingest.mqttsPort as number;
  const revoked = await mqttsConnect(t, port, own, { client: own.clients['gw-a'], clientId: 'gw-a' });
  t.ok(revoked.error && !revoked.client, `revoked: the handshake fails (${revoked.error})`);
  await until(() => counter(second, 'mqtt_tls_handshake_failures_total') >= 1, 5000, 'counted');
  const fresh = await issueClientCert(own, 'gw-a');
  const renewed = await mqttsConnect(t, port, own, { client: fresh, clientId: 'gw-a' });
  t.ok(renewed.client, 'a newly issued certificate for the same gateway works');
});

t.test('the packet-size guard covers the mqtts listener', async (t) => {
  const rig = await startTlsIngest(t, { pki, dir: tmp(t), broker: { clientCerts: 'required' }, limits: { maxPacketBytes: 4096, maxStatusBytes: 1024 } });
  await withGateways(rig);
  const a = await mqttsConnect(t, rig.ingest.mqttsPort as number, pki, { client: pki.clients['gw-a'], clientId: 'gw-a' });
  t.ok(a.client);
  const closed = new Promise<void>((r) => a.client!.once('close', () => r()));
  a.client!.publish(topicOf('bed1', 'gw-a', 'data'), Buffer.alloc(8192, 1), { qos: 1 });
  await closed;
  t.equal(counter(rig, 'mqtt_packet_too_large_total'), 1, 'an 8 KiB packet closes the connection and is counted');
  t.ok(
    rig.logs.some((l) => l.msg === 'mqtt packet too large: connection closed' && l.gatewayId === 'gw-a'),
    'logged with the gateway id',
  );
});
