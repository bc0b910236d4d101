// WFDB reader on tiny hand-made buffers: each storage format, frames with samples-per-frame and
// skew, the .mat v4 header, header edge cases, a master multi-segment header, the resampler.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeRecord,
  decodeSamples,
  encodeSamples,
  fillGaps,
  parseHeader,
  parseMatV4Header,
  readMultiSegment,
  readRecord,
  resampleLinear,
  signalJoined,
  baseTimeSeconds,
} from './index.js';

t.test('format 212: two 12-bit samples in three bytes', async (t) => {
  // s0 = 0x123, s1 = -2 (0xFFE): byte0 = 0x23, byte1 = 0xF1 (hi nibble of s1, hi nibble of s0), byte2 = 0xFE
  t.same(Array.from(decodeSamples(212, Uint8Array.from([0x23, 0xf1, 0xfe]), 0, 2)), [0x123, -2]);
  const vals = [0, 1, -1, 2047, -2048, 100, -100];
  t.same(Array.from(decodeSamples(212, encodeSamples(212, vals), 0, vals.length)), vals, 'odd count round trip');
});

t.test('formats 16, 61, 80, 24, 32', async (t) => {
  t.same(Array.from(decodeSamples(16, Uint8Array.from([0x01, 0x80, 0xff, 0x7f]), 0, 2)), [-32767, 32767]);
  t.same(Array.from(decodeSamples(61, Uint8Array.from([0x80, 0x01]), 0, 1)), [-32767]);
  t.same(Array.from(decodeSamples(80, Uint8Array.from([0, 128, 255]), 0, 3)), [-128, 0, 127]);
  for (const f of [16, 61, 80, 24, 32]) {
    const vals = f === 80 ? [-128, -1, 0, 1, 127] : [-32768, -1, 0, 1, 32767];
    t.same(Array.from(decodeSamples(f, encodeSamples(f, vals), 0, vals.length)), vals, `format ${f} round trip`);
  }
  t.throws(() => decodeSamples(16, new Uint8Array(3), 0, 2), { code: 'SIM_ERR_WFDB_FILE' });
  t.throws(() => decodeSamples(310, new Uint8Array(3), 0, 1), { code: 'SIM_ERR_WFDB_FORMAT' });
});

t.test('header parsing', async (t) => {
  const h = parseHeader('# c1\nrec 2 0.0166666/125 10 8:35:48.212 10/10/2896\n\nrec.dat 212x4:2+6 12.5(-100)/mmHg 12 5 7 99 0 ART line\nrec.dat 212\n');
  t.equal(h.name, 'rec');
  t.equal(h.nSamples, 10);
  t.equal(h.counterFreq, 125);
  t.equal(h.baseTime, '8:35:48.212');
  t.same(h.comments, ['c1']);
  const [a, b] = h.signals;
  t.match(a, {
    format: 212,
    samplesPerFrame: 4,
    skew: 2,
    byteOffset: 6,
    gain: 12.5,
    baseline: -100,
    units: 'mmHg',
    adcZero: 5,
    initialValue: 7,
    checksum: 99,
    description: 'ART line',
  });
  t.match(b, { gain: 200, baseline: 0, units: 'mV', samplesPerFrame: 1 }, 'WFDB defaults');
  t.equal(parseHeader('r 1\nr.dat 16 100/mV 16 -5\n').signals[0]!.baseline, -5, 'baseline defaults to adc zero');
  t.equal(parseHeader('r 1\nr.dat 16 0/mV\n').signals[0]!.gain, 200, 'gain 0 means 200');
  t.equal(baseTimeSeconds('31:25.5'), 1885.5);
  t.equal(baseTimeSeconds(' 8:00:00'.trim()), 28800);
  t.throws(() => parseHeader(''), { code: 'SIM_ERR_WFDB_HEADER' });
  t.throws(() => parseHeader('r 2\nr.dat 16\n'), { code: 'SIM_ERR_WFDB_HEADER' });
  t.throws(() => parseHeader('r 1\nr.dat 1x2y\n'), { code: 'SIM_ERR_WFDB_HEADER' });
  t.throws(() => parseHeader('r 1 abc\nr.dat 16\n'), { code: 'SIM_ERR_WFDB_HEADER' });
});

t.test('frames: samples per frame, skew, physical, invalid', async (t) => {
  // frame = 2 samples of A, 1 of B; 3 frames; B skewed by 1
  const raw = [10, 11, 100, 12, 13, 200, 14, -32768, 300];
  const h = parseHeader('r 2 100 3\nr.dat 16x2 10(10)/mV 16 0 10\nr.dat 16:1 2/mmHg 16 0 100\n');
  const rec = decodeRecord(h, () => encodeSamples(16, raw));
  const [a, b] = rec.signals;
  t.equal(a!.fs, 200);
  t.same(Array.from(a!.adc), [10, 11, 12, 13, 14, -32768]);
  t.same(Array.from(a!.physical.slice(0, 5)), [0, 0.1, 0.2, 0.3, 0.4]);
  t.ok(Number.isNaN(a!.physical[5]!), 'invalid sample → NaN');
  t.same(Array.from(b!.adc), [200, 300, -32768], 'skew 1: sample 0 is in frame 1; the tail is missing');
  t.same(Array.from(b!.physical.slice(0, 2)), [100, 150]);
  const short = decodeRecord(parseHeader('r 1 100 10\nr.dat 80\n'), () => encodeSamples(80, [1, 2, 3]));
  t.equal(short.nFrames, 3);
  t.equal(short.truncated, true);
  const open = decodeRecord(parseHeader('r 1 100\nr.dat 80\n'), () => encodeSamples(80, [1, 2, 3, 4]));
  t.equal(open.nFrames, 4, 'no sample count: the file length decides');
  t.throws(
    () =>
      decodeRecord(parseHeader('r 1 100 3\nr.dat 16\n'), () => {
        throw new Error('ENOENT');
      }),
    { code: 'SIM_ERR_WFDB_FILE' },
  );
});

function matFile(rows: number, cols: number, data: number[]): Uint8Array {
  const head = Buffer.alloc(24);
  head.writeInt32LE(30, 0);
  head.writeInt32LE(rows, 4);
  head.writeInt32LE(cols, 8);
  head.writeInt32LE(0, 12);
  head.writeInt32LE(4, 16);
  head.write('val\0', 20, 'latin1');
  return Buffer.concat([head, encodeSamples(16, data)]);
}

t.test('MATLAB v4 .mat (16+24)', async (t) => {
  const m = matFile(2, 3, [1, -1, 2, -2, 3, -3]);
  t.same(parseMatV4Header(m), { rows: 2, cols: 3, headerBytes: 24, name: 'val' });
  const rec = decodeRecord(parseHeader('m 2 250 3\nm.mat 16+24 100/mV 16 0\nm.mat 16+24 100/NU 16 0\n'), () => m);
  t.same(Array.from(rec.signals[0]!.adc), [1, 2, 3]);
  t.same(Array.from(rec.signals[1]!.physical), [-0.01, -0.02, -0.03]);
  const bad = Buffer.from(m);
  bad.writeInt32LE(0, 0);
  t.throws(() => parseMatV4Header(bad), { code: 'SIM_ERR_WFDB_FORMAT' });
  t.throws(() => decodeRecord(parseHeader('m 3 250 3\nm.mat 16+24\nm.mat 16+24\nm.mat 16+24\n'), () => m), { code: 'SIM_ERR_WFDB_FORMAT' });
});

t.test('multi-segment master header with a layout and a gap', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wfdb-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ms.hea'), 'ms/4 1 10 9\nms_layout 0\nms_1 3\n~ 2\nms_2 4\n');
  writeFileSync(join(dir, 'ms_layout.hea'), 'ms_layout 1 10 0\n~ 0 1/mV 8 0\n');
  writeFileSync(join(dir, 'ms_1.hea'), 'ms_1 1 10 3\nms_1.dat 80 1/mV 8 0 0 0 0 X\n');
  writeFileSync(join(dir, 'ms_1.dat'), encodeSamples(80, [1, 2, 3]));
  writeFileSync(join(dir, 'ms_2.hea'), 'ms_2 1 10 4\nms_2.dat 80 2/mV 8 0 0 0 0 X\n');
  writeFileSync(join(dir, 'ms_2.dat'), encodeSamples(80, [2, 4, 6, 8]));
  const ms = readMultiSegment(join(dir, 'ms.hea'), dir);
  t.equal(ms.layout?.nSamples, 0);
  t.same(
    ms.segments.map((s) => [s.name, s.startFrame]),
    [
      ['ms_1', 0],
      ['~', 3],
      ['ms_2', 5],
    ],
  );
  const j = signalJoined(ms, 'X');
  t.same(
    Array.from(j.physical).map((v) => (Number.isNaN(v) ? null : v)),
    [1, 2, 3, null, null, 1, 2, 3, 4],
    'each segment its own gain',
  );
  t.throws(() => readMultiSegment(join(dir, 'ms_1.hea'), dir), { code: 'SIM_ERR_WFDB_HEADER' });
  t.throws(() => readRecord(join(dir, 'nope.hea')), { code: 'SIM_ERR_WFDB_FILE' });
});

t.test('resampleLinear', async (t) => {
  t.same(Array.from(resampleLinear([0, 10, 20, 30], 4, 8)), [0, 5, 10, 15, 20, 25, 30, 30]);
  t.same(Array.from(resampleLinear([0, 10, 20, 30], 4, 8, { periodic: true })), [0, 5, 10, 15, 20, 25, 30, 15], 'wraps to the first sample');
  t.same(Array.from(resampleLinear([0, 1, 2, 3, 4, 5], 6, 3)), [0, 2, 4]);
  t.equal(resampleLinear(new Float64Array(500), 500, 300).length, 300);
  t.same(Array.from(resampleLinear([0, NaN, 4], 1, 2)), [0, 0, 4, 4, 4, 4], 'NaN bridged by a neighbour');
  t.same(Array.from(fillGaps(Float64Array.from([NaN, 1, NaN, 3]))), [1, 1, 1, 3]);
  t.throws(() => resampleLinear([1], 0, 1));
});
