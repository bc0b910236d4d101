/** ORLINK_FAIL_AT parsing and when the injected failure fires (cli/fail-at.ts). */
import t from 'tap';
import { FailAt } from './fail-at.js';

t.test('unset: no injection', async (t) => {
  t.equal(FailAt.fromEnv({}), null);
});

t.test('malformed values are refused, naming the stages', async (t) => {
  for (const v of ['nowhere', 'pty:0', 'pty:x', 'pty:1:2', 'pty:1:later', 'pty:hold:1']) {
    t.throws(() => FailAt.fromEnv({ ORLINK_FAIL_AT: v }), { code: 'CLI_ERR_INJECTED', message: /influxd, ingest, pty, sim, gateway, ready/ }, v);
  }
});

t.test('throws at the n-th pass of its stage only', async (t) => {
  const f = FailAt.fromEnv({ ORLINK_FAIL_AT: 'gateway:2' })!;
  await f.pass('pty');
  await f.pass('gateway');
  await f.pass('pty');
  await t.rejects(f.pass('gateway'), { code: 'CLI_ERR_INJECTED', message: /stage 'gateway' \(pass 2/ });
  await t.resolves(f.pass('gateway'), 'once');
});

t.test('hold: pass() waits at its stage until everything is stopping, then goes on', async (t) => {
  const f = FailAt.fromEnv({ ORLINK_FAIL_AT: 'pty:hold' })!;
  await t.resolves(
    f.pass('influxd', () => false),
    'another stage does not wait',
  );
  let stopping = false;
  let done = false;
  const held = f
    .pass('pty', () => stopping)
    .then(() => {
      done = true;
    });
  await new Promise((r) => setTimeout(r, 150));
  t.notOk(done, 'still held');
  stopping = true;
  await held;
  t.ok(done, 'released once stopping');
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
  await t.resolves(f.pass('sim'));
  t.match(await caught, { code: 'CLI_ERR_INJECTED' });
});
