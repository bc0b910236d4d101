// Shared framer cases (splits, garbage, oversize, caps, reset): framer.suite.test.ts.
import t from 'tap';
import { MllpFramer, mllpWrap } from './mllp.js';

const A = 'MSH|^~\\&|A|||||||ORU^R01|1|P|2.6\rOBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||97\r';
const B = 'MSH|^~\\&|B|||||||ORU^R01|2|P|2.6\r';
const texts = (bufs: Buffer[]) => bufs.map((b) => b.toString('utf8'));

t.test('garbage before start, whitespace between blocks', async (t) => {
  const f = new MllpFramer();
  t.same(texts(f.push(Buffer.concat([Buffer.from('noise\x00\xff'), mllpWrap(A), Buffer.from('\r\n'), mllpWrap(B)]))), [A, B]);
  t.same(f.stats().errors, { garbage: 1 });
});

t.test('new start inside a block → truncated, the next block is kept', async (t) => {
  const f = new MllpFramer();
  const wire = Buffer.concat([Buffer.from([0x0b]), Buffer.from('MSH|partial'), mllpWrap(B)]);
  t.same(texts(f.push(wire)), [B]);
  t.same(f.stats().errors, { truncated: 1 });
});

t.test('0x1C without 0x0D → delivered, counted as trailer', async (t) => {
  const f = new MllpFramer();
  const wire = Buffer.concat([Buffer.from([0x0b]), Buffer.from(A), Buffer.from([0x1c]), mllpWrap(B)]);
  t.same(texts(f.push(wire)), [A, B]);
  t.same(f.stats().errors, { trailer: 1 });
});

t.test('the framer copies: reusing the chunk buffer does not change delivered frames', async (t) => {
  const f = new MllpFramer();
  const wire = mllpWrap(A);
  const chunk = Buffer.from(wire.subarray(0, 10));
  const first = f.push(chunk);
  chunk.fill(0x41);
  const got = [...first, ...f.push(wire.subarray(10))];
  t.same(texts(got), [A]);
});
