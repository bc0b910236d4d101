import t from 'tap';
import { frameRecord, unframe } from './frame.js';
import { encodePhdbRequest, encodeWaveRequest, parseRequest } from './requests.js';

// The two example byte strings of the digest (§2.5), checksums right.
const hex = (s: string): string => s.replace(/\s+/g, '');
const PHDB_EXAMPLE = hex(
  '7e 31 00 00 09 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 ff 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 0a 00 0e 00 00 00 00 00 52 7e',
);
const WAVE_EXAMPLE = hex(
  '7e 48 00 00 09 00 00 00 00 00 00 00 00 00 00 01 00 00 00 00 00 00 ff 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 08 ff 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 59 7e',
);

t.test('PHDB request equals the digest example (DISPL, 10 s, all classes, level 9)', async (t) => {
  const rec = encodePhdbRequest({ recordType: 1, intervalS: 10, classMask: 0x0e, driLevel: 9 });
  t.equal(rec.length, 49);
  t.equal(frameRecord(rec).toString('hex'), PHDB_EXAMPLE);
});

t.test('wave request equals the digest example (continuous ECG1 + PLETH, level 9)', async (t) => {
  const rec = encodeWaveRequest({ reqType: 0, waveIds: [1, 8], driLevel: 9 });
  t.equal(rec.length, 72);
  t.equal(frameRecord(rec).toString('hex'), WAVE_EXAMPLE);
});

t.test('parseRequest inverts both encoders, and parses the digest bytes', async (t) => {
  const ex = unframe(Buffer.from(PHDB_EXAMPLE, 'hex').subarray(1, -1));
  t.ok('record' in ex);
  if ('record' in ex) t.same(parseRequest(ex.record), { kind: 'phdb', recordType: 1, intervalS: 10, classMask: 14, driLevel: 9 });
  t.same(parseRequest(encodePhdbRequest({ recordType: 3, intervalS: 0, classMask: 0, driLevel: 10 })), {
    kind: 'phdb',
    recordType: 3,
    intervalS: 0,
    classMask: 0,
    driLevel: 10,
  });
  t.same(parseRequest(encodePhdbRequest({ recordType: 1, intervalS: -1, classMask: 2, driLevel: 8 })).kind, 'phdb');
  t.same(parseRequest(encodeWaveRequest({ reqType: 1, waveIds: [], driLevel: 8 })), { kind: 'wave', reqType: 1, waveIds: [], driLevel: 8 });
  const eight = [1, 2, 3, 4, 5, 8, 9, 13];
  t.same(parseRequest(encodeWaveRequest({ reqType: 0, waveIds: eight, driLevel: 10 })), { kind: 'wave', reqType: 0, waveIds: eight, driLevel: 10 });
  t.throws(() => encodeWaveRequest({ reqType: 0, waveIds: [1, 2, 3, 4, 5, 6, 7, 8, 9], driLevel: 10 }));
  const other = Buffer.alloc(44);
  other.writeInt16LE(4, 14);
  t.same(parseRequest(other), { kind: 'other', mainType: 4 });
  t.same(parseRequest(Buffer.alloc(3)), { kind: 'other', mainType: -1 });
});
