import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { encodePhdbRecord, encodePhdbRequest, frameRecord } from '../gateway/src/protocols/ge-dri/index.js';
import { capturePaths } from '../test/helpers/golden-case.js';
import type { NumericObs } from '../schemas/src/observation.js';
import type { StreamDecoder } from '../gateway/src/protocols/protocol.js';
import { decodeCapture, detectFormat, parseHexlog, run } from './decode.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const CHECKER = join(root, '../shared/tools/check-decode-output');

async function decode(argv: string[]): Promise<{ code: number; out: string; summary: Record<string, unknown> | undefined; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, {
    out: (l) => {
      out += l;
    },
    err: (l) => {
      err += l;
    },
  });
  const last = err.trim().split('\n').pop();
  let summary: Record<string, unknown> | undefined;
  try {
    summary = (JSON.parse(last ?? '') as { summary: Record<string, unknown> }).summary;
  } catch {
    summary = undefined;
  }
  return { code, out, summary, err };
}

t.test('format detection and hexlog parsing', async (t) => {
  t.equal(detectFormat(Buffer.from('# c\nRX 7e 01\n\nTX 7e02\n')), 'hexlog');
  t.equal(detectFormat(Buffer.from('RX 7e 01\nhello\n')), 'raw');
  t.equal(detectFormat(Buffer.from([0x7e, 0x00, 0x7e])), 'raw');
  t.equal(detectFormat(Buffer.from('anything'), 'x.hexlog'), 'hexlog');
  const p = parseHexlog('RX 7e 01 02\nTX 0a0b\nRX zz\n');
  t.same(
    p.chunks.map((c) => [c.dir, c.bytes.toString('hex')]),
    [
      ['RX', '7e0102'],
      ['TX', '0a0b'],
    ],
  );
  t.equal(p.badLines, 1);
});

t.test('hexlog: only RX decoded, TX counted, split chunks joined by the framer', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orlink-decode-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rec = frameRecord(encodePhdbRecord({ time: 1_700_000_000, classes: { basic: { spo2: { fields: { spo2: 9800, pr: 60 } } } } }));
  const req = frameRecord(encodePhdbRequest({ recordType: 1, intervalS: 5, classMask: 14, driLevel: 10 }));
  const hex = (b: Buffer): string => b.toString('hex');
  const file = join(dir, 'cap.txt');
  writeFileSync(file, `# synthetic\nTX ${hex(req)}\nRX ${hex(rec.subarray(0, 100))}\nRX ${hex(rec.subarray(100))}\n`);
  const r = await decode(['--protocol', 'ge-dri', '--input', file]);
  t.equal(r.code, 0);
  const lines = r.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.same(
    lines.filter((o) => o.vendorCode?.startsWith('spo2.')).map((o) => [o.mdc, o.value]),
    [
      ['MDC_PULS_OXIM_SAT_O2', 98],
      ['MDC_PULS_OXIM_PULS_RATE', 60],
      ['MDC_X_GE_PLETH_IR_AMP', null],
      ['MDC_SAT_O2_VEN', null],
    ],
  );
  t.same([r.summary?.format, r.summary?.txChunks, r.summary?.frames], ['hexlog', 1, 1]);
  const forced = await decode(['--protocol', 'ge-dri', '--input', file, '--format', 'raw']);
  t.equal(forced.summary?.frames, 0, 'forced raw: the text is not DRI bytes');
});

t.test('end of the capture: the decoder is flushed once, its observations come last, the summary after it', async (t) => {
  const calls: string[] = [];
  let held = 0;
  const obs = (value: number): NumericObs => ({ kind: 'numeric', mdc: 'MDC_PULS_OXIM_SAT_O2', code: 150456, value, unit: '%', t: 0, vendorCode: 'SPO2' });
  const dec: StreamDecoder = {
    push: (c) => {
      calls.push('push');
      held += c.length;
      return [obs(1)];
    },
    flush: () => {
      calls.push('flush');
      const o = [obs(held)];
      held = 0;
      return o;
    },
    stats: () => {
      calls.push('stats');
      const errors: Record<string, number> = held ? { held } : {};
      return { frames: 1, bytes: 3, errors };
    },
    identity: () => undefined,
    profileId: () => undefined,
    clockOffsetMs: () => undefined,
  };
  const got: unknown[] = [];
  const summary = decodeCapture(dec, Buffer.from('RX 01 02\nRX 03\n'), 'hexlog', (o) => got.push(o.kind === 'numeric' ? o.value : o.kind));
  t.same(got, [1, 1, 3]);
  t.same(calls, ['push', 'push', 'flush', 'stats']);
  t.same(summary.errors, {}, 'stats read after flush');
  const { flush: _, ...noFlush } = dec;
  t.same(decodeCapture(noFlush, Buffer.from([1, 2]), 'raw', () => {}).frames, 1, 'a decoder without flush() is fine');
});

t.test('usage errors', async (t) => {
  t.equal((await decode([])).code, 2);
  t.equal((await decode(['--protocol', 'nope', '--input', '/dev/null'])).code, 2);
  t.equal((await decode(['--protocol', 'ge-dri', '--format', 'xml'])).code, 2);
  t.equal((await decode(['--protocol', 'ge-dri', '--input', '/nonexistent/x'])).code, 1);
  const bad = await decode(['--protocol', 'ge-dri', '--input', '/dev/null', '--profile', 'ge/nope']);
  t.equal(bad.code, 1);
  t.match(bad.err, /GW_ERR_PROFILE_NOT_FOUND/);
});

t.test('the orlink binary output passes check-decode-output on a real capture', async (t) => {
  const [cap] = capturePaths('ge/testcases/pycollect-dri2009-raw');
  const dec = spawnSync(process.execPath, [join(root, 'bin/orlink.js'), 'decode', '--protocol', 'ge-dri', '--input', cap], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.equal(dec.status, 0, dec.stderr);
  t.match(dec.stderr, /"frames":21/);
  const chk = spawnSync(CHECKER, [], { input: dec.stdout, encoding: 'utf8', timeout: 60_000 });
  t.equal(chk.status, 0, chk.stdout + chk.stderr);
  t.match(chk.stdout, /0 not conforming/);
});

t.test('--profiles DIR: the decoder maps with that folder, not firmware-profiles/', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orlink-decode-profiles-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(root, 'firmware-profiles/ge'), join(dir, 'ge'), { recursive: true, filter: (src) => !src.includes('testcases') });
  // the deployment's own S/5 profile: SpO2 not mapped
  const base = join(dir, 'ge/s5/dri-2003.json');
  const p = JSON.parse(readFileSync(base, 'utf8')) as { numerics: Record<string, unknown> };
  t.ok(p.numerics['spo2.spo2'], 'the packaged profile maps spo2.spo2');
  delete p.numerics['spo2.spo2'];
  writeFileSync(base, JSON.stringify(p));
  const file = join(dir, 'cap.bin');
  writeFileSync(file, frameRecord(encodePhdbRecord({ time: 1_700_000_000, classes: { basic: { spo2: { fields: { spo2: 9800, pr: 60 } } } } })));
  const spo2 = (out: string): NumericObs | undefined =>
    out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as NumericObs)
      .find((o) => o.vendorCode === 'spo2.spo2');
  const packaged = await decode(['--protocol', 'ge-dri', '--input', file]);
  t.equal(spo2(packaged.out)?.mdc, 'MDC_PULS_OXIM_SAT_O2');
  const own = await decode(['--protocol', 'ge-dri', '--input', file, '--profiles', dir]);
  t.equal(own.code, 0, own.err);
  t.equal(spo2(own.out)?.mdc, null, 'unmapped in the deployment folder');
  t.same(own.summary?.unmapped, { 'spo2.spo2': 1 });
  const empty = mkdtempSync(join(tmpdir(), 'orlink-decode-empty-'));
  t.teardown(() => rmSync(empty, { recursive: true, force: true }));
  const none = await decode(['--protocol', 'ge-dri', '--input', file, '--profiles', empty, '--profile', 'ge/s5/dri-2003']);
  t.equal(none.code, 1);
  t.match(none.err, /GW_ERR_PROFILE_NOT_FOUND/);
});
