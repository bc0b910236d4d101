import t from 'tap';
import { streamDecoderSuite } from '../stream-decoder.suite.js';
import { encodePhdbRecord } from './encode.js';
import { frameRecord } from './frame.js';
import { geDri } from './index.js';

const T0 = 1_700_000_000;
// the monitor's side: one displayed record every 5 s, framed as on the wire
const capture = Array.from({ length: 6 }, (_, i) =>
  frameRecord(
    encodePhdbRecord({
      time: T0 + i * 5,
      recNbr: i,
      classes: { basic: { ecg: { fields: { hr: 70 + i } }, spo2: { fields: { spo2: 97, pr: 70 + i } } } },
    }),
  ),
);

streamDecoderSuite(t, {
  make: (o) => geDri.createDecoder({ ...o }),
  capture,
  garbage: Buffer.from([1, 2, 3, 0x7d]),
});
