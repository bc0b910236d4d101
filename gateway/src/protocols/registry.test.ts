import t from 'tap';
import { loadProtocol, protocolNames } from './registry.js';

t.test('registry resolves ge-dri lazily and says no to unknown names', async (t) => {
  t.ok(protocolNames().includes('ge-dri'));
  const p = await loadProtocol('ge-dri');
  t.equal(p?.name, 'ge-dri');
  t.same(p?.serialDefaults, { baudRate: 19200, dataBits: 8, parity: 'even', stopBits: 1, rtscts: true });
  t.equal(await loadProtocol('nope'), undefined);
});
