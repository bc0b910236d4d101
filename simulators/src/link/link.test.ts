// Links: a socat pty pair carries bytes both ways (serialport on each end) and survives the host
// closing and reopening its end; the TCP server serves one client at a time; the in-memory pair.
import t from 'tap';
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { execFileSync } from 'node:child_process';
import { openPtyPair, openSerialLink, closeSerialLink, TcpDeviceServer, memoryLinkPair } from './index.js';
import type { Duplex } from 'node:stream';

const hasSocat = (() => {
  try {
    execFileSync('socat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Resolve with the first `n` bytes that arrive on `s` (deadline, never a sleep). */
function readBytes(s: Duplex, n: number, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => {
      s.off('data', on);
      reject(new Error(`timeout: ${got}/${n} bytes`));
    }, timeoutMs);
    const on = (c: Buffer): void => {
      chunks.push(c);
      got += c.length;
      if (got >= n) {
        clearTimeout(timer);
        s.off('data', on);
        resolve(Buffer.concat(chunks).subarray(0, n));
      }
    };
    s.on('data', on);
  });
}

t.test('pty pair through socat: bytes both ways, host reopen', { skip: hasSocat ? false : 'socat not installed' }, async (t) => {
  const pair = await openPtyPair();
  t.teardown(() => pair.close());
  t.ok(existsSync(pair.devicePath) && existsSync(pair.hostPath), 'both links exist');
  const dev = await openSerialLink(pair.devicePath);
  t.teardown(() => closeSerialLink(dev));
  let host = await openSerialLink(pair.hostPath);
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i)); // every byte value, raw mode
  const toHost = readBytes(host, 256);
  dev.write(all);
  t.same(await toHost, all, 'device → host, all 256 byte values unchanged');
  const toDev = readBytes(dev, 5);
  host.write(Buffer.from([0x7e, 0x11, 0x13, 0x0d, 0x0a]));
  t.same(await toDev, Buffer.from([0x7e, 0x11, 0x13, 0x0d, 0x0a]), 'host → device (XON/XOFF/CR/LF untouched)');
  await closeSerialLink(host);
  host = await openSerialLink(pair.hostPath);
  t.teardown(() => closeSerialLink(host));
  const again = readBytes(host, 3);
  dev.write(Buffer.from([1, 2, 3]));
  t.same(await again, Buffer.from([1, 2, 3]), 'the pair still works after the host reopened its end');
  await pair.close();
  await pair.close();
  t.notOk(existsSync(pair.hostPath), 'close removed the links (idempotent)');
});

t.test('openPtyPair fails cleanly without socat', async (t) => {
  await t.rejects(openPtyPair({ socatPath: '/nonexistent/socat', timeoutMs: 2000 }), { code: 'SIM_ERR_LINK_OPEN' });
});

t.test('TCP server: one client at a time, loopback, free port', async (t) => {
  const server = new TcpDeviceServer('127.0.0.1', 0);
  const addr = await server.listen();
  t.teardown(() => server.close());
  t.equal(addr.host, '127.0.0.1');
  t.ok(addr.port > 0);
  const gotClient = new Promise<Socket>((r) => server.once('client', r));
  const c1 = connect(addr.port, '127.0.0.1');
  t.teardown(() => {
    c1.destroy();
  });
  const s1 = await gotClient;
  const echo = readBytes(c1, 2);
  s1.write(Buffer.from([9, 8]));
  t.same(await echo, Buffer.from([9, 8]));
  const c2 = connect(addr.port, '127.0.0.1');
  await new Promise((r) => c2.once('close', r));
  t.equal(server.refused, 1, 'a second client is refused while the first is connected');
  const closed = new Promise((r) => server.once('client-closed', r));
  c1.destroy();
  await closed;
  const again = new Promise<Socket>((r) => server.once('client', r));
  const c3 = connect(addr.port, '127.0.0.1');
  t.teardown(() => {
    c3.destroy();
  });
  await again;
  t.equal(server.accepted, 2, 'the next client is served after the first left');
  await server.close();
  await server.close();
});

t.test('memory link pair', async (t) => {
  const { device, host } = memoryLinkPair();
  const got = readBytes(host, 3);
  device.write(Buffer.from([1, 2, 3]));
  t.same(await got, Buffer.from([1, 2, 3]));
  const closed = new Promise((r) => host.once('close', r));
  device.destroy();
  await closed;
  t.pass('destroying one end closes the other');
});
