import t from 'tap';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { TcpLink } from './tcp.js';
import { SerialLink, serialSettings, listSerialPorts, describeSerial } from './serial.js';
import { MemoryLink } from './memory.js';
import { linkSuite } from './link.suite.js';

const defaults = { baudRate: 19200, dataBits: 8 as const, parity: 'even' as const, stopBits: 1 as const, rtscts: true };

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

t.test('tcp link', async (t) => {
  linkSuite(t, async () => {
    let peer: net.Socket | undefined;
    const rx: Buffer[] = [];
    const server = net.createServer((s) => {
      peer = s;
      s.on('data', (d) => rx.push(d));
      s.on('error', () => {});
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const link = new TcpLink({ kind: 'tcp', host: '127.0.0.1', port: (server.address() as net.AddressInfo).port });
    return {
      link,
      send: (b) => {
        void until(() => !!peer).then(() => peer!.write(b));
      },
      received: () => Buffer.concat(rx),
      hangUp: () => {
        void until(() => !!peer).then(() => peer!.destroy());
      },
      dispose: async () => {
        await link.close();
        peer?.destroy();
        await new Promise<void>((r) => server.close(() => r()));
      },
    };
  });
});

t.test('memory link double', async (t) => {
  linkSuite(t, async () => {
    const link = new MemoryLink('suite');
    return {
      link,
      send: (b) => link.deviceSend(b),
      received: () => Buffer.concat(link.written),
      hangUp: () => link.drop(),
      dispose: () => link.close(),
    };
  });
});

t.test('serial link over a socat pty pair', async (t) => {
  const socat = spawn('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => {
    socat.kill();
  });
  let err = '';
  socat.stderr.on('data', (d) => {
    err += d;
  });
  socat.on('error', () => {});
  try {
    await until(() => /starting data transfer/.test(err));
  } catch {
    t.comment('socat not available: serial suite not run');
    return;
  }
  const [a, b] = [...err.matchAll(/PTY is (\S+)/g)].map((m) => m[1]);
  linkSuite(t, async () => {
    const mk = (p: string) => new SerialLink(serialSettings({ kind: 'serial', path: p, rtscts: false }, defaults));
    const link = mk(a);
    const device = mk(b);
    await device.open();
    const rx: Buffer[] = [];
    device.on('data', (d) => rx.push(d));
    return {
      link,
      send: (buf) => device.write(buf),
      received: () => Buffer.concat(rx),
      dispose: async () => {
        await link.close();
        await device.close();
      },
    };
  });
});

t.test('tcp: refused connect is a transient open error', async (t) => {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  await t.rejects(new TcpLink({ kind: 'tcp', host: '127.0.0.1', port }).open(), { code: 'GW_ERR_TRANSPORT_OPEN', kind: 'transient' });
});

t.test('serial settings fall back to the protocol defaults', async (t) => {
  const s = serialSettings({ kind: 'serial', path: '/dev/x', baudRate: 9600 }, defaults);
  t.same(s, { path: '/dev/x', baudRate: 9600, dataBits: 8, parity: 'even', stopBits: 1, rtscts: true });
  t.equal(describeSerial(s), 'serial:/dev/x@9600-8E1-rtscts');
  t.ok(Array.isArray(await listSerialPorts()), 'list never throws for missing udev');
});

t.test('serial: missing port is a transient open error', async (t) => {
  const link = new SerialLink(serialSettings({ kind: 'serial', path: '/dev/does-not-exist-orlink' }, defaults));
  await t.rejects(link.open(), { code: 'GW_ERR_TRANSPORT_OPEN' });
});

t.test('memory double: failing opens', async (t) => {
  const link = new MemoryLink('m');
  link.failOpens = 1;
  await t.rejects(link.open(), { code: 'GW_ERR_TRANSPORT_OPEN' });
  await link.open();
  t.equal(link.opens, 2);
});
