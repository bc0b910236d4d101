import t from 'tap';
import { encodeFormat8, encodeFrame, encodeSelectFormat, parseSelectFormat, combineHr, splitHr, type DataFormat } from './frame.js';
import { NoninFramer } from './framer.js';

const frames = (fmt: DataFormat, n: number): Buffer[] => Array.from({ length: n }, (_, i) =>
  fmt === 8 ? encodeFormat8({ status: 0x80 | (i & 0x7f), hrMsb: i & 3, hrLsb: (i * 7) & 0x7f, spo2: 90 + (i % 10) })
    : encodeFrame(fmt, { status: 0x80 | (i === 0 ? 1 : 0) | 0x02, pleth: fmt === 2 ? (i * 29) & 0xff : (i * 3001) & 0xffff, data: (i * 13) & 0x7f }));

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

for (const fmt of [2, 7, 8] as const) {
  t.test(`format #${fmt} framer edge cases`, async (t) => {
    const fs = frames(fmt, 30);
    const whole = Buffer.concat(fs);
    const one = new NoninFramer(fmt);
    t.same(one.push(fs[0]).map((b) => [...b]), [[...fs[0]]], 'one frame');
    t.same(one.stats().errors, {});
    t.equal(new NoninFramer(fmt).push(Buffer.concat([fs[1], fs[2]])).length, 2, 'two frames in one chunk');
    let ok = true;
    for (let cut = 0; cut <= whole.length && ok; cut++) {
      const f = new NoninFramer(fmt);
      const got = [...f.push(whole.subarray(0, cut)), ...f.push(whole.subarray(cut))];
      ok = got.length === 30 && Buffer.concat(got).equals(whole);
      if (!ok) t.fail(`split at ${cut}`);
    }
    t.ok(ok, 'split at every byte offset');
    const g = new NoninFramer(fmt);
    t.equal(g.push(Buffer.concat([Buffer.from([0x05, 0x11, 0x7f, 0x22, 0x00, 0x33]), whole])).length, 30, 'garbage before the first frame');
    t.equal(g.stats().errors.garbage, 6, 'garbage bytes counted');
    const byte = Buffer.alloc(1);
    const bytewise = new NoninFramer(fmt);
    let n = 0;
    for (const b of whole) { byte[0] = b; n += bytewise.push(byte).length; }
    t.equal(n, 30, 'one byte at a time');
    const big = new NoninFramer(fmt);
    for (let i = 0; i < 200; i++) big.push(Buffer.alloc(1000, 0x05));
    t.ok((big as unknown as { pending: Buffer }).pending.length < 5, 'held bytes stay below one frame (no unbounded buffer)');
    t.equal(big.push(whole).length, 30, 'and the next good frames get through');
  });
}

t.test('bad checksum (#2, #7) → counted once, the next good frame gets through', async (t) => {
  for (const fmt of [2, 7] as const) {
    const fs = frames(fmt, 3);
    const bad = Buffer.from(fs[1]);
    bad[3] ^= 0x01;
    const f = new NoninFramer(fmt);
    const got = f.push(Buffer.concat([fs[0], bad, fs[2]]));
    t.same(got.map((b) => [...b]), [[...fs[0]], [...fs[2]]], `#${fmt}`);
    t.same(f.stats().errors, { checksum: 1 }, `#${fmt}: one checksum error, no garbage count for its bytes`);
  }
  const f8 = new NoninFramer(8);
  const fs = frames(8, 3);
  const bad = Buffer.from(fs[1]);
  bad[2] |= 0x80; // #8 has no checksum: an impossible byte is the only tell
  t.equal(f8.push(Buffer.concat([fs[0], bad, fs[2]])).length, 2);
  t.ok(f8.stats().errors.garbage! >= 1);
});
