import t from 'tap';
import { PhysiologyModel } from '../../../../simulators/src/physiology/index.js';
import { encodeOru } from '../../../../simulators/src/hl7-mllp/encoder.js';
import { VENDORS } from '../../../../simulators/src/hl7-mllp/vendors.js';
import { streamDecoderSuite } from '../stream-decoder.suite.js';
import { hl7Mllp } from './index.js';
import { mllpWrap } from './mllp.js';

const start = Date.UTC(2026, 10, 22, 8, 0, 0);
const model = new PhysiologyModel({ seed: 17, startMs: start, nibpIntervalMin: 1 });
// the sender's side: ORU^R01 every 5 s, as the simulator encodes them
const capture = Array.from({ length: 5 }, (_, i) => mllpWrap(encodeOru(VENDORS['ge-b40'], model.at(start + i * 5000), { controlId: `C${i}` }).text));

streamDecoderSuite(t, {
  make: (o) => hl7Mllp.createDecoder({ ...o }),
  capture,
  garbage: Buffer.from('noise\x00\xff', 'latin1'),
});
