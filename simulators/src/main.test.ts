// `orlink sim ge-dri` end to end with the real clock: over TCP and over a socat pty pair, the
// process announces where to connect, stays silent until a request, answers a PHDB request with a
// framed 1152-byte record, records the truth, and stops cleanly on abort. Also usage errors.
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough, type Duplex } from 'node:stream';
import { execFileSync } from 'node:child_process';
import { run } from './main.js';
import { parseSimArgs } from './cli-args.js';
import { TestHost } from './ge-dri/test-host.js';
import { openSerialLink, closeSerialLink } from './link/serial-link.js';
import pino from 'pino';

const hasSocat = (() => {
  try {
    execFileSync('socat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Start run() in-process; resolves the first stdout JSON event and the run promise. */
function start(argv: string[]) {
  const stdout = new PassThrough();
  const ac = new AbortController();
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  const first = new Promise<Record<string, unknown>>((resolve) => {
    stdout.on('data', (c: Buffer) => {
      buf += c.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const l = JSON.parse(buf.slice(0, i)) as Record<string, unknown>;
        buf = buf.slice(i + 1);
        lines.push(l);
        if (lines.length === 1) resolve(l);
      }
    });
  });
  const done = run(argv, { stdout, signal: ac.signal, logger: pino({ level: 'silent' }) });
  return { first, done, stop: () => ac.abort(), lines };
}

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met before the deadline');
    await new Promise((r) => setTimeout(r, 20)); // polling with a deadline
  }
}

t.test('usage errors are reported together; help', async (t) => {
  t.throws(() => parseSimArgs(['ge-dri', '--seed', 'x', '--fault', 'nope']), /--seed needs an integer; unknown fault 'nope'.*exactly one of/);
  t.throws(() => parseSimArgs(['philips', '--pty']), /unknown simulator/);
  t.match(parseSimArgs(['ge-dri', '--tcp', '127.0.0.1:0', '--fault', 'garbage,checksum', '--clock-offset-ms', '-5000']), {
    link: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    faults: ['garbage', 'checksum'],
    clockOffsetMs: -5000,
  });
  const out = new PassThrough();
  t.equal(await run(['--help'], { stdout: out }), 0);
  t.match(out.read()?.toString(), /usage: orlink sim <[^>]*\bge-dri\b/);
  const out2 = new PassThrough();
  t.equal(await run(['ge-dri', '--help'], { stdout: out2 }), 0);
  t.match(out2.read()?.toString(), /usage: orlink sim ge-dri/);
});

t.test('over TCP: silent, then PHDB records; truth recorded; clean stop', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orlink-sim-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const truthFile = join(dir, 'truth.ndjson');
  const s = start(['ge-dri', '--tcp', '127.0.0.1:0', '--seed', '3', '--record-truth', truthFile]);
  const ev = await s.first;
  t.equal(ev.event, 'listening');
  const sock = connect(ev.port as number, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const host = new TestHost(sock as Duplex);
  host.requestPhdb(1);
  await until(() => host.phdbRecords().length >= 2, 5000);
  t.equal(host.phdbRecords()[0]!.len, 1152);
  sock.destroy();
  s.stop();
  t.equal(await s.done, 0, 'exit code 0');
  t.equal(s.lines.at(-1)!.event, 'stopped');
  const truth = readFileSync(truthFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind: string; mdc: string; t: number });
  t.ok(truth.length > 20, `${truth.length} truth lines`);
  t.ok(truth.every((r) => r.kind === 'numeric' && typeof r.mdc === 'string' && r.t % 1000 === 0));
});

t.test('over a socat pty pair: prints hostPath, serves the gateway side', { skip: hasSocat ? false : 'socat not installed' }, async (t) => {
  const s = start(['ge-dri', '--pty', '--clock-offset-ms', '2000']);
  const ev = await s.first;
  t.equal(ev.event, 'listening');
  t.type(ev.hostPath, 'string');
  const port = await openSerialLink(ev.hostPath as string);
  const host = new TestHost(port);
  host.requestWaves([8]); // PLETH 100/s → one record per second
  await until(() => host.waveRecords().length >= 1, 5000);
  t.equal(host.waveRecords()[0]!.len, 40 + 6 + 200, 'PLETH: 100 samples per 1 s record');
  await closeSerialLink(port);
  s.stop();
  t.equal(await s.done, 0);
});

const RAW = resolve(import.meta.dirname, '../../../shared/captures/ge-datex-dri/ge_dri2009_pycollect_raw.raw');
t.test('--replay a real capture over TCP; bad capture → exit 1', { skip: existsSync(RAW) ? false : 'capture not found' }, async (t) => {
  const s = start(['ge-dri', '--tcp', '127.0.0.1:0', '--replay', RAW]);
  const ev = await s.first;
  const sock = connect(ev.port as number, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const host = new TestHost(sock as Duplex);
  host.requestPhdb(5);
  await until(() => host.records.length >= 1, 5000);
  t.equal(host.records[0]!.driLevel, 10, 'the capture is DRI level 10');
  sock.destroy();
  s.stop();
  t.equal(await s.done, 0);
  const bad = start(['ge-dri', '--tcp', '127.0.0.1:0', '--replay', '/nonexistent.raw']);
  t.equal(await bad.done, 1);
});
