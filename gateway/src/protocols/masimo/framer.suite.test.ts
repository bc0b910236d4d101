import t from 'tap';
import { framerSuite } from '../framer.suite.js';
import { encodeLine } from './line.js';
import { LineFramer } from './line-framer.js';

const T0 = Date.UTC(2016, 1, 22, 22, 47, 45);
const lines = [
  encodeLine(T0, [
    ['SN', '0000056661'],
    ['SPO2', '098%'],
    ['BPM', '097'],
    ['PI', '03.60%'],
    ['ALARM', '0000'],
    ['EXC', '000800'],
  ]),
  encodeLine(T0 + 1000, [
    ['SN', '0000056661'],
    ['SPO2', '097%'],
    ['BPM', '096'],
    ['PI', '03.50%'],
    ['ALARM', '0000'],
    ['EXC', '000800'],
  ]),
];

framerSuite(t, {
  make: (o) => new LineFramer({ maxLineBytes: o?.maxFrameBytes }),
  key: (l) => l,
  // encodeLine ends the line with CR LF
  samples: lines.map((l) => ({ wire: Buffer.from(l, 'latin1'), key: l.replace(/\r\n$/, '') })),
  // a noisy line: counted once at its terminator
  garbage: Buffer.from([0x00, 0xff, 0x81, 0x13, 0x0d, 0x0a]),
  oversize: { maxFrameBytes: 100, wire: Buffer.from(`${'X'.repeat(5000)}\r\n`, 'latin1') },
  endless: { open: Buffer.alloc(0), filler: Buffer.alloc(1000, 0x59), resync: Buffer.from('\n') },
});
