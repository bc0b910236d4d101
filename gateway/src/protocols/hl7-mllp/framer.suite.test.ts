import t from 'tap';
import { framerSuite } from '../framer.suite.js';
import { MllpFramer, mllpWrap, VT } from './mllp.js';

const A = 'MSH|^~\\&|A|||||||ORU^R01|1|P|2.6\rOBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||97\r';
const B = 'MSH|^~\\&|B|||||||ORU^R01|2|P|2.6\r';

framerSuite(t, {
  make: (o) => new MllpFramer({ maxBytes: o?.maxFrameBytes }),
  key: (b) => b.toString('utf8'),
  samples: [A, B].map((m) => ({ wire: mllpWrap(m), key: m })),
  garbage: Buffer.from('noise\x00\xff', 'latin1'),
  oversize: { maxFrameBytes: 64, wire: mllpWrap(`MSH|${'x'.repeat(500)}`) },
  endless: { open: Buffer.from([VT]), filler: Buffer.alloc(1000, 0x78) },
});
