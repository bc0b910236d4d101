/**
 * Failed-login backoff (login-guard.ts): unit rules on a fake clock, then the embedded broker:
 * 50 wrong passwords are slowed (the achieved guess rate is reported), logged with user name and
 * address but never the password; the right password works once the lockout expires; an attacker
 * on another address does not lock a gateway out of its own, known address.
 */
import t from 'tap';
import { until } from '../mqtt/test-fixtures.js';
import { brokerRig, GW } from './broker-fixture.js';
import { LoginGuard, type LoginVerdict } from './login-guard.js';

const BAD = 4;
const LOCKED = 5;

t.test('rules: threshold, doubling to the cap, expiry, forgetting, known pairs, parallel checks', async (t) => {
  let now = 0;
  const g = new LoginGuard({ maxFailures: 3, maxFailuresPerAddress: 10, lockoutMs: 1000, lockoutMaxMs: 4000, forgetMs: 60_000, now: () => now });
  const fail = (u: string, a: string) => {
    const v = g.check(u, a);
    return v.allowed ? g.failed(u, a, v) : v;
  };
  t.same(fail('gw1', 'A'), { failures: 1, lockedForMs: 0 });
  fail('gw1', 'A');
  t.same(fail('gw1', 'A'), { failures: 3, lockedForMs: 1000 }, 'third failure: 1 s');
  t.match(g.check('gw1', 'A'), { allowed: false, lockedBy: 'pair' });
  t.match(g.check('gw1', 'B'), { allowed: false, lockedBy: 'user' }, 'the user name is locked from any address');
  now += 1000;
  t.same(fail('gw1', 'A'), { failures: 4, lockedForMs: 2000 }, 'after expiry one more try, then doubled');
  now += 2000;
  fail('gw1', 'A');
  now += 4000;
  t.same(fail('gw1', 'A'), { failures: 6, lockedForMs: 4000 }, 'capped at lockoutMaxMs');
  now += 4000;
  const ok = g.check('gw1', 'A');
  t.ok(ok.allowed, 'a lockout always expires');
  g.succeeded('gw1', 'A', ok);
  t.ok(g.check('gw1', 'C').allowed, 'success clears the user name');
  // known pair: a gateway that logged in from A is not locked by failures from elsewhere
  for (let i = 0; i < 5; i++) {
    now += 5000;
    fail('gw1', 'X');
  }
  t.match(g.check('gw1', 'Y'), { allowed: false }, 'attacker address Y: user locked');
  const v = g.check('gw1', 'A');
  t.ok(v.allowed, 'the known address A still gets checked');
  g.succeeded('gw1', 'A', v);
  // parallel verifications count: at most maxFailures at once for one user name
  const h = new LoginGuard({ maxFailures: 3, maxFailuresPerAddress: 10, lockoutMs: 1000, lockoutMaxMs: 4000, forgetMs: 60_000, now: () => now });
  const inFlight = Array.from({ length: 6 }, () => h.check('gw9', 'Z'));
  t.same(
    inFlight.map((x) => x.allowed),
    [true, true, true, false, false, false],
  );
  for (const x of inFlight) if (x.allowed) (x as Extract<LoginVerdict, { allowed: true }>).release();
  // the address threshold applies across user names
  for (let i = 0; i < 10; i++) {
    now += 1;
    fail(`user${i}`, 'SPRAY');
  }
  t.match(g.check('user99', 'SPRAY'), { allowed: false, lockedBy: 'address' });
  // forgetting
  now += 61_000 + 4000;
  t.ok(g.check('user99', 'SPRAY').allowed, 'failures forgotten after forgetMs');
});

t.test('50 wrong passwords are slowed and logged; the right one works after the lockout', { timeout: 30_000 }, async (t) => {
  const s = await brokerRig(t);
  // a gateway that logged in before from its own address (127.0.0.1)
  t.equal(await s.login('gw1', GW.gw1.password), 0);
  // the attacker from 127.0.0.2, one guess every 100 ms (bounded: 50 attempts, ≤ 15 s)
  const codes: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < 50 && performance.now() - t0 < 15_000; i++) {
    codes.push(await s.login('gw1', `wrong-guess-${i}`, { localAddress: '127.0.0.2' }));
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - t0) / 1000;
  const checked = codes.filter((c) => c === BAD).length;
  t.comment(
    `50 attempts in ${seconds.toFixed(1)} s: ${checked} passwords checked (${(checked / seconds).toFixed(2)} guesses/s), ${codes.filter((c) => c === LOCKED).length} refused unchecked`,
  );
  t.equal(codes.length, 50);
  t.ok(checked >= 5 && checked <= 9, `5 free guesses, then 1 s, 2 s, 4 s… lockouts (${checked})`);
  t.ok(codes.every((c) => c === BAD || c === LOCKED));
  t.equal(s.metrics.get('mqtt_auth_failures_total'), checked);
  t.equal(s.metrics.get('mqtt_auth_locked_total'), 50 - checked);
  const failures = s.logged(/mqtt login failed/);
  t.equal(failures.length, checked, 'every checked failure logged');
  t.match(failures[0], { username: 'gw1', ip: '127.0.0.2' });
  t.ok(s.logged(/locked out/).length >= 1, 'lockout refusals logged (throttled)');
  t.notMatch(JSON.stringify(s.logs), /wrong-guess|secret-1/, 'no password in any log line');
  // the gateway on its own, known address is not locked out by the attack
  t.equal(await s.login('gw1', GW.gw1.password), 0, 'known address: accepted during the attack');
  // from the attacker's address even the right password waits for the lockout to expire
  t.equal(await s.login('gw1', GW.gw1.password, { localAddress: '127.0.0.2' }), LOCKED, 'refused unchecked while locked');
  const t1 = performance.now();
  await until(async () => (await s.login('gw1', GW.gw1.password, { localAddress: '127.0.0.2' })) === 0, 20_000, 'the lockout expires');
  t.comment(`right password accepted from the locked address after ${((performance.now() - t1) / 1000).toFixed(1)} s more`);
  // a new user name from a fresh address works throughout
  t.equal(await s.login('gw2', GW.gw2.password, { localAddress: '127.0.0.3' }), 0);
});
