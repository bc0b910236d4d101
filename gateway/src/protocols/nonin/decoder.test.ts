import t from 'tap';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { AlarmObs, NumericObs, Observation, WaveObs } from '../../../../schemas/src/observation.js';
import { encodePacket, encodeSecond } from './encode.js';
import { encodeFormat8, encodeFrame, encodeSelectFormat, ACK, NAK } from './frame.js';
import { NoninStreamDecoder } from './stream-decoder.js';
import { nonin, NoninSession } from './index.js';

/** A #2 packet built by hand from the digest's slot table (independent of encode.ts). */
function handPacket(data: Record<number, number>, status = 0x82, plethBase = 100): Buffer {
  const out: Buffer[] = [];
  for (let n = 1; n <= 25; n++) out.push(encodeFrame(2, { status: status | (n === 1 ? 1 : 0), pleth: plethBase + n, data: data[n] ?? 0 }));
  return Buffer.concat(out);
}
/** These tests decode #2 on purpose: with no profile the format would be detected (auto-format.test.ts). */
const P2 = { profileId: 'nonin/oem-iii/format2' };
const nums = (obs: Observation[]): Record<string, NumericObs> =>
  Object.fromEntries(obs.filter((o): o is NumericObs => o.kind === 'numeric').map((o) => [o.vendorCode, o]));

t.test('#2 packet: 9-bit HR, SpO2 slots, firmware, 75 Hz pleth flagged uncalibrated', async (t) => {
  // HR 300 = MSB 2, LSB 44; SpO2 97; rev 0x31; SpO2-D 96, fast 95, B2B 94; E-HR 72; E-SpO2 93, E-SpO2-D 92; HR-D 128 = 1/0; E-HR-D 511 missing
  const d = new NoninStreamDecoder(P2);
  const obs = d.push(handPacket({ 1: 2, 2: 44, 3: 97, 4: 0x31, 9: 96, 10: 95, 11: 94, 14: 0, 15: 72, 16: 93, 17: 92, 20: 1, 21: 0, 22: 3, 23: 127 }));
  const n = nums(obs);
  t.same(Object.fromEntries(Object.entries(n).map(([k, v]) => [k, v.value])), {
    HR: 300,
    SPO2: 97,
    SPO2_D: 96,
    SPO2_FAST: 95,
    SPO2_BB: 94,
    EHR: 72,
    ESPO2: 93,
    ESPO2_D: 92,
    HR_D: 128,
    EHR_D: null,
  });
  t.same(n.EHR_D.flags, ['invalid'], 'HR 511 = missing');
  t.same([n.HR.mdc, n.HR.code, n.HR.unit, n.SPO2.mdc, n.SPO2.code], ['MDC_PULS_OXIM_PULS_RATE', 149530, '/min', 'MDC_PULS_OXIM_SAT_O2', 150456]);
  const w = obs.find((o): o is WaveObs => o.kind === 'wave')!;
  t.same([w.mdc, w.rateHz, w.samples.length, w.samples[0], w.samples[24], w.flags], ['MDC_PULS_OXIM_PLETH', 75, 25, 101, 125, ['uncalibrated']]);
  t.same(d.identity(), { vendor: 'Nonin', model: 'OEM III', protocolLevel: 'format-2', firmware: '49' });
  t.same(d.stats().errors, {});
});

t.test('encodePacket agrees with the hand-built packet', async (t) => {
  const hand = handPacket({ 1: 0, 2: 72, 3: 98, 4: 0x30, 9: 98, 10: 98, 11: 98, 15: 72, 16: 98, 17: 98, 21: 72, 23: 72 });
  const enc = encodePacket(
    2,
    { HR: 72, SPO2: 98, SPO2_D: 98, SPO2_FAST: 98, SPO2_BB: 98, EHR: 72, ESPO2: 98, ESPO2_D: 98, HR_D: 72, EHR_D: 72 },
    Array.from({ length: 25 }, (_, i) => 101 + i),
    0x82,
    0x30,
  );
  t.ok(enc.equals(hand));
});

t.test('status bits → flags and technical alarms; missing markers → null', async (t) => {
  const d = new NoninStreamDecoder(P2);
  const base = { 1: 0, 2: 80, 3: 96 };
  d.push(handPacket(base));
  const art = d.push(handPacket(base, 0x80 | 0x20 | 0x04));
  t.same(nums(art).HR.flags, ['artifact', 'questionable'], 'artifact + low perfusion');
  t.same(
    art.filter((o): o is AlarmObs => o.kind === 'alarm').map((a) => [a.text, a.phase, a.vendorCode]),
    [
      ['Low perfusion', 'start', 'STATUS.0x04'],
      ['Artifact', 'start', 'STATUS.0x20'],
    ],
  );
  const off = d.push(handPacket({ 1: 3, 2: 127, 3: 127 }, 0x80 | 0x40));
  t.same([nums(off).HR.value, nums(off).SPO2.value, nums(off).SPO2.flags], [null, null, ['invalid']]);
  t.same(
    off.filter((o): o is AlarmObs => o.kind === 'alarm').map((a) => `${a.text} ${a.phase}`),
    ['Low perfusion end', 'Artifact end', 'Sensor disconnected start'],
  );
  const on = d.push(handPacket({ 1: 0, 2: 80, 3: 96 }, 0x80 | 0x10 | 0x40));
  t.same([nums(on).HR.value, nums(on).HR.flags], [null, ['invalid']], 'sensor disconnect voids even a number');
});

t.test('lost frame → the packet is counted and skipped, the next is flagged discontinuity; time stays on the frame clock', async (t) => {
  const d = new NoninStreamDecoder(P2);
  const p = (hr: number): Buffer => handPacket({ 1: 0, 2: hr, 3: 97 });
  const a = d.push(p(70));
  const broken = p(71);
  const lost = Buffer.concat([broken.subarray(0, 50), broken.subarray(55)]); // frame 11 missing
  const b = d.push(lost);
  const c = d.push(p(72));
  t.equal(nums(a).HR.t, 0);
  t.same(b, [], 'short packet gives nothing');
  t.equal(nums(c).HR.value, 72);
  t.equal(nums(c).HR.t, 667, 'third packet at 2 × 1/3 s');
  t.same(nums(c).HR.flags, ['discontinuity']);
  t.same(d.stats().errors, { 'packet-short': 1 });
  const g = new NoninStreamDecoder(P2);
  t.same(g.push(Buffer.concat([p(70).subarray(10 * 5), p(71)])).length > 0, true);
  t.same(g.stats().errors, { 'before-sync': 15 }, 'frames before the first SYNC are counted');
});

t.test('#7: 16-bit pleth and HR (MSB << 8 | LSB)', async (t) => {
  const d = new NoninStreamDecoder({ profileId: 'nonin/onyx-ii-9560/format7' });
  const pleth = Array.from({ length: 25 }, (_, i) => 40000 + i * 100);
  const obs = d.push(encodePacket(7, { HR: 300, SPO2: 95 }, pleth, 0x82));
  t.equal(nums(obs).HR.value, 300);
  t.equal(nums(obs).SPO2.value, 95);
  t.same((obs.find((o) => o.kind === 'wave') as WaveObs).samples, pleth);
  t.equal(d.format, 7);
});

t.test('#8: one frame per second, 1 Hz frame clock, no pleth', async (t) => {
  const d = new NoninStreamDecoder({ profileId: 'nonin/wristox2-3150/format8' });
  const obs = d.push(Buffer.concat([encodeFormat8({ status: 0x80, hrMsb: 0, hrLsb: 72, spo2: 97 }), encodeSecond({ HR: 260, SPO2: null }, 0x80)]));
  t.same(
    obs.filter((o) => o.kind === 'numeric').map((o) => [(o as NumericObs).vendorCode, (o as NumericObs).value, (o as NumericObs).t]),
    [
      ['HR', 72, 0],
      ['SPO2', 97, 0],
      ['HR', 260, 1000],
      ['SPO2', null, 1000],
    ],
  );
  t.notOk(obs.some((o) => o.kind === 'wave'));
});

t.test('session: select-format command for profiles that need it, retried until a frame, ACK/NAK counted', async (t) => {
  const w: Buffer[] = [];
  const s = new NoninSession({ profileId: 'nonin/wristox2-3150/format8', now: () => 1000 });
  s.start({ write: (b) => w.push(Buffer.from(b)) });
  t.same(
    w.map((b) => [...b]),
    [[...encodeSelectFormat(8)]],
  );
  s.tick(3000);
  t.equal(w.length, 1, 'not before 5 s');
  s.onBytes(Buffer.of(NAK), 6000);
  s.tick(6000);
  t.equal(w.length, 2, 'retried');
  s.onBytes(Buffer.concat([Buffer.of(ACK), encodeSecond({ HR: 70, SPO2: 98 }, 0x80)]), 7000);
  t.equal(s.lastFrameAt(), 7000);
  s.tick(20000);
  t.equal(w.length, 2, 'no retry once frames arrive');
  t.same(s.commandReplies(), { ack: 1, nak: 1, sent: 2 });
  t.equal(s.decoder().stats().errors.nak, 1);
  const plain = new NoninSession({});
  const w2: Buffer[] = [];
  plain.start({ write: (b) => w2.push(Buffer.from(b)) });
  t.same(w2, [], 'OEM III #2: no command');
  t.same(nonin.serialDefaults, { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false });
});

t.test('decode output passes shared/tools/check-decode-output', async (t) => {
  const d = new NoninStreamDecoder(P2);
  const nd =
    d
      .push(Buffer.concat([handPacket({ 1: 0, 2: 80, 3: 96 }), handPacket({ 1: 3, 2: 127, 3: 127 }, 0xc0)]))
      .map((o) => JSON.stringify(o))
      .join('\n') + '\n';
  const tool = resolve(import.meta.dirname, '../../../../../shared/tools/check-decode-output');
  t.match(execFileSync('/usr/bin/python3', [tool], { input: nd, encoding: 'utf8' }), /wave/);
});

t.test('session time: anchored on the first receive time, re-anchored (discontinuity) after a stall', async (t) => {
  const d = new NoninStreamDecoder(P2);
  const p = (): Buffer => handPacket({ 1: 0, 2: 70, 3: 97 });
  const rx0 = 1_000_000;
  t.equal(nums(d.push(p(), rx0)).HR.t, rx0 - 333, 'first packet starts one packet before it arrived');
  t.equal(nums(d.push(p(), rx0 + 334)).HR.t, rx0, 'frame clock: + 1/3 s');
  const late = nums(d.push(p(), rx0 + 5000)).HR;
  t.equal(late.t, rx0 + 5000 - 333, 'a 4.6 s stall re-anchors on the receive time');
  t.same(late.flags, ['discontinuity']);
  t.equal(d.lastFrameAt(), rx0 + 5000);
});
