// Replay of the real pycollect capture (DRI level 10): silent until a request, then the same
// records (times shifted to the device clock), paced by r_time, looping with time moving on.
import t from 'tap';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { memoryLinkPair } from '../link/memory-link.js';
import { ManualClock } from './clock.js';
import { GeDriReplay, captureBytes, loadCapture } from './replay.js';
import { TestHost, decodePhdbNumerics } from './test-host.js';
import { readRecordHeader } from './test-host.js';

const CAP = process.env.ORLINK_CAPTURES_DIR ?? resolve(import.meta.dirname, '../../../../shared/captures');
const RAW = `${CAP}/ge-datex-dri/ge_dri2009_pycollect_raw.raw`;
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

t.test('hexlog and raw captures', async (t) => {
  t.same(captureBytes(Buffer.from('# c\nRX 7e 01\nTX 02\nRX 7e\n')), Buffer.from([0x7e, 0x01, 0x7e]));
  t.same(captureBytes(Buffer.from([0x7e, 0x52, 0x58])), Buffer.from([0x7e, 0x52, 0x58]), 'raw bytes pass through');
  t.throws(() => loadCapture('/nonexistent.raw'), { code: 'SIM_ERR_WFDB_FILE' });
});

t.test('replay the pycollect capture', { skip: existsSync(RAW) ? false : 'capture not found' }, async (t) => {
  const records = loadCapture(RAW);
  t.equal(records.length, 21, 'the 21 frames of the capture');
  const T0 = Date.UTC(2026, 5, 1, 12, 0, 0, 0);
  const clock = new ManualClock(T0);
  const { device, host } = memoryLinkPair();
  const rp = new GeDriReplay(records, { clock });
  rp.attach(device);
  rp.start();
  t.teardown(async () => {
    await rp.close();
    device.destroy();
    host.destroy();
  });
  const h = new TestHost(host);
  for (let i = 0; i < 20; i++) {
    clock.advance(500);
    await flush();
  }
  t.equal(h.bytes, 0, 'silent before a request');
  h.requestPhdb(5);
  for (let i = 0; i < 120; i++) {
    clock.advance(250);
    await flush();
  }
  t.ok(h.records.length > records.length, `looped: ${h.records.length} records`);
  const first = h.records[0]!;
  t.equal(first.time, Math.floor(T0 / 1000) + 10, 'first record stamped now on the device clock');
  const times = h.records.map((r) => r.time);
  t.ok(
    times.every((x, i) => i === 0 || x >= times[i - 1]!),
    'time never goes back, across loops',
  );
  const orig = decodePhdbNumerics(readRecordHeader(records[0]!)).map((n) => [n.vendorCode, n.raw]);
  t.same(
    decodePhdbNumerics(first).map((n) => [n.vendorCode, n.raw]),
    orig,
    'same values as the capture',
  );
  t.equal(rp.stats().loops >= 1, true);
});
