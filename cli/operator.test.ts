/**
 * The operator's CLI (issue "Biomedical engineers first"): `orlink --version`, `orlink ports`,
 * `mqtt-auth` refusing a missing database, `orlink gateway --test` against the GE DRI simulator,
 * `orlink decode` streamed with progress. Messages and exit codes of the real binary where it matters.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { encodePhdbRecord, frameRecord } from '../gateway/src/protocols/ge-dri/index.js';
import { loadProtocol } from '../gateway/src/protocols/registry.js';
import { GeDriSimulator, TcpDeviceServer } from '../simulators/src/index.js';
import { buildConfig } from '../gateway/src/config.js';
import { decodeCapture } from './decode.js';
import { decodeStream, Progress } from './decode-stream.js';
import { formatPorts } from './ports.js';
import { testGateway } from './gateway-test.js';
import { writeConfigCache } from '../gateway/src/config-sync/config-cache.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'bin/orlink.js');

function orlink(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, ms = 60_000): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    }),
  );
}

function tmp(t: Test): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'orlink-operator-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

t.test('orlink --version: the package version, exit 0', async (t) => {
  const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const r = await orlink(['--version'], ROOT);
  t.equal(r.code, 0);
  t.match(r.stdout, new RegExp(`^orlink ${version.replace(/\./g, '\\.')} \\(node v\\d+`));
});

t.test('orlink ports: a table or the reason there is none; --json is an array; USB ids shown', async (t) => {
  const r = await orlink(['ports'], ROOT);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^(PATH\s+USB ID\s+MANUFACTURER\s+SERIAL\s+STABLE NAME\n|no serial ports found)/);
  const j = await orlink(['ports', '--json'], ROOT);
  t.equal(j.code, 0);
  t.ok(Array.isArray(JSON.parse(j.stdout)));
  const bad = await orlink(['ports', '--bogus'], ROOT);
  t.equal(bad.code, 2);
  const table = formatPorts([
    {
      path: '/dev/ttyUSB0',
      vendorId: '0403',
      productId: '6001',
      manufacturer: 'FTDI',
      serialNumber: 'FT12AB',
      byId: '/dev/serial/by-id/usb-FTDI_FT12AB-if00-port0',
    },
    { path: '/dev/ttyS0' },
  ]);
  t.match(table, /\/dev\/ttyUSB0\s+0403:6001\s+FTDI\s+FT12AB\s+\/dev\/serial\/by-id\/usb-FTDI_FT12AB-if00-port0\n/);
  t.match(table, /\/dev\/ttyS0\s+-\s+-\s+-\s+-\n/);
});

t.test('mqtt-auth with a mistyped --db (or a config whose db.path is missing): exit 2, no database created, nothing written', async (t) => {
  const d = tmp(t);
  const out = path.join(d, 'auth');
  mkdirSync(out);
  const env = { ORLINK_INGEST_BROKER_PASSWORD: 'svc-password' };
  const r = await orlink(['mqtt-auth', '--db', 'data/ingset.sqlite', '--out', out], d, env);
  t.equal(r.code, 2);
  t.match(r.stderr, `database ${path.join(d, 'data/ingset.sqlite')} not found`);
  t.match(r.stderr, 'give the ingest database');
  t.notOk(existsSync(path.join(d, 'data/ingset.sqlite')), 'no empty registry created');
  t.same(readdirSync(out), [], 'no passwd/acl that would lock every gateway out');
  writeFileSync(path.join(d, 'ingest.yaml'), 'db:\n  path: ./nowhere/ingest.sqlite\n');
  const c = await orlink(['mqtt-auth', '--config', 'ingest.yaml', '--out', out], d, env);
  t.equal(c.code, 2);
  t.match(c.stderr, `database ${path.join(d, 'nowhere/ingest.sqlite')} not found (db.path of ingest.yaml`);
  t.same(readdirSync(out), []);
});

t.test('gateway --test: the simulator answers (identity, readings, exit 0); a dead port fails with the reason (exit 1)', async (t) => {
  const sim = new GeDriSimulator({ seed: 3 });
  const dev = new TcpDeviceServer('127.0.0.1', 0);
  const { port } = await dev.listen();
  dev.on('client', (sock: net.Socket) => sim.attach(sock));
  sim.start();
  const dead = net.createServer().listen(0, '127.0.0.1');
  await once(dead, 'listening');
  const deadPort = (dead.address() as net.AddressInfo).port;
  await new Promise<void>((r) => dead.close(() => r()));
  t.teardown(async () => {
    await sim.close();
    await dev.close();
  });
  const cfg = (devices: unknown[]) => buildConfig({ gatewayId: 'gw1', site: 's', room: 'r', bed: 'b', outbox: { kind: 'memory' }, devices }, {});
  let out = '';
  const io = {
    out: (s: string) => {
      out += s;
    },
    err: (s: string) => {
      out += s;
    },
  };
  const ok = await testGateway(
    cfg([{ id: 'mon1', protocol: 'ge-dri', transport: { kind: 'tcp', host: '127.0.0.1', port }, options: { intervalS: 1 } }]),
    { readMs: 30_000, maxReadings: 3 },
    io,
  );
  t.equal(ok, 0, out);
  t.match(out, `OK   mon1 (ge-dri, tcp:127.0.0.1:${port})`);
  t.match(out, /frames [1-9]\d*; errors: /);
  t.match(out, /^ {5}\S.* = /m, 'decoded readings printed');
  t.match(out, 'all 1 device(s) answered');
  out = '';
  const bad = await testGateway(
    cfg([{ id: 'mon2', protocol: 'ge-dri', transport: { kind: 'tcp', host: '127.0.0.1', port: deadPort } }]),
    { readMs: 2_000, maxReadings: 3, openTimeoutMs: 5_000 },
    io,
  );
  t.equal(bad, 1);
  t.match(out, `FAIL mon2 (ge-dri, tcp:127.0.0.1:${deadPort})`);
  t.match(out, /ECONNREFUSED|refused/);
  t.match(out, '1 of 1 device(s) failed');

  // a gateway configured from the registry: --test runs the devices of its cached config document
  const d = tmp(t);
  const reg = buildConfig({ gatewayId: 'gw1', site: 's', room: 'r', bed: 'b', outbox: { kind: 'file', dir: path.join(d, 'outbox') } }, {});
  out = '';
  t.equal(await testGateway(reg, { readMs: 2_000, maxReadings: 3 }, io), 1, 'no copy of the registry config yet: exit 1');
  t.match(out, 'takes its devices from the registry and has no usable copy yet');
  await writeConfigCache(path.join(d, 'outbox', 'registry-config.json'), {
    schema: 1,
    version: 4,
    issuedAt: Date.now(),
    gatewayId: 'gw1',
    devices: [...cfg([{ id: 'mon1', protocol: 'ge-dri', transport: { kind: 'tcp', host: '127.0.0.1', port }, options: { intervalS: 1 } }]).devices],
  });
  out = '';
  t.equal(await testGateway(reg, { readMs: 30_000, maxReadings: 3 }, io), 0, out);
  t.match(out, "devices from the registry's config version 4");
  t.match(out, `OK   mon1 (ge-dri, tcp:127.0.0.1:${port})`);
});

t.test('gateway --test from the CLI: a config error is exit 2, a missing serial port lists the ports (exit 1)', async (t) => {
  const d = tmp(t);
  writeFileSync(
    path.join(d, 'gw.yaml'),
    [
      'gatewayId: gw1',
      'site: s',
      'room: r',
      'bed: b',
      'outbox: { kind: memory }',
      'devices:',
      '  - { id: mon1, protocol: ge-dri, transport: { kind: serial, path: /dev/ttyORLINK-none-3 } }',
      '',
    ].join('\n'),
  );
  const r = await orlink(['gateway', '--config', 'gw.yaml', '--test', '--seconds', '2'], d);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stdout, 'FAIL mon1 (ge-dri, serial:/dev/ttyORLINK-none-3@');
  t.match(r.stdout, 'port /dev/ttyORLINK-none-3 not found; ports present: ');
  writeFileSync(
    path.join(d, 'bad.yaml'),
    'gatewayId: gw1\nsite: s\nroom: r\nbed: b\ndevices: [{ id: m, protocol: nope, transport: { kind: tcp, host: h, port: 1 } }]\n',
  );
  const b = await orlink(['gateway', '--config', 'bad.yaml', '--test'], d);
  t.equal(b.code, 2);
  t.match(b.stderr, "unknown protocol 'nope'");
});

t.test('decode streams: same output as the whole-buffer decode at any chunking; progress lines for big inputs', async (t) => {
  const frames = Buffer.concat(
    Array.from({ length: 40 }, (_, i) =>
      frameRecord(encodePhdbRecord({ time: 1_700_000_000 + 5 * i, classes: { basic: { spo2: { fields: { spo2: 9500 + i, pr: 60 + i } } } } })),
    ),
  );
  const proto = (await loadProtocol('ge-dri'))!;
  const whole: unknown[] = [];
  const expected = decodeCapture(proto.createDecoder({ timeBase: 'device' }), frames, 'raw', (o) => whole.push(o));
  const hexlog = Buffer.from(
    Array.from({ length: Math.ceil(frames.length / 37) }, (_, i) => `RX ${frames.subarray(i * 37, (i + 1) * 37).toString('hex')}\n`).join(''),
  );
  for (const [input, fmt] of [
    [frames, 'raw'],
    [hexlog, 'hexlog'],
  ] as const) {
    for (const size of [1, 7, 4096]) {
      const got: unknown[] = [];
      async function* chunks() {
        for (let i = 0; i < input.length; i += size) yield input.subarray(i, i + size);
      }
      const lines: string[] = [];
      let now = 0;
      const progress = new Progress({ total: input.length, write: (l) => lines.push(l), everyMs: 1000, now: () => (now += 10) });
      const summary = await decodeStream(proto.createDecoder({ timeBase: 'device' }), chunks(), undefined, (o) => got.push(o), { progress });
      t.same(got, whole, `${fmt} in chunks of ${size}: the same observations`);
      t.same({ ...summary, format: undefined, badHexlogLines: undefined }, { ...expected, format: undefined, badHexlogLines: undefined }, 'the same summary');
      t.equal(summary.format, fmt, 'format detected');
      t.match(lines.at(-1), /^orlink decode: 100% \(\d+\.\d of \d+\.\d MiB\) read, \d+ observations\n$/);
      if (size === 1) t.ok(lines.length > 2, 'several progress lines on a long read');
    }
  }
  const d = tmp(t);
  writeFileSync(path.join(d, 'cap.bin'), frames);
  const r = await orlink(['decode', '--protocol', 'ge-dri', '--input', 'cap.bin', '--progress'], d);
  t.equal(r.code, 0, r.stderr);
  const err = r.stderr.trim().split('\n');
  t.match(err[0], /^orlink decode: 100% /);
  t.ok(JSON.parse(err.at(-1)!).summary, 'the summary stays the last line');
  t.equal(r.stdout.trim().split('\n').length, whole.length);
});
