import t from 'tap';
import { framerSuite } from '../framer.suite.js';
import { frameMessage } from './fcs.js';
import { MibFramer } from './framer.js';
import { encodeMdsCreateResult, encodePoll } from './requests.js';

const A = encodeMdsCreateResult(1, 0xabd00);
// a message whose bytes need escaping everywhere (C0, C1, 7D in data)
const B = encodePoll({ invokeId: 0x7dc0, pollNumber: 0xc17d, objType: 6, durationTicks: 0xc0c1c07d });
const C = encodePoll({ invokeId: 2, pollNumber: 3, objType: 6, durationTicks: 0 });
const hex = (b: Buffer): string => b.toString('hex');

framerSuite(t, {
  make: (o) => new MibFramer({ maxFrameBytes: o?.maxFrameBytes }),
  key: hex,
  samples: [A, B, C].map((m) => ({ wire: frameMessage(m), key: hex(m) })),
  garbage: Buffer.from([1, 2, 3, 0x7d, 0xc1]),
  corrupt: {
    damage: (w) => {
      w[10] ^= 0xff;
      return w;
    },
    kind: 'fcs',
  },
  oversize: { maxFrameBytes: 64, wire: frameMessage(Buffer.alloc(200, 0x11)) },
  endless: { open: Buffer.from([0xc0]), filler: Buffer.alloc(1000, 0x11) },
});
