/** `orlink mqtt-auth` writes accounts only for active gateways: retired and revoked ones are omitted (not "skipped"). */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { openDb } from '../ingest/src/registry/database.js';
import { SqliteRegistry } from '../ingest/src/registry/sqlite-registry.js';
import { run } from './mqtt-auth.js';

t.test('retired and revoked gateways get no Mosquitto account; a rotated one keeps its account with the new hash', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-mqtt-auth-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'ingest.sqlite');
  const db = openDb(file);
  const r = new SqliteRegistry(db);
  r.createSite({ id: 's', name: 'S' });
  r.createRoom({ id: 'r', siteId: 's', name: 'R' });
  r.createBed({ id: 'b', roomId: 'r', name: 'B' });
  for (const id of ['active', 'retired', 'revoked', 'rotated']) await r.createGateway({ id, bedId: 'b', password: `${id}-password` });
  r.retireGateway('retired', 'replaced');
  r.revokeGatewayPassword('revoked');
  const before = r.listMqttCredentials().find((c) => c.location.gatewayId === 'rotated')?.mosquittoHash;
  await r.setGatewayPassword('rotated', 'rotated-password-2');
  db.close();

  const out = path.join(dir, 'auth');
  mkdirSync(out);
  const stderr: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => {
    stderr.push(String(s));
    return true;
  }) as typeof process.stderr.write;
  let code: number;
  try {
    code = await run(['--db', file, '--out', out], { ORLINK_INGEST_BROKER_PASSWORD: 'svc', ORLINK_RECORD_BROKER_PASSWORD: 'rec' });
  } finally {
    process.stderr.write = write;
  }
  t.equal(code, 0, 'nothing skipped: omitting a retired or revoked gateway is not an error');
  const users = readFileSync(path.join(out, 'passwd'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(':')[0]);
  t.same(users, ['orlink-ingest', 'orlink-record', 'active', 'rotated']);
  const acl = readFileSync(path.join(out, 'acl'), 'utf8');
  t.notMatch(acl, /user retired|user revoked/);
  const rotatedLine = readFileSync(path.join(out, 'passwd'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('rotated:'));
  t.not(rotatedLine?.slice('rotated:'.length), before, 'the rotated gateway has its new hash');
  t.notMatch(stderr.join(''), /skipped/);
  const conf = readFileSync(path.join(out, 'mosquitto.conf'), 'utf8');
  t.match(conf, `password_file ${path.join(out, 'passwd-clients')}`, 'the snippet names the per-listener files by absolute path');
  t.match(conf, 'max_packet_size 1048576', 'the default broker.limits.maxPacketBytes');
  t.same(
    readFileSync(path.join(out, 'passwd-clients'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(':')[0]),
    ['orlink-record', 'active', 'rotated'],
  );
});

t.test('TLS arguments: unreadable files, missing key or CA are refused before anything is written', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-mqtt-auth-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'ingest.sqlite');
  openDb(file).close();
  const pem = path.join(dir, 'x.pem');
  writeFileSync(pem, 'not checked here: Mosquitto parses it\n');
  const out = path.join(dir, 'auth');
  mkdirSync(out);
  const env = { ORLINK_INGEST_BROKER_PASSWORD: 'svc' };
  const cases: [string[], RegExp][] = [
    [['--tls-cert', path.join(dir, 'missing.pem'), '--tls-key', pem], /--tls-cert: cannot read .*missing\.pem: ENOENT/],
    [['--tls-cert', pem], /--tls-cert needs --tls-key/],
    [['--tls-ca', pem], /--tls-ca needs --tls-cert and --tls-key/],
    [['--tls-cert', pem, '--tls-key', pem, '--mtls-port', '8884'], /--mtls-port needs --tls-ca/],
    [['--tls-cert', pem, '--tls-key', pem, '--tls-ca', pem, '--listener', '1883@0.0.0.0'], /plain clients listener must bind to loopback/],
  ];
  for (const [args, re] of cases) {
    const stderr: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => {
      stderr.push(String(s));
      return true;
    }) as typeof process.stderr.write;
    let code: number;
    try {
      code = await run(['--db', file, '--out', out, ...args], env);
    } finally {
      process.stderr.write = write;
    }
    t.equal(code, 1, args.join(' '));
    t.match(stderr.join(''), re);
  }
  t.same(readdirSync(out), [], 'nothing written');
  const stdout: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => {
    stdout.push(String(s));
    return true;
  }) as typeof process.stdout.write;
  let code: number;
  try {
    code = await run(['--db', file, '--out', out, '--tls-cert', pem, '--tls-key', pem, '--tls-ca', pem, '--mtls-port', 'off'], env);
  } finally {
    process.stdout.write = write;
  }
  t.equal(code, 0);
  const conf = readFileSync(path.join(out, 'mosquitto.conf'), 'utf8');
  t.match(conf, 'listener 1883 127.0.0.1\n');
  t.match(conf, `listener 8883\ncertfile ${pem}\nkeyfile ${pem}\n`);
  t.notMatch(conf, /require_certificate/, '--mtls-port off: no mTLS listener');
});
