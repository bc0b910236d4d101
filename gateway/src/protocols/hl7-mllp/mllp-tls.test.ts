/**
 * MLLP over TLS (tcp-server transport `tls`, docs/hl7-mllp.md "TLS"): an ORU^R01 over TLS is
 * decoded and ACKed; plain TCP to the TLS port decodes nothing; with clientCerts 'required' an
 * untrusted or missing client certificate and a CN outside allowCn are refused and counted; a
 * second TLS sender is refused while the first keeps streaming; config errors for the TLS block;
 * and the real gateway with the GE B40 simulator sending over TLS with a client certificate.
 * Certificates: cli/certs.ts (a test PKI made with openssl).
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Writable } from 'node:stream';
import t, { type Test } from 'tap';
import { createTestPki, type CertPair } from '../../../../cli/certs.js';
import { freePort } from '../../../../ingest/src/series/influxd-launcher.js';
import type { Observation } from '../../../../schemas/src/observation.js';
import type { ProducedNumeric } from '../../../../simulators/src/index.js';
import { parseArgs as simArgs } from '../../../../simulators/src/hl7-mllp/cli.js';
import { Hl7Monitor } from '../../../../simulators/src/hl7-mllp/simulator.js';
import { VENDORS } from '../../../../simulators/src/hl7-mllp/vendors.js';
import { buildConfig } from '../../config.js';
import { createLogger } from '../../log.js';
import { startGateway } from '../../main.js';
import { TcpServerLink, type TcpServerTlsConfig } from '../../transports/tcp-server.js';
import { mllpWrap } from './mllp.js';
import { Hl7Session } from './session.js';

const ORU = (id: string, hr: number) =>
  `MSH|^~\\&|B40^080019FFFE1443EC^EUI-64|GE|||20261122013855+0100||ORU^R01^ORU_R01|${id}|P|2.6|||NE|AL\rOBX|1|NM|147842^HR^MDC|1.5.1.1|${hr}|264864|||||R\r`;

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-mllp-tls-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const pki = await createTestPki({ dir: path.join(dir, 'pki'), clients: ['mon-b40', 'iface-engine'], days: 2 });
const rogue = await createTestPki({ dir: path.join(dir, 'rogue'), clients: ['mon-b40'], days: 2, caName: 'rogue CA' });
const ca = readFileSync(pki.caFile);
const pem = (p: CertPair) => ({ cert: readFileSync(p.certFile), key: readFileSync(p.keyFile) });

function captureLogger() {
  const raw: string[] = [];
  const logger = createLogger(
    'info',
    new Writable({
      write(c, _e, cb) {
        raw.push(String(c));
        cb();
      },
    }),
  );
  return { logger, raw, lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** a TLS listener link wired to an HL7 session: observations decoded, ACKs written back */
async function listener(tt: Test, extra: Partial<TcpServerTlsConfig> = {}) {
  const cap = captureLogger();
  const link = new TcpServerLink(
    { kind: 'tcp-server', host: '127.0.0.1', port: 0, allow: ['127.0.0.1'], tls: { ...pki.server, ...extra } },
    { logger: cap.logger },
  );
  await link.open();
  const session = new Hl7Session({ profileId: 'auto' });
  const got: Observation[] = [];
  session.start({ write: (b) => link.write(b) });
  link.on('data', (d) => got.push(...session.onBytes(d, Date.now())));
  link.on('error', () => {});
  tt.teardown(async () => {
    session.stop();
    await link.close();
  });
  return { link, got, cap, port: link.address()!.port };
}

/** resolves on 'close' (events.once would reject on the 'error' that precedes it) */
const closeOf = (s: net.Socket) => new Promise<void>((r) => s.once('close', () => r()));

interface Sender {
  sock: net.Socket;
  rx: () => string;
  closed: Promise<unknown>;
}
/** a TLS sender; resolves after the handshake (the server may still refuse it right after) or with the handshake error */
async function tlsSender(port: number, o: tls.ConnectionOptions = {}): Promise<Sender> {
  const sock = tls.connect({ host: '127.0.0.1', port, ca, ...o });
  const rx: Buffer[] = [];
  sock.on('data', (d: Buffer) => rx.push(d));
  const closed = closeOf(sock);
  sock.on('error', () => {});
  await Promise.race([new Promise((r) => sock.once('secureConnect', r)), closed]);
  return { sock, rx: () => Buffer.concat(rx).toString(), closed };
}

t.test('an ORU^R01 over MLLP/TLS is decoded and ACKed', async (t) => {
  const { link, got } = await listener(t);
  const a = await tlsSender(link.address()!.port);
  t.equal((a.sock as tls.TLSSocket).authorized, true, 'the sender verified the gateway certificate');
  a.sock.write(mllpWrap(ORU('S1', 61)));
  await until('ACK', () => /MSA\|AA\|S1\r/.test(a.rx()));
  t.same(
    got.map((o) => (o.kind === 'numeric' ? o.value : null)),
    [61],
    'decoded',
  );
  t.equal(link.counters.accepted, 1);
  a.sock.destroy();
});

t.test('plain TCP to the TLS port: nothing decoded, nothing answered, counted', async (t) => {
  const { link, got, cap, port } = await listener(t);
  const s = net.createConnection({ host: '127.0.0.1', port });
  const rx: Buffer[] = [];
  s.on('data', (d: Buffer) => rx.push(d));
  s.on('error', () => {});
  await once(s, 'connect');
  s.write(mllpWrap(ORU('PLAIN1', 99)));
  await closeOf(s);
  t.same(got, [], 'nothing decoded');
  t.notMatch(Buffer.concat(rx).toString('latin1'), /MSA/, 'no ACK');
  await until('counted', () => link.counters.tlsFailed === 1);
  t.same(link.counts(), { 'tls-handshake-failed': 1 });
  t.equal(link.counters.accepted, 0);
  t.match(
    cap.lines().find((l) => l.reason === 'tls-handshake-failed'),
    { level: 40, peer: '127.0.0.1' },
  );
  t.notMatch(cap.raw.join(''), /PLAIN1|OBX/, 'no content logged');
  // the listener still takes a real TLS sender
  const a = await tlsSender(port);
  a.sock.write(mllpWrap(ORU('S2', 62)));
  await until('ACK', () => /MSA\|AA\|S2\r/.test(a.rx()));
  a.sock.destroy();
});

t.test("clientCerts 'required': untrusted, missing and not pinned certificates are refused and counted; the CA's one is accepted", async (t) => {
  const { link, got, cap, port } = await listener(t, { caFile: pki.caFile, clientCerts: 'required', allowCn: ['mon-b40'] });
  const refusedWith = async (o: tls.ConnectionOptions, what: string) => {
    const s = await tlsSender(port, o);
    s.sock.write(mllpWrap(ORU('EVIL', 222)), () => undefined);
    await s.closed;
    t.notMatch(s.rx(), /MSA/, `${what}: no ACK`);
  };
  await refusedWith(pem(pki.clients['iface-engine']), 'a valid certificate with another CN');
  await refusedWith(pem(rogue.clients['mon-b40']), 'a certificate of another CA with the pinned CN');
  await refusedWith({}, 'no certificate');
  await until('counted', () => link.counters.certRefused === 3);
  t.same(link.counts(), { 'client-cert-refused': 3 });
  t.same(got, [], 'nothing decoded from the refused senders');
  const logs = cap.lines().filter((l) => l.reason === 'client-cert-refused');
  t.equal(logs.length, 1, 'logged once per address and minute (throttled), counted every time');
  t.match(logs[0], { level: 40, peer: '127.0.0.1', cn: 'iface-engine', msg: /CN 'iface-engine' not in tls.allowCn/ });
  const ok = await tlsSender(port, pem(pki.clients['mon-b40']));
  ok.sock.write(mllpWrap(ORU('S3', 63)));
  await until('ACK', () => /MSA\|AA\|S3\r/.test(ok.rx()));
  t.same(
    got.map((o) => (o.kind === 'numeric' ? o.value : null)),
    [63],
  );
  ok.sock.destroy();
});

t.test('a second TLS sender is refused while the first keeps going', async (t) => {
  const { link, got, port } = await listener(t, { caFile: pki.caFile, clientCerts: 'required' });
  const a = await tlsSender(port, pem(pki.clients['mon-b40']));
  a.sock.write(mllpWrap(ORU('A1', 64)));
  await until('ACK 1', () => /MSA\|AA\|A1\r/.test(a.rx()));
  const b = net.createConnection({ host: '127.0.0.1', port });
  b.on('error', () => {});
  const bClosed = closeOf(b);
  const b2 = tls.connect({ host: '127.0.0.1', port, ca, ...pem(pki.clients['iface-engine']) });
  b2.on('error', () => {});
  await Promise.all([bClosed, closeOf(b2)]);
  t.equal(link.counters.secondSenderRefused, 2, 'refused at TCP accept, before any handshake');
  a.sock.write(mllpWrap(ORU('A2', 65)));
  await until('ACK 2', () => /MSA\|AA\|A2\r/.test(a.rx()));
  t.same(
    got.map((o) => (o.kind === 'numeric' ? o.value : null)),
    [64, 65],
    'only the first sender decoded',
  );
  t.equal(a.sock.destroyed, false, 'the first sender was never evicted');
  a.sock.destroy();
});

t.test('config: the TLS block is checked with coded errors', async (t) => {
  const base = { gatewayId: 'g', site: 's', room: 'r', bed: 'b', outbox: { kind: 'memory' } };
  const dev = (tlsCfg: Record<string, unknown>) => ({
    ...base,
    devices: [{ id: 'm', protocol: 'hl7-mllp', transport: { kind: 'tcp-server', host: '127.0.0.1', port: 2575, allow: ['10.1.2.3'], tls: tlsCfg } }],
  });
  const err = t.throws(() =>
    buildConfig(dev({ certFile: 'nope/cert.pem', keyFile: pki.server.keyFile, clientCerts: 'required', allowCn: ['x'] }), {}, dir),
  ) as unknown as { code: string; details: string[] };
  t.equal(err.code, 'GW_ERR_CONFIG');
  t.match(err.details.join('\n'), `/devices/0/transport/tls/certFile: cannot read ${path.join(dir, 'nope/cert.pem')}: ENOENT`);
  t.match(err.details.join('\n'), "/devices/0/transport/tls/caFile: clientCerts 'required' needs the CA");
  const e2 = t.throws(() => buildConfig(dev({ ...pki.server, allowCn: ['x'], extra: 1 }), {})) as unknown as { details: string[] };
  t.match(e2.details.join('\n'), "/devices/0/transport/tls/allowCn: pinning certificate CNs needs clientCerts 'required'");
  t.match(e2.details.join('\n'), '/devices/0/transport/tls');
  const ok = buildConfig(
    dev({ certFile: path.relative(dir, pki.server.certFile), keyFile: pki.server.keyFile, caFile: pki.caFile, clientCerts: 'optional' }),
    {},
    dir,
  );
  const tr = ok.devices[0].transport;
  t.equal(tr.kind === 'tcp-server' ? tr.tls?.certFile : undefined, pki.server.certFile, 'relative paths resolved against the config folder');
});

t.test('end to end: GE B40 simulator over MLLP/TLS with its client certificate → the gateway decodes and ACKs', async (t) => {
  const port = await freePort();
  const cap = captureLogger();
  const gw = await startGateway(
    buildConfig(
      {
        gatewayId: 'gw-or3',
        site: 's',
        room: 'OR3',
        bed: 'b1',
        mqtt: { url: `mqtt://127.0.0.1:${await freePort()}`, publishIntervalMs: 100 },
        outbox: { kind: 'memory' },
        devices: [
          {
            id: 'b40',
            protocol: 'hl7-mllp',
            watchdogMs: 60_000,
            options: { acceptBeds: ['OR3^^BED1'] },
            transport: {
              kind: 'tcp-server',
              host: '127.0.0.1',
              port,
              allow: ['127.0.0.1'],
              tls: { ...pki.server, caFile: pki.caFile, clientCerts: 'required', allowCn: ['mon-b40'] },
            },
          },
        ],
      },
      {},
    ),
    { logger: cap.logger, mqttBackoff: { baseMs: 50, maxMs: 200 } },
  );
  t.teardown(() => gw.close());
  const mon = new Hl7Monitor({
    style: VENDORS['ge-b40'],
    intervalMs: 100,
    sentinelEvery: 0,
    bed: 'OR3^^BED1',
    physiology: { seed: 3 },
    tls: { ca, ...pem(pki.clients['mon-b40']) },
  });
  const produced: ProducedNumeric[] = [];
  mon.on('produced', (p: ProducedNumeric) => produced.push(p));
  t.teardown(() => mon.close());
  await mon.connect('127.0.0.1', port);
  await until('5 messages acknowledged', () => (mon.stats.acks.AA ?? 0) >= 5, 20_000);
  await until('their values read by the gateway', () => gw.status().batcher.observations >= 10, 10_000);
  t.ok(produced.length >= 10, `${produced.length} values sent, ${gw.status().batcher.observations} observations read`);
  const dev = gw.status().devices.find((d) => d.id === 'b40');
  t.equal(dev?.link, 'streaming');
  t.same(dev?.errorsByKind ?? {}, {}, 'no refusals');
  t.equal(mon.stats.connects, 1);

  const intruder = new Hl7Monitor({ style: VENDORS['ge-b40'], intervalMs: 100, count: 1, tls: { ca } });
  t.teardown(() => intruder.close());
  await intruder.connect('127.0.0.1', port);
  await until(
    'the certificate-less second sender refused',
    () => (gw.status().devices.find((d) => d.id === 'b40')?.errorsByKind['second-sender-refused'] ?? 0) >= 1,
  );
  await intruder.close();
  const acked = mon.stats.acks.AA ?? 0;
  await until('the monitor keeps streaming', () => (mon.stats.acks.AA ?? 0) >= acked + 3);
  t.equal(intruder.stats.acks.AA ?? 0, 0, 'nothing acknowledged to the intruder');
});

t.test('simulator CLI: --tls-ca/--tls-cert/--tls-key for the client role', async (t) => {
  t.match(simArgs(['--client', '127.0.0.1:2575', '--tls-ca', 'ca.pem', '--tls-cert', 'c.pem', '--tls-key', 'k.pem']), {
    tlsCa: 'ca.pem',
    tlsCert: 'c.pem',
    tlsKey: 'k.pem',
  });
  t.throws(() => simArgs(['--server', '2575', '--tls-ca', 'ca.pem']), /need the client role/);
  t.throws(() => simArgs(['--client', '127.0.0.1:2575', '--tls-ca', 'ca.pem', '--tls-cert', 'c.pem']), /--tls-cert and --tls-key go together/);
  t.throws(() => simArgs(['--client', '127.0.0.1:2575', '--tls-cert', 'c.pem', '--tls-key', 'k.pem']), /--tls-cert needs --tls-ca/);
});
