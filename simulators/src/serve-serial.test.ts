// serveSerial keeps the simulated monitor on the device end of a pty: after the 'disconnect'
// fault closes the port it reopens it, and the host (which kept its end open) is served again
// after a new request. Real clock; waits are event- or deadline-based.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import pino from 'pino';
import { GeDriSimulator } from './ge-dri/simulator.js';
import { TestHost } from './ge-dri/test-host.js';
import { openPtyPair } from './link/pty.js';
import { closeSerialLink, openSerialLink } from './link/serial-link.js';
import { serveSerial } from './serve-serial.js';

const hasSocat = (() => {
  try {
    execFileSync('socat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met before the deadline');
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('reopen after a disconnect fault', { skip: hasSocat ? false : 'socat not installed' }, async (t) => {
  const pair = await openPtyPair();
  t.teardown(() => pair.close());
  const sim = new GeDriSimulator({ seed: 2, realNumerics: false });
  sim.start();
  const service = serveSerial(pair.devicePath, sim, pino({ level: 'silent' }));
  t.teardown(async () => {
    await service.stop();
    await sim.close();
  });
  await service.opened;
  const port = await openSerialLink(pair.hostPath);
  t.teardown(() => closeSerialLink(port));
  const host = new TestHost(port);
  host.requestPhdb(1, 0);
  await until(() => host.phdbRecords().length >= 1);
  const reattached = new Promise((r) => sim.once('attached', r));
  sim.disconnect();
  await reattached;
  const n = host.phdbRecords().length;
  host.requestPhdb(1, 0);
  await until(() => host.phdbRecords().length > n);
  t.pass('served again after the port was reopened');
  await service.stop();
  await service.stop();
  t.pass('stop is idempotent');
});

t.test('a port that cannot be opened rejects `opened`', async (t) => {
  const sim = new GeDriSimulator({ realNumerics: false });
  const service = serveSerial('/nonexistent/tty', sim, pino({ level: 'silent' }));
  await t.rejects(service.opened, { code: 'SIM_ERR_LINK_OPEN' });
  await service.stop();
});
