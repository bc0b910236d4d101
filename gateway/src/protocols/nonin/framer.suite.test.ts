import t from 'tap';
import { framerSuite } from '../framer.suite.js';
import { encodeFormat8, encodeFrame, type DataFormat } from './frame.js';
import { NoninFramer } from './framer.js';

const frames = (fmt: DataFormat, n: number): Buffer[] =>
  Array.from({ length: n }, (_, i) =>
    fmt === 8
      ? encodeFormat8({ status: 0x80 | (i & 0x7f), hrMsb: i & 3, hrLsb: (i * 7) & 0x7f, spo2: 90 + (i % 10) })
      : encodeFrame(fmt, { status: 0x80 | (i === 0 ? 1 : 0) | 0x02, pleth: fmt === 2 ? (i * 29) & 0xff : (i * 3001) & 0xffff, data: (i * 13) & 0x7f }),
  );

for (const fmt of [2, 7, 8] as const) {
  t.test(`format #${fmt}`, async (t) => {
    framerSuite(t, {
      make: () => new NoninFramer(fmt),
      key: (b) => b.toString('hex'),
      samples: frames(fmt, 12).map((w) => ({ wire: w, key: w.toString('hex') })),
      garbage: Buffer.from([0x05, 0x11, 0x7f, 0x22, 0x00, 0x33]),
      garbageKinds: ['garbage', 'checksum'],
      // #8 has no checksum
      corrupt:
        fmt === 8
          ? undefined
          : {
              damage: (w) => {
                w[3] ^= 0x01;
                return w;
              },
              kind: 'checksum',
            },
      endless: { open: Buffer.alloc(0), filler: Buffer.alloc(1000, 0x05) },
    });
  });
}
