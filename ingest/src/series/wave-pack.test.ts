import t from 'tap';
import { packInts, unpackInts, unzigzag, zigzag } from './wave-pack.js';

t.test('zigzag', async (t) => {
  t.same([0, -1, 1, -2, 2, -64, 64].map(zigzag), [0, 1, 2, 3, 4, 127, 128]);
  for (const v of [0, 1, -1, 123456, -987654, 2 ** 40, -(2 ** 40)]) t.equal(unzigzag(zigzag(v)), v);
});

t.test('pack/unpack round trip (seeded)', async (t) => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let k = 0; k < 50; k++) {
    const n = Math.floor(rnd() * 600);
    const ints = Array.from({ length: n }, () => Math.round((rnd() - 0.5) * 2 ** (1 + Math.floor(rnd() * 31))));
    t.same(unpackInts(packInts(ints)), ints);
  }
  t.same(unpackInts(packInts([])), []);
});

t.test('a slowly changing signal packs small (1 byte per sample)', async (t) => {
  const ints = Array.from({ length: 500 }, (_, i) => 1000 + Math.round(30 * Math.sin(i / 20)));
  t.ok(Buffer.from(packInts(ints), 'base64').length <= 502);
});

t.test('corrupt data throws instead of looping', async (t) => {
  t.throws(() => unpackInts(Buffer.from([0x80, 0x80]).toString('base64')), /truncated/);
  t.throws(() => unpackInts(Buffer.alloc(12, 0xff).toString('base64')), /too long/);
});
