import t from 'tap';
import { MllpFramer, mllpWrap } from './mllp.js';

const A = 'MSH|^~\\&|A|||||||ORU^R01|1|P|2.6\rOBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||97\r';
const B = 'MSH|^~\\&|B|||||||ORU^R01|2|P|2.6\r';
const texts = (bufs: Buffer[]) => bufs.map((b) => b.toString('utf8'));

t.test('one frame; two in a chunk', async (t) => {
  const f = new MllpFramer();
  t.same(texts(f.push(mllpWrap(A))), [A]);
  t.same(texts(f.push(Buffer.concat([mllpWrap(A), mllpWrap(B)]))), [A, B]);
  t.same(f.stats(), { frames: 3, bytes: mllpWrap(A).length * 2 + mllpWrap(B).length, errors: {} });
});

t.test('split at every byte offset', async (t) => {
  const wire = Buffer.concat([mllpWrap(A), mllpWrap(B)]);
  for (let i = 0; i <= wire.length; i++) {
    for (let j = i; j <= wire.length; j += 7) {
      const f = new MllpFramer();
      const got = [...f.push(wire.subarray(0, i)), ...f.push(wire.subarray(i, j)), ...f.push(wire.subarray(j))];
      if (texts(got).join('#') !== [A, B].join('#')) { t.fail(`split ${i}/${j}`); return; }
      if (Object.keys(f.stats().errors).length) { t.fail(`errors at split ${i}/${j}`); return; }
    }
  }
  t.pass('every split decodes both frames without errors');
});

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

t.test('overflow → dropped and counted, framer resyncs on the next 0x0B', async (t) => {
  const f = new MllpFramer({ maxBytes: 64 });
  const big = mllpWrap('MSH|' + 'x'.repeat(500));
  const got = [...f.push(big.subarray(0, 100)), ...f.push(big.subarray(100)), ...f.push(mllpWrap(B))];
  t.same(texts(got), [B]);
  t.same(f.stats().errors, { oversize: 1 });
  t.equal(f.stats().frames, 1);
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
