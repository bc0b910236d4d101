import t from 'tap';
import { encodeFormat8, encodeFrame, FRAME_SIZE, plausibleFormat8, checkFrame, type DataFormat } from './frame.js';
import { encodePacket } from './encode.js';
import { PROOF_FRAMES_8, ProofTracker, type Proof } from './detect.js';
import { noise, stream } from './test-streams.js';

const ALL: DataFormat[] = [2, 7, 8];

function proofs(b: Buffer, formats: DataFormat[] = ALL): Proof[] {
  const tr = new ProofTracker(formats);
  const out: Proof[] = [];
  for (let e = 1; e <= b.length; e++) out.push(...tr.step(b, 0, e));
  return out;
}

/** Longest chain of back-to-back frames of `size` bytes passing `ok` (by brute force, independent of the tracker). */
function maxChain(b: Buffer, size: number, ok: (at: number) => boolean): number {
  let best = 0;
  for (let s = 0; s < size; s++) {
    let run = 0;
    for (let at = s; at + size <= b.length; at += size) {
      run = ok(at) ? run + 1 : 0;
      best = Math.max(best, run);
    }
  }
  return best;
}

t.test('proofs: a #2/#7 packet closed by the next SYNC frame; 4 back-to-back plausible #8 seconds', async (t) => {
  for (const f of [2, 7] as const) {
    const b = stream(f, 3, 1);
    t.same(
      proofs(b).map((p) => [p.format, p.start, p.end]),
      [
        [f, 0, 130],
        [f, 125, 255],
      ],
      `#${f}: packets 1 and 2 proven when the next SYNC frame ends; packet 3 has no closing SYNC`,
    );
    t.same(
      proofs(b.subarray(37)).map((p) => [p.start, p.end]),
      [[88, 218]],
      `#${f}: joined mid-packet: the first whole packet`,
    );
  }
  const s8 = stream(8, 6, 1);
  t.same(
    proofs(s8).map((p) => [p.format, p.start, p.end]),
    [
      [8, 0, 16],
      [8, 4, 20],
      [8, 8, 24],
    ],
    '#8: from the 4th second on, every second',
  );
  t.same(proofs(s8.subarray(0, 15)), [], '3 seconds and a bit: no proof');
  t.equal(PROOF_FRAMES_8, 4);
});

t.test('proofs need back-to-back frames: one byte between frames restarts the count', async (t) => {
  const sec = (hr: number): Buffer => encodeFormat8({ status: 0x80, hrMsb: 0, hrLsb: hr, spo2: 97 });
  t.same(proofs(Buffer.concat([sec(70), sec(71), sec(72), Buffer.of(0x55), sec(73), sec(74), sec(75)])), [], '3 + 3 seconds split by one byte');
  t.same(
    proofs(Buffer.concat([sec(70), sec(71), sec(72), Buffer.of(0x55), sec(73), sec(74), sec(75), sec(76)])).map((p) => p.start),
    [13],
    'the 4 seconds after the byte',
  );
  const pkt = stream(2, 2, 4);
  const broken = Buffer.concat([pkt.subarray(0, 60), Buffer.of(0x55), pkt.subarray(60)]);
  t.same(proofs(broken), [], '#2: a byte inside the packet breaks it');
  const bad = Buffer.from(pkt);
  bad[5 * 12 + 4] ^= 0x10;
  t.same(proofs(bad), [], '#2: one bad checksum breaks it');
  const long = Buffer.concat([pkt.subarray(0, 125), encodeFrame(2, { status: 0x82, pleth: 1, data: 0 }), pkt.subarray(125)]);
  t.same(proofs(long), [], '#2: 26 frames between SYNCs is no packet');
});

t.test('#8 plausibility: HR MSB <= 3, SpO2 0..100 or 127', async (t) => {
  const f = (hrMsb: number, spo2: number): Buffer => Buffer.of(0x80, hrMsb, 0x10, spo2);
  t.ok(plausibleFormat8(f(3, 127), 0));
  t.ok(plausibleFormat8(f(0, 100), 0));
  t.notOk(plausibleFormat8(f(4, 97), 0), 'HR above 511');
  t.notOk(plausibleFormat8(f(0, 101), 0), 'SpO2 101');
  t.notOk(plausibleFormat8(Buffer.of(0x7f, 0, 0x10, 97), 0), 'no STATUS bit 7');
  t.equal(checkFrame(8, f(4, 101), 0), 'ok', 'the #8 framer itself checks only the shape');
});

t.test('the formats never prove each other: chains stay below a proof, on varied, adversarial and noisy streams', async (t) => {
  const plaus8 = (b: Buffer) => (at: number) => plausibleFormat8(b, at);
  const shape8 = (b: Buffer) => (at: number) => checkFrame(8, b, at) === 'ok';
  const ok = (f: 2 | 7, b: Buffer) => (at: number) => checkFrame(f, b, at) === 'ok';
  // adversarial #2/#7: flat pleth in the range that lets #8 shapes through, reserved DATA slots 0, sensor off
  const flat = (f: 2 | 7, pleth: number, status: number): Buffer =>
    Buffer.concat(Array.from({ length: 8 }, () => encodePacket(f, {}, new Array(25).fill(pleth), status)));
  const streams: [DataFormat, Buffer][] = [];
  for (let seed = 1; seed <= 6; seed++) for (const f of ALL) streams.push([f, stream(f, f === 8 ? 400 : 150, seed)]);
  for (const p of [0, 0x03, 0x7f, 0x80, 0x90, 0xfc, 0xff])
    for (const st of [0x82, 0xc0, 0x80]) {
      streams.push([2, flat(2, p, st)]);
      streams.push([7, flat(7, p * 257, st)]);
      streams.push([7, flat(7, p, st)]);
    }
  for (const [f, b] of streams) {
    const got = proofs(b);
    if (got.some((p) => p.format !== f)) t.fail(`#${f} stream proved ${got.find((p) => p.format !== f)!.format}`);
    if (f !== 8 && maxChain(b, 4, shape8(b)) > 2) t.fail(`#${f} stream: ${maxChain(b, 4, shape8(b))} back-to-back #8 shapes`);
    if (f === 8 && Math.max(maxChain(b, 5, ok(2, b)), maxChain(b, 5, ok(7, b))) > 1) t.fail('#8 stream: chained #2/#7 frames');
    if (f !== 8 && maxChain(b, 5, ok(f === 2 ? 7 : 2, b)) > 4)
      t.fail(`#${f} stream: ${maxChain(b, 5, ok(f === 2 ? 7 : 2, b))} back-to-back frames of the other checksummed format`);
  }
  t.pass(`${streams.length} streams: each proves only its own format; at most 2 back-to-back #8 shapes in #2/#7`);
  const n = noise(300_000, 9);
  t.same(proofs(n), [], '300 kB of random bytes prove nothing');
  t.ok(maxChain(n, 4, plaus8(n)) < PROOF_FRAMES_8, `noise: longest plausible #8 chain ${maxChain(n, 4, plaus8(n))}`);
  t.ok(maxChain(n, 4, shape8(n)) >= PROOF_FRAMES_8, 'while the bare #8 shape chains in noise (why plausibility is needed)');
});

t.test('the tracker reads only the last frame: a buffer that slides keeps the same proofs', async (t) => {
  const b = Buffer.concat([noise(300, 3), stream(7, 4, 3), stream(8, 5, 3), stream(2, 3, 3)]);
  const tr = new ProofTracker(ALL);
  const got: Proof[] = [];
  for (let e = 1; e <= b.length; e++) {
    const base = Math.max(0, e - 140);
    got.push(...tr.step(b.subarray(base, e), base, e));
  }
  t.same(got, proofs(b));
  t.same([...new Set(got.map((p) => p.format))], [7, 8, 2]);
  t.ok(FRAME_SIZE[8] === 4 && FRAME_SIZE[2] === 5);
});
