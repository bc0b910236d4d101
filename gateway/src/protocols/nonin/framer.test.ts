// Shared framer cases (splits, garbage, checksum, caps, reset) for #2, #7 and #8: framer.suite.test.ts.
import t from 'tap';
import { encodeFormat8, encodeFrame, encodeSelectFormat, parseSelectFormat, combineHr, splitHr, type DataFormat } from './frame.js';
import { NoninFramer } from './framer.js';

const frames = (fmt: DataFormat, n: number): Buffer[] =>
  Array.from({ length: n }, (_, i) =>
    fmt === 8
      ? encodeFormat8({ status: 0x80 | (i & 0x7f), hrMsb: i & 3, hrLsb: (i * 7) & 0x7f, spo2: 90 + (i % 10) })
      : encodeFrame(fmt, { status: 0x80 | (i === 0 ? 1 : 0) | 0x02, pleth: fmt === 2 ? (i * 29) & 0xff : (i * 3001) & 0xffff, data: (i * 13) & 0x7f }),
  );

t.test('frame codec: checksums and fields as in the digest', async (t) => {
  // #2: 01 | STATUS | PLETH | DATA | CHK, CHK = (01 + STATUS + PLETH + DATA) & FF
  t.same([...encodeFrame(2, { status: 0x81, pleth: 0x7f, data: 0x48 })], [0x01, 0x81, 0x7f, 0x48, (0x01 + 0x81 + 0x7f + 0x48) & 0xff]);
  t.same([...encodeFrame(7, { status: 0x81, pleth: 0x1234, data: 0x05 })], [0x81, 0x12, 0x34, 0x05, (0x81 + 0x12 + 0x34 + 0x05) & 0xff]);
  t.same([...encodeFormat8({ status: 0x80, hrMsb: 0, hrLsb: 72, spo2: 97 })], [0x80, 0x00, 0x48, 0x61]);
  t.equal(combineHr(0x02, 0x2c, '9bit'), 300, '9-bit HR: (MSB & 3) << 7 | LSB & 7F');
  t.equal(combineHr(0x01, 0x2c, '16bit'), 300, '#7: (MSB << 8) | LSB');
  t.same(splitHr(511, '9bit'), [3, 127]);
  t.same([...encodeSelectFormat(8)], [0x02, 0x70, 0x02, 0x02, 0x08, 0x03]);
  t.equal(parseSelectFormat(encodeSelectFormat(7)), 7);
  t.equal(parseSelectFormat(Buffer.from([2, 0x71, 2, 2, 7, 3])), undefined);
});

t.test('bad checksum (#2, #7) → counted once, no garbage count for its bytes; #8: an impossible byte', async (t) => {
  for (const fmt of [2, 7] as const) {
    const fs = frames(fmt, 3);
    const bad = Buffer.from(fs[1]);
    bad[3] ^= 0x01;
    const f = new NoninFramer(fmt);
    const got = f.push(Buffer.concat([fs[0], bad, fs[2]]));
    t.same(
      got.map((b) => [...b]),
      [[...fs[0]], [...fs[2]]],
      `#${fmt}`,
    );
    t.same(f.stats().errors, { checksum: 1 }, `#${fmt}: one checksum error, no garbage count for its bytes`);
  }
  const f8 = new NoninFramer(8);
  const fs = frames(8, 3);
  const bad = Buffer.from(fs[1]);
  bad[2] |= 0x80; // #8 has no checksum: an impossible byte is the only tell
  t.equal(f8.push(Buffer.concat([fs[0], bad, fs[2]])).length, 2);
  t.ok(f8.stats().errors.garbage! >= 1);
});

t.test('garbage is counted by the byte while out of sync', async (t) => {
  for (const fmt of [2, 7, 8] as const) {
    const g = new NoninFramer(fmt);
    t.equal(g.push(Buffer.concat([Buffer.from([0x05, 0x11, 0x7f, 0x22, 0x00, 0x33]), ...frames(fmt, 30)])).length, 30, `#${fmt}`);
    t.equal(g.stats().errors.garbage, 6, `#${fmt}: garbage bytes counted`);
  }
});
