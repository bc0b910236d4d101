import dgram from 'node:dgram';
import t from 'tap';
import { linkSuite } from './link.suite.js';
import { UdpLink } from './udp.js';
import { createLink } from './index.js';
import { philipsIntelliVue } from '../protocols/philips-intellivue/index.js';

async function device(): Promise<{ sock: dgram.Socket; port: number; rx: Buffer[]; peer?: dgram.RemoteInfo }> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const d: { sock: dgram.Socket; port: number; rx: Buffer[]; peer?: dgram.RemoteInfo } = { sock, port: sock.address().port, rx: [] };
  sock.on('message', (m, r) => {
    d.rx.push(m);
    d.peer = r;
  });
  return d;
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timeout');
    await new Promise((r) => setTimeout(r, 5));
  }
}

t.test('udp link passes the link suite', async (t) => {
  linkSuite(t, async () => {
    const d = await device();
    const link = new UdpLink({ host: '127.0.0.1', port: d.port });
    return {
      link,
      send: (b) => {
        void until(() => link.localPort() !== undefined).then(() => d.sock.send(b, link.localPort()!, '127.0.0.1'));
      },
      received: () => Buffer.concat(d.rx),
      dispose: async () => {
        await link.close();
        await new Promise<void>((r) => d.sock.close(() => r()));
      },
    };
  });
});

t.test('one datagram = one data chunk; foreign senders dropped; factory builds it', async (t) => {
  const d = await device();
  t.teardown(() => d.sock.close());
  const link = createLink({ kind: 'intellivue-lan', host: '127.0.0.1', port: d.port }, philipsIntelliVue) as UdpLink;
  t.ok(link instanceof UdpLink);
  await link.open();
  t.teardown(() => link.close());
  const chunks: Buffer[] = [];
  link.on('data', (c) => chunks.push(c));
  link.write(Buffer.from([1, 2, 3]));
  await until(() => d.rx.length === 1);
  const a = Buffer.alloc(1400, 0xaa);
  const b = Buffer.alloc(900, 0xbb);
  d.sock.send(a, d.peer!.port, '127.0.0.1');
  d.sock.send(b, d.peer!.port, '127.0.0.1');
  await until(() => chunks.length === 2);
  t.same(
    chunks.map((c) => c.length),
    [1400, 900],
  );
  const other = dgram.createSocket('udp4');
  await new Promise<void>((r) => other.bind(0, '127.0.0.2', () => r()));
  t.teardown(() => other.close());
  other.send(Buffer.from([9]), link.localPort()!, '127.0.0.1');
  await until(() => link.foreign === 1);
  d.sock.send(Buffer.from([7]), d.peer!.port, '127.0.0.1');
  await until(() => chunks.length === 3);
  t.same([...chunks[2]], [7], 'a datagram from another address is dropped, the device still gets through');
  t.equal(link.description, `udp:127.0.0.1:${d.port}`);
});
