/**
 * Profile `auto`: the data format found in the stream. The reference is always the decoder with
 * the format's profile given explicitly: same observations (values, times, flags), same counters.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Observation } from '../../../../schemas/src/observation.js';
import { DETECT_BUDGET } from './auto-format.js';
import { PROOF_SPAN } from './detect.js';
import { encodeSecond } from './encode.js';
import type { DataFormat } from './frame.js';
import { NoninStreamDecoder } from './stream-decoder.js';
import { decodeChunks, gist, noise, rechunk, stream, type Chunk } from './test-streams.js';

const PROFILE: Record<DataFormat, string> = { 2: 'nonin/oem-iii/format2', 7: 'nonin/onyx-ii-9560/format7', 8: 'nonin/wristox2-3150/format8' };
const ALL: DataFormat[] = [2, 7, 8];
const json = (o: Observation[]): string[] => o.map((x) => JSON.stringify(x));
/** Bytes of one packet (#2/#7) or second (#8). */
const unit = (f: DataFormat): number => (f === 8 ? 4 : 125);
/** Chunks of one packet/second each, received at its end (as a device sends them). */
const perUnit = (b: Buffer, f: DataFormat, rx0 = 1_000_000): Chunk[] =>
  Array.from({ length: Math.ceil(b.length / unit(f)) }, (_, i) => ({
    bytes: b.subarray(i * unit(f), (i + 1) * unit(f)),
    rx: rx0 + (i + 1) * (f === 8 ? 1000 : 1000 / 3),
  }));

function both(f: DataFormat, chunks: Chunk[], refChunks = chunks): { auto: NoninStreamDecoder; ref: NoninStreamDecoder; a: Observation[]; r: Observation[] } {
  const auto = new NoninStreamDecoder({ profileId: 'auto' });
  const ref = new NoninStreamDecoder({ profileId: PROFILE[f] });
  return { auto, ref, a: decodeChunks(auto, chunks), r: decodeChunks(ref, refChunks) };
}

for (const f of ALL) {
  t.test(`#${f}: nothing until the proof, then the same output as the explicit profile, from the first frame`, async (t) => {
    const b = stream(f, f === 8 ? 12 : 9, 20 + f);
    const chunks = perUnit(b, f);
    const auto = new NoninStreamDecoder();
    const before = decodeChunks(auto, chunks.slice(0, f === 8 ? 3 : 1));
    t.same(
      [before, auto.identity(), auto.profileId(), auto.stats().frames, auto.lastFrameAt()],
      [[], undefined, undefined, 0, undefined],
      'undecided: no readings, no identity',
    );
    const after = decodeChunks(auto, chunks.slice(f === 8 ? 3 : 1));
    const ref = new NoninStreamDecoder({ profileId: PROFILE[f] });
    const want = decodeChunks(ref, chunks);
    t.same(json([...before, ...after]), json(want), 'observations equal, first packet included, receive-time anchoring equal');
    t.same(auto.stats(), ref.stats(), 'frames, bytes, errors');
    t.same(auto.recordCounts(), ref.recordCounts());
    t.equal(auto.profileId(), PROFILE[f]);
    t.same(
      auto.identity(),
      { vendor: 'Nonin', protocolLevel: `format-${f}`, ...(f === 8 ? {} : { firmware: String(ref.identity()!.firmware) }) },
      'format and firmware; no model (the format names none)',
    );
    t.equal(auto.lastFrameAt(), ref.lastFrameAt());
  });

  t.test(`#${f}: split at every byte offset, random chunking, one big chunk`, async (t) => {
    const short = stream(f, f === 8 ? 6 : 3, 30 + f);
    const want = json(new NoninStreamDecoder({ profileId: PROFILE[f] }).push(short));
    t.ok(want.length > 0);
    let bad = -1;
    for (let cut = 0; cut <= short.length && bad < 0; cut++) {
      const d = new NoninStreamDecoder();
      if (JSON.stringify(json([...d.push(short.subarray(0, cut)), ...d.push(short.subarray(cut))])) !== JSON.stringify(want)) bad = cut;
    }
    t.equal(bad, -1, `every split of ${short.length} bytes`);
    const long = stream(f, f === 8 ? 300 : 60, 40 + f);
    for (let seed = 1; seed <= 12; seed++) {
      const { a, r, auto, ref } = both(f, rechunk(long, seed, seed % 3 === 0 ? 700 : 40, 5_000_000));
      if (JSON.stringify(json(a)) !== JSON.stringify(json(r)) || JSON.stringify(auto.stats()) !== JSON.stringify(ref.stats()))
        t.fail(`random chunking, seed ${seed}`);
    }
    t.pass('12 random chunkings (1..40 and 1..700 bytes, receive times) equal the explicit profile');
    const { a, r } = both(f, [{ bytes: long }]);
    t.same(json(a), json(r), `one chunk of ${long.length} bytes`);
  });

  t.test(`#${f}: garbage before the stream`, async (t) => {
    const b = stream(f, f === 8 ? 10 : 6, 50 + f);
    const tail = Buffer.of(0xff, 0xff, 0xff, 0xff); // no frame can start in it: the proof starts with the stream
    for (const n of [300, 3000]) {
      const bytes = Buffer.concat([noise(n, f), tail, b]);
      const lockAt = n + 4 + (f === 8 ? 16 : 130);
      // #2/#7: the held bytes are replayed (what the profile given would read of them); #8: from its proof on
      const from = f === 8 ? n + 4 : Math.max(0, lockAt - DETECT_BUDGET);
      const g = both(f, rechunk(bytes, n, 50), [{ bytes: bytes.subarray(from) }]);
      t.same(json(g.a), json(g.r), `${n + 4} random bytes: the readings of the explicit profile on the bytes from ${from}`);
      t.same(
        g.a.filter((o) => o.kind === 'numeric').length,
        new NoninStreamDecoder({ profileId: PROFILE[f] }).push(b).filter((o) => o.kind === 'numeric').length,
        'every reading of the stream, none from the noise',
      );
      t.equal(g.auto.stats().errors['format-undetermined'], from || undefined, 'the bytes no decoder got are counted');
      if (f !== 8 && n === 300) t.same(g.auto.stats(), g.ref.stats(), 'held garbage counted by the framer as with the profile given');
    }
  });
}

t.test('committed synthetic testcases: #2 and #7 decode as expected.ndjson at every split; #8 is too short to tell', async (t) => {
  const dir = resolve(import.meta.dirname, '../../../../firmware-profiles/nonin/testcases');
  const capture = (c: string): Chunk[] =>
    readFileSync(`${dir}/${c}/capture.hexlog`, 'latin1')
      .split('\n')
      .filter((l) => l.startsWith('RX'))
      .map((l) => ({ bytes: Buffer.from(l.slice(2).replace(/\s+/g, ''), 'hex') }));
  for (const c of ['format2-synthetic', 'format7-synthetic']) {
    const want = readFileSync(`${dir}/${c}/expected.ndjson`, 'utf8').split('\n').filter(Boolean);
    t.same(json(decodeChunks(new NoninStreamDecoder(), capture(c))), want, c);
    const whole = Buffer.concat(capture(c).map((x) => x.bytes));
    let bad = -1;
    for (let cut = 0; cut <= whole.length && bad < 0; cut++) {
      const d = new NoninStreamDecoder();
      if (JSON.stringify(json([...d.push(whole.subarray(0, cut)), ...d.push(whole.subarray(cut))])) !== JSON.stringify(want)) bad = cut;
    }
    t.equal(bad, -1, `${c}: every split of ${whole.length} bytes`);
  }
  const c8 = capture('format8-synthetic');
  const d8 = new NoninStreamDecoder();
  t.same(decodeChunks(d8, c8), [], '#8 capture: 2 + 2 seconds around 2 garbage bytes prove nothing (4 back-to-back needed)');
  t.equal(d8.identity(), undefined);
  const more = [encodeSecond({ HR: 71, SPO2: 97 }, 0x80), encodeSecond({ HR: 72, SPO2: 96 }, 0x80)].map((bytes) => ({ bytes }));
  const whole8 = Buffer.concat([...c8, ...more].map((x) => x.bytes));
  const got8 = decodeChunks(d8, more);
  t.same(
    json(got8),
    json(new NoninStreamDecoder({ profileId: PROFILE[8] }).push(whole8.subarray(10))),
    'two more seconds: proven by the 4 seconds after the garbage, all 4 decoded',
  );
  t.equal(got8.filter((o) => o.kind === 'numeric').length, 8);
  t.same(d8.stats().errors, { 'format-undetermined': 10 }, 'the 2 seconds and 2 bytes before the proof: not read (no checksum), counted');
  const held = new NoninStreamDecoder();
  decodeChunks(held, c8);
  held.flush();
  t.same(held.stats().errors, { 'format-undetermined': 18 }, 'flush: the held bytes are counted undetermined');
  held.flush();
  t.same(held.stats().errors, { 'format-undetermined': 18 }, 'once');
});

t.test('the format changes mid-stream (menu, device swap): each part decoded, the change counted and flagged', async (t) => {
  const parts: [DataFormat, Buffer][] = [
    [2, stream(2, 5, 61)],
    [7, stream(7, 5, 62)],
    [8, stream(8, 8, 63)],
    [2, stream(2, 5, 64)],
  ];
  const auto = new NoninStreamDecoder();
  const seen: (string | undefined)[] = [];
  const got: Observation[][] = [];
  for (const [, b] of parts) {
    got.push(decodeChunks(auto, rechunk(b, b.length, 30)));
    seen.push(auto.profileId());
  }
  t.same(
    seen,
    parts.map(([f]) => PROFILE[f]),
    'profile follows the stream',
  );
  t.equal(auto.stats().errors['format-changed'], 3);
  const own = parts.map(([f, b]) => new NoninStreamDecoder({ profileId: PROFILE[f] }).push(b));
  t.same(got.flat().map(gist), own.flat().map(gist), 'every reading of every part, in order, nothing else');
  // what the #8 profile given explicitly reads of the #2 bytes before their proof: auto reads #8 only in runs of 3
  const d8 = new NoninStreamDecoder({ profileId: PROFILE[8] });
  d8.push(parts[2][1]);
  t.ok(d8.push(parts[3][1].subarray(0, 130)).filter((o) => o.kind === 'numeric').length >= 10, 'the bare #8 framer reads many bogus seconds there; auto none');
  for (const i of [1, 2, 3]) {
    t.same(
      (got[i].find((o) => o.kind === 'numeric') as { flags?: string[] }).flags,
      ['discontinuity'],
      `first reading after change ${i} flagged discontinuity`,
    );
  }
  const { 'format-changed': changed, garbage = 0, checksum = 0, ...rest } = auto.stats().errors;
  t.equal(changed, 3);
  t.same(rest, {}, 'no undetermined or unconfirmed bytes, no loss');
  t.ok(garbage + checksum <= 3 * PROOF_SPAN, `the old decoders counted the new bytes they saw before each proof (${garbage} garbage, ${checksum} checksum)`);
});

t.test('#8 after its proof: seconds read in runs of 3 or more; a lone second between garbage is counted, not read', async (t) => {
  const sec = stream(8, 40, 90);
  const at = (i: number): Buffer => sec.subarray(4 * i, 4 * i + 4);
  const g = noise(7, 91, 0x02, 0x7f);
  // 10 seconds | g | 10 seconds | g | 1 second | g | 2 seconds | g | 3 seconds
  const runs = [
    [0, 10],
    [10, 20],
    [20, 21],
    [21, 23],
    [23, 26],
  ];
  const bytes = Buffer.concat(runs.flatMap(([a, b], k) => [...(k ? [g] : []), ...Array.from({ length: b - a }, (_, i) => at(a + i))]));
  const auto = new NoninStreamDecoder();
  const got = decodeChunks(auto, rechunk(bytes, 92, 9));
  const read = [
    [0, 10],
    [10, 20],
    [23, 26],
  ].flatMap(([a, b]) => Array.from({ length: b - a }, (_, i) => at(a + i)));
  const ref = new NoninStreamDecoder({ profileId: PROFILE[8] });
  t.same(
    got.filter((o) => o.kind === 'numeric').map(gist),
    ref
      .push(Buffer.concat(read))
      .filter((o) => o.kind === 'numeric')
      .map(gist),
    'the seconds in runs of 10, 10 and 3',
  );
  t.same(auto.stats().errors, { unconfirmed: 4 * 7 + 4 * 3 }, 'garbage and the seconds in runs of 1 and 2: counted as unconfirmed');
  t.equal(auto.stats().frames, 23);
  const all = new NoninStreamDecoder({ profileId: PROFILE[8] }).push(bytes).filter((o) => o.kind === 'numeric').length;
  t.ok(all > 46, `the #8 profile given explicitly reads them all, and more from the garbage (${all / 2} seconds)`);
  t.same(auto.push(Buffer.concat([g, at(26), at(27)])), [], 'garbage, then 2 seconds: held for a third');
  auto.flush();
  t.same(auto.stats().errors, { unconfirmed: 4 * 7 + 4 * 3 + 7 + 8 }, 'the link goes: what was held is counted');
});

t.test('the stream stops matching: lost after a window of bytes without a valid frame, identity cleared, found again', async (t) => {
  const p2 = stream(2, 3, 71);
  const junk = noise(3000, 72, 0x02, 0x7f); // bit 7 never set: no STATUS byte, no frame of any format
  const p7 = stream(7, 4, 73);
  const auto = new NoninStreamDecoder();
  const a = decodeChunks(auto, rechunk(Buffer.concat([p2, junk.subarray(0, 1100)]), 5, 60));
  t.equal(auto.stats().errors['format-lost'], 1);
  t.equal(auto.identity(), undefined, 'identity cleared');
  t.equal(auto.profileId(), undefined);
  const b = decodeChunks(auto, rechunk(Buffer.concat([junk.subarray(1100), p7]), 6, 60));
  t.equal(auto.profileId(), PROFILE[7], 'found again');
  t.same(
    [...a, ...b].map(gist),
    [...new NoninStreamDecoder({ profileId: PROFILE[2] }).push(p2), ...new NoninStreamDecoder({ profileId: PROFILE[7] }).push(p7)].map(gist),
  );
  const lostAt = p2.length + DETECT_BUDGET;
  const lockAt = p2.length + junk.length + 130;
  t.equal(auto.stats().errors['format-undetermined'], lockAt - DETECT_BUDGET - lostAt, 'counted: the bytes after the loss that left the window undecided');
  t.match((b.find((o) => o.kind === 'numeric') as { flags?: string[] }).flags, ['discontinuity']);
});

t.test("auto with the dataFormat option: that format's profile, no detection", async (t) => {
  const d = new NoninStreamDecoder({ profileId: 'auto', dataFormat: 7 });
  t.equal(d.profileId(), PROFILE[7]);
  t.equal(d.detecting, false);
  const b = stream(7, 2, 80);
  t.same(
    json(d.push(b)),
    json(new NoninStreamDecoder({ profileId: PROFILE[7] }).push(b)),
    'the first packet at once (no proof needed); 16-bit HR of the #7 profile',
  );
  t.equal(new NoninStreamDecoder().detecting, true);
});
