import t from 'tap';
import { streamDecoderSuite } from '../stream-decoder.suite.js';
import { nonin } from './index.js';
import { stream } from './test-streams.js';

const PROFILES = { 2: 'nonin/oem-iii/format2', 7: 'nonin/onyx-ii-9560/format7', 8: 'nonin/wristox2-3150/format8' } as const;

for (const fmt of [2, 7, 8] as const) {
  t.test(`format #${fmt}`, async (t) => {
    // the oximeter's side: packets (#2, #7) or seconds (#8), cut as a serial port delivers them
    const whole = stream(fmt, 9, fmt);
    const capture = Array.from({ length: 9 }, (_, i) => whole.subarray((i * whole.length) / 9, ((i + 1) * whole.length) / 9));
    streamDecoderSuite(t, {
      make: (o) => nonin.createDecoder({ ...o, profileId: PROFILES[fmt] }),
      capture,
      garbage: Buffer.from([0x05, 0x11, 0x7f, 0x22, 0x00, 0x33]),
    });
  });
}
