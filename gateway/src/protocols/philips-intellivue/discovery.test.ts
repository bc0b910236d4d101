import dgram from 'node:dgram';
import t from 'tap';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DiscoveryListener, type Discovered } from '../../discovery/listener.js';
import type { ConnectInfo } from './vendor-types.js';
import { philipsIntelliVue } from './index.js';
import { connectIndications, parseConnectIndication } from './discovery.js';

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timeout');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const hex = readFileSync(resolve(import.meta.dirname, '../../../../../shared/captures/philips-intellivue/connect_indication_866062_koshsky.hex'), 'utf8')
  .split('\n')
  .filter((x) => !x.startsWith('#'))
  .join('')
  .replace(/[^0-9a-f]/gi, '');
const ci = Buffer.from(hex, 'hex');
const ANNOUNCED = {
  model: '866062',
  serial: 'DE351A4061',
  firmware: 'L.01.18',
  ip: '192.168.247.101',
  mac: '00:09:fb:88:c1:bd',
  dataExportPort: 24105,
  wireless: false,
};

t.test('the protocol declares its discovery: a pure parse of one datagram', async (t) => {
  t.equal(philipsIntelliVue.discovery, connectIndications);
  t.equal(connectIndications.port, 24005);
  t.same(parseConnectIndication(ci), ANNOUNCED);
  t.equal(parseConnectIndication(Buffer.from([1, 2, 3])), undefined, 'not one: undefined, no throw');
  t.equal(parseConnectIndication(ci.subarray(0, 20)), undefined, 'cut short');
});

t.test('loopback listener (gateway/src/discovery) reports each real Connect Indication once; garbage counted', async (t) => {
  const l = new DiscoveryListener(connectIndications, { port: 0, now: () => 1 });
  const { host, port } = await l.start();
  t.equal(host, '127.0.0.1');
  t.teardown(() => l.close());
  const seen: Discovered<ConnectInfo>[] = [];
  l.on('device', (m: Discovered<ConnectInfo>) => seen.push(m));
  const tx = dgram.createSocket('udp4');
  await new Promise<void>((r) => tx.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => tx.close());
  tx.send(Buffer.from([1, 2, 3]), port, '127.0.0.1');
  tx.send(ci, port, '127.0.0.1');
  tx.send(ci, port, '127.0.0.1');
  await until(() => l.counters.datagrams === 3);
  t.same(seen, [{ ...ANNOUNCED, from: '127.0.0.1', lastSeen: 1 }]);
  t.same(l.counters, { datagrams: 3, announcements: 2, bad: 1 });
});
