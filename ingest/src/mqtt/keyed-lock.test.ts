import t from 'tap';
import { KeyedLock } from './keyed-lock.js';

t.test('overlapping key sets take turns, disjoint ones run at once, no deadlock on opposite orders', async (t) => {
  const lock = new KeyedLock();
  const order: string[] = [];
  const relA = await lock.acquire(['b', 'a']);
  let bHeld = false;
  const b = lock.acquire(['a', 'c']).then((rel) => {
    bHeld = true;
    order.push('B');
    return rel;
  });
  const relD = await lock.acquire(['d']);
  order.push('D');
  await new Promise((r) => setImmediate(r));
  t.equal(bHeld, false, 'B waits for a');
  relA();
  relA(); // idempotent
  const relB = await b;
  t.same(order, ['D', 'B']);
  relB();
  relD();
  t.equal(lock.size, 0, 'nothing left behind');
  // opposite orders at once: both complete
  const x = lock.acquire(['p', 'q']).then((r) => r());
  const y = lock.acquire(['q', 'p']).then((r) => r());
  await Promise.all([x, y]);
  t.equal(lock.size, 0);
});
