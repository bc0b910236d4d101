/** The golden-case reader: shared-capture paths, slices and conversions declared in case.json. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import t, { type Test } from 'tap';
import { parseHexlog } from '../cli/decode.js';
import { frameRecord } from '../gateway/src/protocols/ge-dri/index.js';
import { caseInput, capturePaths, decodeCase, REPO_ROOT } from './helpers/golden-case.js';

function fixture(t: Test): {
  dir: string;
  file: (name: string, body: string | Buffer) => string;
  testcase: (cj: object, own?: Record<string, string | Buffer>) => string;
} {
  const dir = mkdtempSync(join(tmpdir(), 'orlink-golden-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  return {
    dir,
    /** A "shared" file; returns its path relative to the repository root, as case.json writes it. */
    file: (name, body) => {
      writeFileSync(join(dir, name), body);
      return relative(REPO_ROOT, join(dir, name));
    },
    testcase: (cj, own = {}) => {
      const c = join(dir, `case${n++}`);
      mkdirSync(c);
      writeFileSync(join(c, 'case.json'), JSON.stringify({ protocol: 'ge-dri', ...cj }));
      for (const [k, v] of Object.entries(own)) writeFileSync(join(c, k), v);
      return c;
    },
  };
}

t.test('paths are relative to the repository root; a whole raw or hexlog file is used as it is', async (t) => {
  const f = fixture(t);
  const raw = f.file('a.raw', Buffer.from([1, 2, 3, 4, 5]));
  t.match(raw, /^\.\.\//, 'the temp dir is outside the repository, reached with ../');
  const c = f.testcase({ format: 'raw', capture: raw });
  t.same(capturePaths(c), [join(f.dir, 'a.raw')]);
  t.same(caseInput(c), { format: 'raw', data: Buffer.from([1, 2, 3, 4, 5]), file: join(f.dir, 'a.raw') });
  const own = f.testcase({ format: 'hexlog' }, { 'capture.hexlog': 'RX 01 02\n' });
  t.equal(caseInput(own).file, join(own, 'capture.hexlog'), 'synthetic case: its own committed capture');
});

t.test('raw byte range', async (t) => {
  const f = fixture(t);
  const raw = f.file('a.raw', Buffer.from([0, 1, 2, 3, 4, 5, 6, 7]));
  const c = f.testcase({ format: 'raw', capture: raw, bytes: { start: 2, end: 6 } });
  const got = caseInput(c);
  t.same([got.format, [...got.data], got.file], ['raw', [2, 3, 4, 5], undefined], 'built, not the file');
  t.same([...caseInput(f.testcase({ format: 'raw', capture: raw, bytes: { end: 3 } })).data], [0, 1, 2]);
  t.throws(() => caseInput(f.testcase({ format: 'raw', capture: raw, bytes: { start: 4, end: 9 } })), /outside the 8 bytes/);
  t.throws(() => caseInput(f.testcase({ format: 'raw', capture: raw, bytes: { start: 5, end: 5 } })), /outside/);
});

t.test('hex records framed with the protocol frame, one RX chunk per file', async (t) => {
  const f = fixture(t);
  const a = f.file('a.hex', '# one unframed record\n7e 01 02\n03 7d\n');
  const b = f.file('b.hex', 'ff00\n');
  const got = caseInput(f.testcase({ format: 'hex', capture: [a, b], frame: 'ge-dri' }));
  t.equal(got.format, 'hexlog');
  const chunks = parseHexlog(got.data.toString('latin1')).chunks;
  t.same(
    chunks.map((c) => [c.dir, c.bytes.toString('hex')]),
    [
      ['RX', frameRecord(Buffer.from('7e0102037d', 'hex')).toString('hex')],
      ['RX', frameRecord(Buffer.from('ff00', 'hex')).toString('hex')],
    ],
  );
  t.ok(chunks[0].bytes.toString('hex').startsWith('7e7d5e0102037d5d'), 'flag, then the record stuffed (7E -> 7D 5E, 7D -> 7D 5D)');
  const unframed = caseInput(f.testcase({ format: 'hex', capture: b }));
  t.same(
    parseHexlog(unframed.data.toString('latin1')).chunks.map((c) => c.bytes.toString('hex')),
    ['ff00'],
  );
  t.throws(() => caseInput(f.testcase({ format: 'hex', capture: f.file('bad.hex', '01 0g\n') })), /not hex/);
});

t.test('named-hex: one datagram per line, the names in "tx" are host->device', async (t) => {
  const f = fixture(t);
  const n = f.file('n.hex', '# comment\nhello_request 0102\nhello_reply 0a0b0c\nbye_request 03\n');
  const got = caseInput(f.testcase({ format: 'named-hex', capture: n, tx: ['hello_request', 'bye_request'] }));
  t.same(
    parseHexlog(got.data.toString('latin1')).chunks.map((c) => [c.dir, c.bytes.toString('hex')]),
    [
      ['TX', '0102'],
      ['RX', '0a0b0c'],
      ['TX', '03'],
    ],
  );
  t.throws(() => caseInput(f.testcase({ format: 'named-hex', capture: n, tx: ['helo_request'] })), /not in the capture: helo_request/);
});

t.test('case.json mistakes fail loudly', async (t) => {
  const f = fixture(t);
  const raw = f.file('a.raw', Buffer.from([1, 2]));
  t.throws(() => caseInput(f.testcase({ format: 'hexlog', capture: raw, bytes: { end: 1 } })), /"bytes" applies to format raw only/);
  t.throws(() => caseInput(f.testcase({ format: 'raw', capture: raw, frame: 'ge-dri' })), /"frame" applies to format hex only/);
  t.throws(() => caseInput(f.testcase({ format: 'raw', capture: [raw, raw] })), /takes one capture file/);
  t.throws(() => caseInput(f.testcase({ format: 'raw', capture: join(f.dir, 'a.raw') })), /relative to the repository root/);
  t.throws(() => caseInput(f.testcase({ format: 'raw', capture: '../no-such-shared/x.raw' })), /not found/);
  t.throws(() => caseInput(f.testcase({ format: 'raw', capture: raw }, { 'capture.bin': 'x' })), /also holds capture\.bin/, 'a copy left beside the pointer');
  t.throws(() => caseInput(f.testcase({ format: 'raw' })), /no "capture"/);
  t.throws(() => caseInput(f.testcase({ format: 'xml', capture: raw })), /unknown format xml/);
});

t.test('decodeCase runs orlink decode on the built input', async (t) => {
  const f = fixture(t);
  const raw = f.file('a.raw', Buffer.concat([Buffer.from('garbage'), frameRecord(Buffer.alloc(40))]));
  const whole = await decodeCase(f.testcase({ format: 'raw', capture: raw }));
  t.equal(whole.code, 0, whole.err);
  t.ok((whole.summary.errors as Record<string, number>).garbage > 0, 'whole file: the garbage is counted');
  const sliced = await decodeCase(f.testcase({ format: 'raw', capture: raw, bytes: { start: 7 } }));
  t.equal(sliced.code, 0, sliced.err);
  t.equal((sliced.summary.errors as Record<string, number>).garbage, undefined, 'the slice starts at the frame');
  t.equal(sliced.summary.bytes, (whole.summary.bytes as number) - 7);
});
