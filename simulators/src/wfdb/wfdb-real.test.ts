// WFDB reader on the real PhysioNet records (the developers' copy in ../shared/data/physionet
// beside the repository, or $ORLINK_PHYSIONET_DIR): header fields, sample counts, the header
// checksums (16-bit sum of adc values) and physiologically plausible ranges.
import t from 'tap';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { readRecord, readSegmentsByTime, signalJoined, signalSpans, decodeSamples, requireSignal } from './index.js';

const D = process.env.ORLINK_PHYSIONET_DIR ?? resolve(import.meta.dirname, '../../../../shared/data/physionet');

function checksum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s = (s + a[i]!) & 0xffff;
  return (s << 16) >> 16;
}
function range(a: Float64Array): { min: number; max: number; median: number; nan: number } {
  const v = Array.from(a)
    .filter((x) => !Number.isNaN(x))
    .sort((x, y) => x - y);
  return { min: v[0]!, max: v[v.length - 1]!, median: v[Math.floor(v.length / 2)]!, nan: a.length - v.length };
}

t.test('real records', { skip: existsSync(D) ? false : `no data in ${D}` }, async (t) => {
  t.test('03700181: 212x4 + 212 + 212:4 skew, 125 Hz frames', async (t) => {
    const r = readRecord(`${D}/03700181.hea`);
    t.equal(r.header.nSignals, 3);
    t.equal(r.fs, 125);
    t.equal(r.nFrames, 75000);
    t.equal(r.header.baseDate, '15/08/1994');
    const ecg = requireSignal(r, 'MCL1');
    t.equal(ecg.fs, 500);
    t.equal(ecg.adc.length, 300000);
    t.equal(ecg.spec.gain, 2963.77);
    t.equal(checksum(ecg.adc), ecg.spec.checksum, 'ECG checksum matches the header');
    t.equal(ecg.adc[0], ecg.spec.initialValue);
    const abp = requireSignal(r, 'ABP');
    t.equal(abp.spec.baseline, -1605);
    t.equal(abp.spec.units, 'mmHg');
    t.equal(checksum(abp.adc), abp.spec.checksum);
    t.equal(abp.physical[0], (-943 + 1605) / 12.84);
    const resp = requireSignal(r, 'RESP');
    t.equal(resp.spec.skew, 4);
    t.equal(resp.spec.gain, 2000);
    // the header checksum covers the stored (unskewed) column: frame layout is 4 ECG + ABP + RESP
    const raw = decodeSamples(212, (await import('node:fs')).readFileSync(`${D}/03700181.dat`), 0, 75000 * 6);
    const col = Array.from({ length: 75000 }, (_, i) => raw[i * 6 + 5]!);
    t.equal(checksum(col), resp.spec.checksum);
    t.equal(col[0], resp.spec.initialValue);
    t.equal(resp.adc[0], col[4], 'skew: sample 0 comes from frame 4');
    t.equal(range(resp.physical).nan, 4, 'the last `skew` samples are missing');
    const er = range(ecg.physical);
    t.ok(er.min > -5 && er.max < 5, `ECG within ±5 mV (${er.min}..${er.max})`);
    const ar = range(abp.physical);
    t.ok(ar.min >= 0 && ar.max <= 300 && ar.median > 20, `ABP plausible (${ar.min}..${ar.max})`);
  });

  t.test('a103l: MATLAB v4 .mat (16+24), 250 Hz', async (t) => {
    const r = readRecord(`${D}/a103l.hea`);
    t.equal(r.nFrames, 82500);
    t.same(
      r.signals.map((s) => s.name),
      ['II', 'V', 'PLETH'],
    );
    t.same(r.header.comments, ['Asystole', 'False alarm']);
    for (const s of r.signals) {
      t.equal(s.spec.byteOffset, 24);
      t.equal(checksum(s.adc), s.spec.checksum, `${s.name} checksum`);
      t.equal(s.adc[0], s.spec.initialValue);
    }
    const pl = range(requireSignal(r, 'PLETH').physical);
    t.ok(pl.min > -0.1 && pl.max <= 1.01, 'PLETH normalised 0..1');
    const ii = range(requireSignal(r, 'II').physical);
    t.ok(ii.min > -5 && ii.max < 5);
  });

  t.test('100 and 3000003_0003: comments, blank lines, format 80', async (t) => {
    const r = readRecord(`${D}/100.hea`);
    t.equal(r.nFrames, 650000);
    t.equal(r.fs, 360);
    t.same(r.header.comments, ['unnecessary comment', '69 M 1085 1629 x1', 'Aldomet, Inderal']);
    for (const s of r.signals) t.equal(checksum(s.adc), s.spec.checksum);
    const m = readRecord(`${D}/3000003_0003.hea`);
    t.equal(m.nFrames, 1028);
    t.equal(m.header.baseTime, '19:46:25.757');
    for (const s of m.signals) {
      t.equal(s.spec.format, 80);
      t.equal(checksum(s.adc), s.spec.checksum);
    }
  });

  t.test('s00001 numerics: 1/min, -32768 = missing', async (t) => {
    const r = readRecord(`${D}/multi-segment/s00001/s00001-2896-10-10-00-31n.hea`);
    t.equal(r.header.nSignals, 10);
    t.equal(r.nFrames, 1936);
    t.ok(Math.abs(r.fs - 1 / 60) < 1e-9);
    t.equal(r.header.counterFreq, 125);
    for (const s of r.signals) t.equal(checksum(s.adc), s.spec.checksum, `${s.name} checksum`);
    const nbp = requireSignal(r, 'NBPSys');
    t.ok(Number.isNaN(nbp.physical[0]!), '-32768 is missing');
    const nr = range(nbp.physical);
    t.ok(nr.nan > 1000 && nr.min >= 60 && nr.max <= 250, `NBP sys plausible where present (${nr.min}..${nr.max})`);
    const hr = requireSignal(r, 'HR');
    t.equal(hr.physical[1], 62.8);
    t.equal(hr.units, 'bpm');
  });

  t.test('multi-segment by base time: p000878 and s00001 waveforms', async (t) => {
    const p = readSegmentsByTime(`${D}/multi-segment/p000878`, '3269321');
    t.equal(p.layout?.nSignals, 4);
    t.same(
      p.segments.map((s) => [s.name, s.startFrame, s.nFrames]),
      [
        ['3269321_0001', 3750, 2000],
        ['3269321_0002', 5750, 1750],
      ],
    );
    for (const seg of p.segments) for (const s of seg.record!.signals) t.equal(checksum(s.adc), s.spec.checksum);
    t.equal(signalSpans(p, 'PLETH').length, 2);
    t.equal(signalSpans(p, 'ABP').length, 0, 'ABP is in the layout only');
    const pleth = signalJoined(p, 'PLETH');
    t.equal(pleth.physical.length, 3750, 'the two PLETH segments are contiguous');
    t.equal(pleth.startFrame, 3750);
    const s = readSegmentsByTime(`${D}/multi-segment/s00001`, '3975656');
    t.equal(s.segments.length, 2);
    const abp = signalSpans(s, 'ABP')[1]!;
    const ar = range(abp.physical);
    t.ok(ar.median > 60 && ar.median < 130, `ABP median ${ar.median} mmHg`);
    t.throws(() => signalJoined(s, 'ABP', 1000), { code: 'SIM_ERR_WFDB_SIGNAL' });
  });
});
