import t from 'tap';
import net from 'node:net';
import { once } from 'node:events';
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
      send: (b) => { dev!.sock.write(b); },
      received: () => Buffer.concat(dev?.rx ?? []),
      hangUp: () => { dev!.sock.destroy(); },
      dispose: async () => { await link.close(); dev?.sock.destroy(); },
    };
  });
});

t.test('a reconnecting device replaces the stale connection; refused hosts counted', async (t) => {
  const link = new TcpServerLink({ kind: 'tcp-server', host: '127.0.0.1', port: 0 });
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
  await until(() => link.counters.replaced === 1);
  b.sock.write('two');
  await until(() => got.join('') === 'onetwo');
  link.write(Buffer.from('ack'));
  await until(() => Buffer.concat(b.rx).toString() === 'ack');
  t.equal(closes.length, 0, 'replacing is not a hang-up');
  await link.close();
  await link.close();
  t.same(closes, [{ byUs: true }]);
  a.sock.destroy();
  b.sock.destroy();

  const strict = new TcpServerLink({ kind: 'tcp-server', host: '127.0.0.1', port: 0, allow: ['10.9.9.9'] });
  await strict.open();
  const c = net.createConnection({ host: '127.0.0.1', port: strict.address()!.port });
  c.on('error', () => {});
  await once(c, 'close');
  t.equal(strict.counters.refused, 1);
  await strict.close();
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
