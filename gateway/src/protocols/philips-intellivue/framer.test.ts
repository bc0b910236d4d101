import t from 'tap';
import { frameBytes, frameMessage } from './fcs.js';
import { MibFramer } from './framer.js';
import { encodeMdsCreateResult, encodePoll } from './requests.js';

const A = encodeMdsCreateResult(1, 0xabd00);
// a message whose bytes need escaping everywhere (C0, C1, 7D in data)
const B = Buffer.concat([encodePoll({ invokeId: 0x7dc0, pollNumber: 0xc17d, objType: 6, durationTicks: 0xc0c1c07d })]);
const FA = frameMessage(A);
const FB = frameMessage(B);

t.test('one frame, two frames in one chunk', async (t) => {
  const f = new MibFramer();
  t.same(f.push(FA), [A]);
  t.ok(FB.includes(0x7d), 'B exercises stuffing');
  t.same(f.push(Buffer.concat([FB, FA])), [B, A]);
  t.same(f.stats(), { frames: 3, bytes: FA.length * 2 + FB.length, errors: {} });
});

t.test('split at every byte offset', async (t) => {
  const all = Buffer.concat([FA, FB]);
  for (let i = 1; i < all.length; i++) {
    const f = new MibFramer();
    const got = [...f.push(all.subarray(0, i)), ...f.push(all.subarray(i))];
    if (got.length !== 2 || !got[0].equals(A) || !got[1].equals(B)) return t.fail(`split at ${i}`);
  }
  t.pass(`${all.length - 1} splits`);
});

t.test('garbage before start is counted, frame still decoded', async (t) => {
  const f = new MibFramer();
  t.same(f.push(Buffer.concat([Buffer.from([1, 2, 3, 0x7d, 0xc1]), FA])), [A]);
  t.equal(f.stats().errors.garbage, 5);
});

t.test('bad FCS, bad header, bad length are counted; neighbours survive', async (t) => {
  const bad = Buffer.from(FA);
  bad[10] ^= 0xff;
  const wrongHdr = frameBytes(Buffer.concat([Buffer.from([0x12, 0x01, 0, A.length]), A]));
  const wrongLen = frameBytes(Buffer.concat([Buffer.from([0x11, 0x01, 0, A.length + 1]), A]));
  const f = new MibFramer();
  t.same(f.push(Buffer.concat([FA, bad, wrongHdr, wrongLen, FB])), [A, B]);
  t.same(f.stats().errors, { fcs: 1, header: 1, length: 1 });
});

t.test('aborted (7D C1) and truncated (BOF without EOF) frames are dropped and counted', async (t) => {
  const f = new MibFramer();
  const aborted = Buffer.concat([FA.subarray(0, 8), Buffer.from([0x7d, 0xc1])]);
  const truncated = FB.subarray(0, 20);
  t.same(f.push(Buffer.concat([aborted, truncated, FA])), [A]);
  t.same(f.stats().errors, { aborted: 1, truncated: 1 });
  t.same(f.push(FB.subarray(0, 9)), []);
  t.ok(f.pending(), 'an open frame at the end of input is pending, not emitted');
});

t.test('oversize frame resets, the next frame passes', async (t) => {
  const f = new MibFramer({ maxFrameBytes: 64 });
  const big = frameMessage(Buffer.alloc(200, 0x11));
  t.same(f.push(Buffer.concat([big, FA])), [A]);
  t.same(f.stats().errors, { oversize: 1 });
});

t.test('short and empty frames are counted', async (t) => {
  const f = new MibFramer();
  t.same(f.push(Buffer.from([0xc0, 0xc1, 0xc0, 0x11, 0x01, 0xc1])), []);
  t.same(f.stats().errors, { empty: 1, short: 1 });
});
