import t from 'tap';
import { LineFramer } from './line-framer.js';

const L1 = '02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% ALARM=0000 EXC=000800';
const L2 = '02/22/16 22:47:46 SN=0000056661 SPO2=097% BPM=096 PI=03.50% ALARM=0000 EXC=000800';
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

t.test('one line, CR LF', async (t) => {
  const f = new LineFramer();
  t.same(f.push(b(`${L1}\r\n`)), [L1]);
  t.same(f.stats(), { lines: 1, bytes: L1.length + 2, errors: {} });
});

t.test('two lines in one chunk; CR, LF and CR LF all terminate; empty lines skipped', async (t) => {
  t.same(new LineFramer().push(b(`${L1}\r\n${L2}\r\n`)), [L1, L2]);
  t.same(new LineFramer().push(b(`${L1}\n${L2}\r`)), [L1, L2]);
  t.same(new LineFramer().push(b(`\r\n\r\n${L1}\r\n\n\n`)), [L1]);
});

t.test('split at every byte offset', async (t) => {
  const whole = b(`${L1}\r\n${L2}\r\n`);
  for (let cut = 0; cut <= whole.length; cut++) {
    const f = new LineFramer();
    const got = [...f.push(whole.subarray(0, cut)), ...f.push(whole.subarray(cut))];
    if (got.length !== 2 || got[0] !== L1 || got[1] !== L2) { t.fail(`split at ${cut}: ${JSON.stringify(got)}`); return; }
  }
  t.pass('every split gives both lines');
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

t.test('over-long line → dropped up to its terminator, counted, next line fine; buffer capped', async (t) => {
  const f = new LineFramer({ maxLineBytes: 100 });
  const out = f.push(b(`${'X'.repeat(5000)}\r\n${L1}\r\n`));
  t.same(out, [L1]);
  t.same(f.stats().errors, { oversize: 1 });
  const g = new LineFramer({ maxLineBytes: 100 });
  for (let i = 0; i < 100; i++) g.push(b('Y'.repeat(1000)));
  t.same(g.push(b(`\n${L2}\n`)), [L2], 'endless line without terminator does not grow memory');
  t.equal(g.stats().errors.oversize, 1);
});
