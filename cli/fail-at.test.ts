/** ORLINK_FAIL_AT parsing and when the injected failure fires (cli/fail-at.ts). */
import t from 'tap';
import { FailAt } from './fail-at.js';

t.test('unset: no injection', async (t) => {
  t.equal(FailAt.fromEnv({}), null);
});

t.test('malformed values are refused, naming the stages', async (t) => {
  for (const v of ['nowhere', 'pty:0', 'pty:x', 'pty:1:2', 'pty:1:later']) {
    t.throws(() => FailAt.fromEnv({ ORLINK_FAIL_AT: v }), { code: 'CLI_ERR_INJECTED', message: /influxd, ingest, pty, sim, gateway, ready/ }, v);
  }
});

t.test('throws at the n-th pass of its stage only', async (t) => {
  const f = FailAt.fromEnv({ ORLINK_FAIL_AT: 'gateway:2' })!;
  f.pass('pty');
  f.pass('gateway');
  f.pass('pty');
  t.throws(() => f.pass('gateway'), { code: 'CLI_ERR_INJECTED', message: /stage 'gateway' \(pass 2/ });
  t.doesNotThrow(() => f.pass('gateway'), 'once');
});

t.test('uncaught: thrown from the next event-loop turn, not from pass()', async (t) => {
  const f = FailAt.fromEnv({ ORLINK_FAIL_AT: 'sim:uncaught' })!;
  const caught = new Promise<Error>((resolve) => {
    const onErr = (err: Error) => {
      process.off('uncaughtException', onErr);
      resolve(err);
    };
    process.on('uncaughtException', onErr);
  });
  t.doesNotThrow(() => f.pass('sim'));
  t.match(await caught, { code: 'CLI_ERR_INJECTED' });
});
