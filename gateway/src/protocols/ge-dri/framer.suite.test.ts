import t from 'tap';
import { framerSuite } from '../framer.suite.js';
import { frameRecord } from './frame.js';
import { DriFramer } from './framer.js';

const rec = (n: number, seed = 1): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + seed) & 0xff));
// bytes and checksum that need stuffing: 0x7E and 0x7D inside
const tricky = Buffer.from([0x10, 0x7e, 0x20, 0x7d, 0x30, 0x00]);
const hex = (b: Buffer): string => b.toString('hex');

framerSuite(t, {
  make: (o) => new DriFramer({ maxRecordBytes: o?.maxFrameBytes }),
  key: hex,
  samples: [tricky, rec(300, 3), rec(40, 7)].map((r) => ({ wire: frameRecord(r), key: hex(r) })),
  garbage: Buffer.from([1, 2, 3, 0x7d]),
  // after a frame's closing flag the framer is inside the next frame: stray bytes there are a bad frame
  garbageKinds: ['garbage', 'stuffing', 'checksum', 'short'],
  corrupt: {
    damage: (w) => {
      w[10] ^= 0x01;
      return w;
    },
    kind: 'checksum',
  },
  oversize: { maxFrameBytes: 100, wire: frameRecord(rec(400)) },
  endless: { open: Buffer.from([0x7e]), filler: Buffer.alloc(1000, 0x01) },
});
