/**
 * Simulator against the gateway's own session driver on loopback TCP: GE B40 (monitor = client,
 * gateway = tcp-server link, ACK AA per message) and Mindray PDS (UDP discovery on loopback →
 * gateway connects out, heartbeats, receives 204/503, sends no ACK).
 */
import t from 'tap';
import { createSocket } from 'node:dgram';
import type { NumericObs, Observation } from '../../../schemas/src/observation.js';
import { Hl7Session } from '../../../gateway/src/protocols/hl7-mllp/session.js';
import { firstAnnouncement } from '../../../gateway/src/discovery/listener.js';
import { pdsAnnouncements } from '../../../gateway/src/protocols/hl7-mllp/pds-discovery.js';
import { TcpServerLink } from '../../../gateway/src/transports/tcp-server.js';
import { TcpLink } from '../../../gateway/src/transports/tcp.js';
import type { Link } from '../../../gateway/src/transports/link.js';
import type { ProducedNumeric } from '../ge-dri/truth.js';
import { Hl7Monitor } from './simulator.js';
import { VENDORS } from './vendors.js';
import { parseArgs } from './cli.js';

async function until(what: string, cond: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function wire(link: Link, session: Hl7Session, got: Observation[]): () => void {
  session.start({ write: (b) => link.write(b) });
  link.on('data', (d) => got.push(...session.onBytes(d, Date.now())));
  link.on('error', () => {});
  const timer = setInterval(() => session.tick(Date.now()), 50);
  return () => {
    clearInterval(timer);
    session.stop();
  };
}

const key = (o: { mdc: string | null; vendorCode: string; t: number; value: number | null }) => `${o.mdc}|${o.vendorCode}|${o.t}|${o.value}`;

t.test('GE B40 simulator (client) → tcp-server link → session: values, times, AA per message', async (t) => {
  const link = new TcpServerLink({ kind: 'tcp-server', host: '127.0.0.1', port: 0 });
  await link.open();
  const session = new Hl7Session({ profileId: 'auto' });
  const got: Observation[] = [];
  const unwire = wire(link, session, got);
  const mon = new Hl7Monitor({ style: VENDORS['ge-b40'], intervalMs: 200, sentinelEvery: 3, count: 6, physiology: { seed: 7 } });
  const produced: ProducedNumeric[] = [];
  mon.on('produced', (p: ProducedNumeric) => produced.push(p));
  t.teardown(async () => {
    unwire();
    await mon.close();
    await link.close();
  });
  await mon.connect('127.0.0.1', link.address()!.port);
  await until('6 messages acknowledged', () => (mon.stats.acks.AA ?? 0) >= 6);
  const nums = got.filter((o): o is NumericObs => o.kind === 'numeric');
  t.same(nums.filter((o) => o.value !== null).map(key), produced.map(key), 'every produced value decoded, same time');
  t.equal(nums.filter((o) => o.value === null).length, 2, 'two sentinel messages → two absent values');
  t.same(mon.stats.acks, { AA: 6 });
  t.equal(session.decoder().profileId(), 'hl7/ge/b40');
  t.same(session.decoder().stats().errors, {});
});

t.test('Mindray PDS simulator (server) discovered over loopback UDP; gateway heartbeats; no ACKs', async (t) => {
  const probe = createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
  const udpPort = probe.address().port;
  await new Promise<void>((r) => probe.close(() => r()));
  const mon = new Hl7Monitor({ style: VENDORS['mindray-pds'], intervalMs: 200, sentinelEvery: 0, physiology: { seed: 3 } });
  const produced: ProducedNumeric[] = [];
  mon.on('produced', (p: ProducedNumeric) => produced.push(p));
  const found = firstAnnouncement(pdsAnnouncements, { port: udpPort, timeoutMs: 5000 });
  const tcpPort = await mon.listen(0);
  mon.announce(udpPort, tcpPort);
  const ann = await found;
  t.same(ann, { host: '127.0.0.1', port: tcpPort }, 'connect indication parsed from PV1-3');
  const link = new TcpLink({ kind: 'tcp', host: ann!.host, port: ann!.port });
  await link.open();
  const session = new Hl7Session({ profileId: 'hl7/mindray/pds' });
  const got: Observation[] = [];
  const unwire = wire(link, session, got);
  t.teardown(async () => {
    unwire();
    await link.close();
    await mon.close();
  });
  await until('5 messages', () => mon.stats.sent >= 5);
  await until('values decoded', () => got.length >= produced.length && produced.length > 0);
  const seen = new Set(got.map((o) => key(o as NumericObs)));
  t.ok(
    produced.every((p) => seen.has(key(p))),
    'every produced value decoded',
  );
  t.ok(
    produced.some((p) => p.mdc === 'MDC_PRESS_BLD_NONINV_SYS'),
    'NIBP (503) sent',
  );
  t.ok(mon.stats.heartbeats >= 1, 'heartbeats received by the monitor');
  t.same(mon.stats.acks, {}, 'no ACK sent to a PDS monitor');
});

t.test('cli arguments', async (t) => {
  t.same(parseArgs(['hl7-mllp', '--client', '127.0.0.1:2575', '--vendor', 'comen']).client, { host: '127.0.0.1', port: 2575 });
  t.throws(() => parseArgs(['hl7-mllp']), /exactly one/);
  t.throws(() => parseArgs(['hl7-mllp', '--server', '1', '--vendor', 'nope']), /unknown vendor/);
});

t.test('`orlink sim hl7-mllp --client` runs until --count, prints events, gets ACKs', async (t) => {
  const { run } = await import('../main.js');
  const { Writable } = await import('node:stream');
  const link = new TcpServerLink({ kind: 'tcp-server', host: '127.0.0.1', port: 0 });
  await link.open();
  const session = new Hl7Session({});
  const got: Observation[] = [];
  const unwire = wire(link, session, got);
  t.teardown(async () => {
    unwire();
    await link.close();
  });
  let out = '';
  const stdout = new Writable({
    write(c, _e, cb) {
      out += String(c);
      cb();
    },
  });
  const pino = (await import('pino')).default;
  const code = await run(['hl7-mllp', '--client', `127.0.0.1:${link.address()!.port}`, '--vendor', 'comen', '--interval-ms', '100', '--count', '3'], {
    stdout,
    logger: pino({ level: 'silent' }),
  });
  t.equal(code, 0);
  const events = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.same(
    events.map((e) => e.event),
    ['connecting', 'stopped'],
  );
  t.equal(events[1].stats.sent, 3);
  await until('3 messages decoded', () => session.decoder().stats().frames >= 3);
  t.equal(session.decoder().profileId(), 'hl7/comen/c-series');
});
