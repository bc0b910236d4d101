// Shared framer cases (splits, garbage, checksum, oversize, caps, reset): framer.suite.test.ts.
import t from 'tap';
import { frameBytes, frameMessage } from './fcs.js';
import { MibFramer } from './framer.js';
import { encodeMdsCreateResult, encodePoll } from './requests.js';

const A = encodeMdsCreateResult(1, 0xabd00);
// a message whose bytes need escaping everywhere (C0, C1, 7D in data)
const B = Buffer.concat([encodePoll({ invokeId: 0x7dc0, pollNumber: 0xc17d, objType: 6, durationTicks: 0xc0c1c07d })]);
const FA = frameMessage(A);
const FB = frameMessage(B);

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

t.test('short and empty frames are counted', async (t) => {
  const f = new MibFramer();
  t.same(f.push(Buffer.from([0xc0, 0xc1, 0xc0, 0x11, 0x01, 0xc1])), []);
  t.same(f.stats().errors, { empty: 1, short: 1 });
});
