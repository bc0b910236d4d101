// Shared framer cases (splits, garbage, checksum, oversize, caps, reset): framer.suite.test.ts.
import t from 'tap';
import { frameRecord, stuff, sum8, unframe, unstuff } from './frame.js';
import { DriFramer } from './framer.js';

const rec = (n: number, seed = 1): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + seed) & 0xff));
// A record whose bytes and checksum need stuffing: 0x7E and 0x7D inside.
const tricky = Buffer.from([0x10, 0x7e, 0x20, 0x7d, 0x30, 0x00]);

t.test('frame codec: stuffing, checksum over unstuffed bytes, checksum byte stuffed too', async (t) => {
  t.same([...stuff(Buffer.from([0x7e, 0x7d, 0x01]))], [0x7d, 0x5e, 0x7d, 0x5d, 0x01]);
  t.same([...unstuff(Buffer.from([0x7d, 0x5e, 0x7d, 0x5d, 0x01]))!], [0x7e, 0x7d, 0x01]);
  t.equal(unstuff(Buffer.from([0x01, 0x7d])), null, 'dangling escape');
  t.equal(unstuff(Buffer.from([0x7d, 0x01])), null, 'escape of a byte that needs none');
  const sumIs7e = Buffer.from([0x70, 0x0e]); // sum = 0x7E → checksum byte must be stuffed
  t.equal(sum8(sumIs7e), 0x7e);
  const f = frameRecord(sumIs7e);
  t.same([...f], [0x7e, 0x70, 0x0e, 0x7d, 0x5e, 0x7e]);
  const r = unframe(f.subarray(1, -1));
  t.ok('record' in r && r.record.equals(sumIs7e));
  t.same(unframe(Buffer.from([0x01])), { error: 'short' });
  t.same(unframe(Buffer.from([0x01, 0x02, 0x04])), { error: 'checksum' });
});

t.test('two frames in one chunk, with shared and with repeated flags', async (t) => {
  const a = frameRecord(rec(50, 1));
  const b = frameRecord(rec(60, 2));
  const fr = new DriFramer();
  t.equal(fr.push(Buffer.concat([a, b])).length, 2, 'repeated flags 7E 7E between frames');
  const shared = Buffer.concat([a.subarray(0, -1), b]);
  const fr2 = new DriFramer();
  const out = fr2.push(shared);
  t.equal(out.length, 2, 'one flag shared by both frames');
  t.ok(out[1].equals(rec(60, 2)));
  t.same(fr2.stats().errors, {});
});

t.test('bad stuffing → counted', async (t) => {
  const fr = new DriFramer();
  t.same(fr.push(Buffer.from([0x7e, 0x01, 0x7d, 0x02, 0x03, 0x7e])), []);
  t.equal(fr.stats().errors.stuffing, 1);
});

t.test('a record above the cap without stuffing is oversize too', async (t) => {
  const fr = new DriFramer({ maxRecordBytes: 100 });
  t.same(fr.push(frameRecord(Buffer.alloc(150, 1))), []);
  t.same(fr.stats().errors, { oversize: 1 });
  t.equal(fr.push(frameRecord(Buffer.alloc(100, 1))).length, 1, 'exactly the cap is fine');
});

t.test('7E 7E is an empty frame, not an error; a lone 1-byte body is "short"', async (t) => {
  const fr = new DriFramer();
  t.same(fr.push(Buffer.from([0x7e, 0x7e, 0x7e])), []);
  t.same(fr.stats().errors, {});
  fr.push(Buffer.from([0x05, 0x7e]));
  t.equal(fr.stats().errors.short, 1);
});
