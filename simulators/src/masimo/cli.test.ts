// `orlink sim masimo|nonin` with the real clock over loopback TCP: announce, stream, record the
// truth, answer the Nonin select-format command, stop on abort; usage errors all at once.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { run } from '../main.js';
import { parseOxiArgs } from './oximeter-cli.js';
import { MasimoStreamDecoder } from '../../../gateway/src/protocols/masimo/index.js';
import { encodeSelectFormat, ACK } from '../../../gateway/src/protocols/nonin/index.js';
import { openPtyPair } from '../link/pty.js';
import { closeSerialLink, openSerialLink } from '../link/serial-link.js';

function start(argv: string[]) {
  const stdout = new PassThrough();
  const ac = new AbortController();
  const events: Record<string, unknown>[] = [];
  let buf = '';
  stdout.on('data', (c: Buffer) => {
    buf += c.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      events.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
      buf = buf.slice(i + 1);
    }
  });
  const done = run(argv, { stdout, signal: ac.signal, logger: pino({ level: 'silent' }) });
  return { done, stop: () => ac.abort(), events };
}

async function until(cond: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met before the deadline');
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('masimo over TCP: lines decode with the gateway decoder; truth recorded', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orlink-sim-masimo-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const truthFile = join(dir, 'truth.ndjson');
  const s = start(['masimo', '--model', 'rad8', '--tcp', '127.0.0.1:0', '--record-truth', truthFile, '--synthetic-numerics']);
  await until(() => s.events.length > 0);
  const ev = s.events[0];
  t.equal(ev.event, 'listening');
  const sock: Socket = connect(Number(ev.port), '127.0.0.1');
  const dec = new MasimoStreamDecoder();
  sock.on('data', (c: Buffer) => dec.push(c));
  await until(() => dec.stats().frames >= 2);
  sock.destroy();
  s.stop();
  t.equal(await s.done, 0);
  t.equal(dec.identity()?.model, 'Rad-8');
  t.same(dec.stats().errors, {});
  const truth = readFileSync(truthFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { vendorCode: string });
  t.ok(
    truth.some((r) => r.vendorCode === 'SPO2'),
    'truth file has SpO2',
  );
  t.equal(s.events.at(-1)?.event, 'stopped');
});

t.test('nonin over TCP: answers select-format with ACK and switches to #8', async (t) => {
  const s = start(['nonin', '--format', '2', '--tcp', '127.0.0.1:0', '--synthetic-numerics']);
  await until(() => s.events.length > 0);
  const sock: Socket = connect(Number(s.events[0].port), '127.0.0.1');
  const rx: Buffer[] = [];
  sock.on('data', (c: Buffer) => rx.push(c));
  await until(() => Buffer.concat(rx).length > 200);
  const before = Buffer.concat(rx).length;
  sock.write(encodeSelectFormat(8));
  await until(() => Buffer.concat(rx).subarray(before).includes(ACK));
  sock.destroy();
  s.stop();
  t.equal(await s.done, 0);
  t.pass('ACK received');
});

t.test('masimo on --serial PATH (the device end of a pty pair), read at 9600 8N1', async (t) => {
  const pair = await openPtyPair();
  t.teardown(() => pair.close());
  const s = start(['masimo', '--model', 'radical5', '--serial', pair.devicePath, '--synthetic-numerics']);
  await until(() => s.events.length > 0);
  t.same(s.events[0], { event: 'listening', protocol: 'masimo', devicePath: pair.devicePath });
  const host = await openSerialLink(pair.hostPath, { baudRate: 9600, parity: 'none' });
  const dec = new MasimoStreamDecoder();
  host.on('data', (c: Buffer) => dec.push(c));
  await until(() => dec.stats().frames >= 1);
  await closeSerialLink(host);
  s.stop();
  t.equal(await s.done, 0);
  t.equal(dec.identity()?.model, 'Radical-5');
});

t.test('usage errors are reported together; help', async (t) => {
  const spec = { name: 'masimo', deviceFlag: '--model' as const, deviceValues: ['rad8'], faults: ['garbage'] };
  t.throws(
    () => parseOxiArgs(['masimo', '--model', 'x', '--fault', 'bogus', '--seed', 'q'], spec),
    /must be one of.*unknown fault 'bogus'.*--seed needs an integer.*exactly one of/,
  );
  t.same(parseOxiArgs(['masimo', '--tcp', ':9', '--fault', 'garbage'], spec).link, { kind: 'tcp', host: '127.0.0.1', port: 9 });
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => {
    text += c.toString();
  });
  t.equal(await run(['nonin', '--help'], { stdout: out }), 0);
  t.match(text, /--format 2\|7\|8/);
});
