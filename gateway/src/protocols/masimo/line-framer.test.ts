// Shared framer cases (splits, garbage, oversize, caps, reset): framer.suite.test.ts.
import t from 'tap';
import { LineFramer } from './line-framer.js';

const L1 = '02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% ALARM=0000 EXC=000800';
const L2 = '02/22/16 22:47:46 SN=0000056661 SPO2=097% BPM=096 PI=03.50% ALARM=0000 EXC=000800';
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

t.test('two lines in one chunk; CR, LF and CR LF all terminate; empty lines skipped', async (t) => {
  t.same(new LineFramer().push(b(`${L1}\r\n${L2}\r\n`)), [L1, L2]);
  t.same(new LineFramer().push(b(`${L1}\n${L2}\r`)), [L1, L2]);
  t.same(new LineFramer().push(b(`\r\n\r\n${L1}\r\n\n\n`)), [L1]);
});

t.test('garbage before the first line: the noisy line is counted, the next line gets through', async (t) => {
  const f = new LineFramer();
  const out = f.push(Buffer.concat([Buffer.from([0x00, 0xff, 0x81, 0x13]), b(`\r\n${L1}\r\n`)]));
  t.same(out, [L1]);
  t.same(f.stats().errors, { garbage: 1 });
  const g = new LineFramer();
  t.same(g.push(Buffer.concat([Buffer.from([0xfe, 0x41]), b(`${L1}\r\n${L2}\r\n`)])), [L2], 'noise glued to a line costs that line only');
  t.same(g.stats().errors, { garbage: 1 });
});
