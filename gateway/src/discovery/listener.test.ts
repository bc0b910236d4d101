import dgram from 'node:dgram';
import t from 'tap';
import { hl7Mllp } from '../protocols/hl7-mllp/index.js';
import { mllpWrap } from '../protocols/hl7-mllp/mllp.js';
import { pdsAnnouncements } from '../protocols/hl7-mllp/pds-discovery.js';
import type { DiscoverySpec } from '../protocols/protocol.js';
import { DiscoveryListener, firstAnnouncement } from './listener.js';

const PDS = mllpWrap('MSH|^~\\&|||||||ADT^A01|101|P|2.3.1\rPV1||I|^^^127.0.0.1&4601\r');

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function sender(t: { teardown(fn: () => void): void }): Promise<dgram.Socket> {
  const tx = dgram.createSocket('udp4');
  await new Promise<void>((r) => tx.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => tx.close());
  return tx;
}

t.test('the HL7 protocol declares Mindray PDS discovery; the parse is pure', async (t) => {
  t.equal(hl7Mllp.discovery, pdsAnnouncements);
  t.same(pdsAnnouncements.parse(PDS), { host: '127.0.0.1', port: 4601 });
  t.equal(pdsAnnouncements.parse(Buffer.from('noise')), undefined);
});

t.test('firstAnnouncement: skips what is none, resolves with the first valid one', async (t) => {
  const port = await freePort();
  const found = firstAnnouncement(pdsAnnouncements, { port, timeoutMs: 5000 });
  const tx = await sender(t);
  // resent until the listener is bound (bounded: at most 100 tries)
  let result: unknown;
  void found.then((r) => {
    result = r;
  });
  for (let i = 0; i < 100 && result === undefined; i++) {
    tx.send(Buffer.from('noise'), port, '127.0.0.1');
    tx.send(PDS, port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 20));
  }
  t.same(await found, { host: '127.0.0.1', port: 4601 });
});

t.test('firstAnnouncement: undefined at the deadline', async (t) => {
  t.equal(await firstAnnouncement(pdsAnnouncements, { port: await freePort(), timeoutMs: 50 }), undefined);
});

t.test('DiscoveryListener: a parser that throws is counted bad, never crashes the listener', async (t) => {
  const spec: DiscoverySpec<{ n: number }> = {
    port: 0,
    parse: (d) => {
      if (d[0] === 0) throw new Error('parser bug');
      return { n: d[0] };
    },
    key: (a) => String(a.n),
  };
  const l = new DiscoveryListener(spec, { now: () => 5 });
  const { port } = await l.start();
  t.teardown(() => l.close());
  const seen: unknown[] = [];
  l.on('device', (d) => seen.push(d));
  const tx = await sender(t);
  tx.send(Buffer.from([0]), port, '127.0.0.1');
  tx.send(Buffer.from([7]), port, '127.0.0.1');
  const end = Date.now() + 3000;
  while (l.counters.datagrams < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  t.same(l.counters, { datagrams: 2, announcements: 1, bad: 1 });
  t.same(seen, [{ n: 7, from: '127.0.0.1', lastSeen: 5 }]);
});
