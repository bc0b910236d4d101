import t from 'tap';
import { streamDecoderSuite } from '../stream-decoder.suite.js';
import { masimo } from './index.js';
import { encodeLine } from './line.js';

const T0 = Date.UTC(2016, 1, 22, 22, 47, 45);
// the oximeter's side: one ASCII 1 line a second
const capture = Array.from({ length: 5 }, (_, i) =>
  Buffer.from(
    encodeLine(T0 + i * 1000, [
      ['SN', '0000056661'],
      ['SPO2', `0${97 + (i % 2)}%`],
      ['BPM', `0${70 + i}`],
      ['PI', '03.60%'],
      ['ALARM', '0000'],
      ['EXC', '000800'],
    ]),
    'latin1',
  ),
);

streamDecoderSuite(t, {
  make: (o) => masimo.createDecoder({ ...o }),
  capture,
  // a noisy line (wrong baud rate): dropped and counted at its terminator
  garbage: Buffer.from([0x00, 0xff, 0x81, 0x13, 0x0d, 0x0a]),
});
