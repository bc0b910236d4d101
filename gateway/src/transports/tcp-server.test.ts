import t from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { createLogger } from '../log.js';
import { TcpServerLink } from './tcp-server.js';
import { linkSuite } from './link.suite.js';
import { createLink } from './index.js';
import type { DeviceProtocol } from '../protocols/protocol.js';

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function connect(port: number): Promise<{ sock: net.Socket; rx: Buffer[] }> {
  const sock = net.createConnection({ host: '127.0.0.1', port });
  const rx: Buffer[] = [];
  sock.on('data', (d) => rx.push(d));
  sock.on('error', () => {});
  await once(sock, 'connect');
  return { sock, rx };
}

t.test('tcp-server link passes the abstract link suite (device = TCP client)', async (t) => {
  linkSuite(t, async () => {
    const link = new TcpServerLink({ kind: 'tcp-server', host: '127.0.0.1', port: 0 });
    let dev: { sock: net.Socket; rx: Buffer[] } | undefined;
    // The device is a TCP client: it connects as soon as the link listens (open resolves after that).
    const open = link.open.bind(link);
    link.open = async () => {
      await open();
      dev = await connect(link.address()!.port);
      await until(() => link.counters.accepted >= 1);
    };
    return {
      link,
      send: (b) => {
        dev!.sock.write(b);
      },
      received: () => Buffer.concat(dev?.rx ?? []),
      hangUp: () => {
        dev!.sock.destroy();
      },
      dispose: async () => {
        await link.close();
        dev?.sock.destroy();
      },
    };
  });
});

/** A pino logger writing JSON lines into `lines`. */
function captureLogger(): { logger: ReturnType<typeof createLogger>; lines: Record<string, unknown>[]; raw: string[] } {
  const raw: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      raw.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger('info', dest);
  return {
    logger,
    raw,
    get lines() {
      return raw.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
  };
}

t.test('a second sender is refused at once while the first keeps streaming (never evicted)', async (t) => {
  const cap = captureLogger();
  const link = new TcpServerLink({ kind: 'tcp-server', host: '127.0.0.1', port: 0 }, { logger: cap.logger });
  await link.open();
  const port = link.address()!.port;
  const got: string[] = [];
  const closes: unknown[] = [];
  link.on('data', (d) => got.push(d.toString()));
  link.on('close', (c) => closes.push(c));
  link.on('error', () => {});
  const a = await connect(port);
  a.sock.write('one');
  await until(() => got.join('') === 'one');
  const b = await connect(port);
  const bClosed = once(b.sock, 'close');
  b.sock.write('EVIL-VALUE-FROM-B');
  await bClosed;
  t.equal(link.counters.secondSenderRefused, 1, 'second connection refused');
  t.same(link.counts(), { 'second-sender-refused': 1 });
  a.sock.write('two');
  await until(() => got.join('') === 'onetwo');
  link.write(Buffer.from('ack'));
  await until(() => Buffer.concat(a.rx).toString() === 'ack');
  t.equal(Buffer.concat(b.rx).length, 0, 'nothing sent to the refused sender');
  t.notOk(got.join('').includes('EVIL'), 'nothing of the refused connection delivered');
  // a third and fourth try from the same address: counted, logged once a minute
  for (let i = 0; i < 2; i++) {
    const c = await connect(port);
    await once(c.sock, 'close');
  }
  t.equal(link.counters.secondSenderRefused, 3);
  const refusals = cap.lines.filter((l) => l.reason === 'second-sender-refused');
  t.equal(refusals.length, 1, 'throttled: one log line per address and minute');
  t.match(refusals[0], { level: 40, peer: '127.0.0.1', activePeer: '127.0.0.1', msg: /second sender refused/ });
  t.notOk(cap.raw.join('').includes('EVIL'), 'message content never logged');
  a.sock.write('three');
  await until(() => got.join('') === 'onetwothree', 2000);
  t.equal(closes.length, 0, 'the active monitor was never disconnected');
  // the monitor hangs up: the link closes (the session listens again after its backoff)
  a.sock.destroy();
  await until(() => closes.length === 1);
  t.same(closes, [{ byUs: false }]);
  await link.close();
  b.sock.destroy();
});

t.test('allow-list: addresses and CIDR subnets; others refused, counted and logged', async (t) => {
  const cap = captureLogger();
  const strict = new TcpServerLink({ kind: 'tcp-server', host: '127.0.0.1', port: 0, allow: ['10.9.9.9', '192.168.0.0/16'] }, { logger: cap.logger });
  await strict.open();
  const c = net.createConnection({ host: '127.0.0.1', port: strict.address()!.port });
  c.on('error', () => {});
  await once(c, 'close');
  t.equal(strict.counters.refused, 1);
  t.equal(strict.counters.accepted, 0);
  t.same(strict.counts(), { 'sender-not-allowed': 1 });
  t.match(
    cap.lines.find((l) => l.reason === 'sender-not-allowed'),
    { peer: '127.0.0.1', msg: /not in transport.allow/ },
  );
  await strict.close();

  for (const allow of [['127.0.0.1'], ['127.0.0.0/8'], ['10.0.0.1', '127.0.0.1']]) {
    const open = new TcpServerLink({ kind: 'tcp-server', host: '127.0.0.1', port: 0, allow });
    await open.open();
    const got: string[] = [];
    open.on('data', (d) => got.push(d.toString()));
    const d = await connect(open.address()!.port);
    d.sock.write('hi');
    await until(() => got.join('') === 'hi');
    t.equal(open.counters.accepted, 1, `allowed by ${allow.join(',')}`);
    d.sock.destroy();
    await open.close();
  }
  // an entry that is not an address never matches (fails closed, never "any")
  const typo = new TcpServerLink({ kind: 'tcp-server', host: '127.0.0.1', port: 0, allow: ['monitor-3.local'] });
  await typo.open();
  const e = net.createConnection({ host: '127.0.0.1', port: typo.address()!.port });
  e.on('error', () => {});
  await once(e, 'close');
  t.equal(typo.counters.refused, 1, 'host names are not resolved: refused');
  await typo.close();
});

t.test('createLink builds a tcp-server link; busy port → GW_ERR_TRANSPORT_OPEN', async (t) => {
  const blocker = net.createServer();
  blocker.listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  const port = (blocker.address() as net.AddressInfo).port;
  const link = createLink({ kind: 'tcp-server', host: '127.0.0.1', port }, {} as DeviceProtocol);
  t.ok(link instanceof TcpServerLink);
  t.equal(link.description, `tcp-server:127.0.0.1:${port}`);
  await t.rejects(link.open(), { code: 'GW_ERR_TRANSPORT_OPEN' });
  await link.close();
  await new Promise<void>((r) => blocker.close(() => r()));
});
