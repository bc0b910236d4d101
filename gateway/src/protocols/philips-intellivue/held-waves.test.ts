/**
 * Wave blocks that arrive before their static attributes (sample period, SA_SPECN) are held and
 * emitted once the attributes come (decoder.ts, HELD_WAVE_*): in order, each at its own time, within
 * bounds in samples, age and objects; what is dropped is counted by reason. The MP20 LAN capture
 * (../shared/captures, named by the golden case) loses no wave sample at association.
 */
import t from 'tap';
import { parseHexlog } from '../../../../cli/decode.js';
import type { WaveObs } from '../../../../schemas/src/observation.js';
import { caseInput } from '../../../../test/helpers/golden-case.js';
import { readAttributeList } from './attributes.js';
import { HELD_WAVE_MAX_AGE_MS, HELD_WAVE_MAX_OBJECTS, HELD_WAVE_MAX_SAMPLES } from './decoder.js';
import { mdsCreateEvent, pollReplyMessages, saObs, saSpec, scaleSpec, string16, u16, u32, type PollObject } from './encode.js';
import { parseMessage } from './messages.js';
import { ACT, ATTR, CMD, MOC } from './nomenclature.js';
import { ABORT } from './requests.js';
import { IntelliVueStreamDecoder } from './stream-decoder.js';

const ABS = Date.UTC(2026, 10, 22, 1, 0, 0);
const REL = 1_000_000;
const TICKS_PER_MS = 8;
const MDS = mdsCreateEvent({ invokeId: 1, manufacturer: 'Philips', model: 'MX800', absTime: ABS, relTime: REL });

const ECG_STATIC: PollObject['avas'] = [
  [ATTR.SA_SPECN, saSpec(4, 14, 0x3000)],
  [ATTR.TIME_PD_SAMP, u32(16)],
  [ATTR.SCALE_SPECN_I16, scaleSpec(-40.96, 40.955, 0, 16383)],
  [ATTR.UNIT_CODE, u16(0x10b2)],
  [ATTR.ID_LABEL_STRING, string16('II')],
];

let invoke = 10;
/** One wave poll reply (one object, handle 1 unless given) at `rel`; `statics` adds the static attributes. */
function waveReply(rel: number, samples: number[], statics = false, handle = 1): Buffer[] {
  const avas: PollObject['avas'] = [...(statics ? ECG_STATIC : []), [ATTR.SA_VAL_OBS, saObs(0x0102, samples)]];
  return pollReplyMessages(invoke++, { pollNumber: 1, sequenceNo: 1, relTime: rel, objType: MOC.VMO_METRIC_SA_RT }, [{ handle, avas }]);
}

function dec(opts: { mds?: boolean } = {}): IntelliVueStreamDecoder {
  const d = new IntelliVueStreamDecoder({ framing: 'lan', now: () => 0 });
  if (opts.mds !== false) d.push(MDS, 0);
  return d;
}

const waves = (msgs: Buffer[], d: IntelliVueStreamDecoder, rx = 0): WaveObs[] =>
  msgs.flatMap((m) => d.push(m, rx)).filter((o): o is WaveObs => o.kind === 'wave');
const block = (k: number): number[] => [8192 + k, 8192 + k, 8192 + k, 8192 + k];

t.test('held until the static attributes come, then emitted oldest first, each at its own time and scale', async (t) => {
  const d = dec();
  for (let k = 0; k < 3; k++) t.same(waves(waveReply(REL + k * 512, block(k * 200)), d), [], `block ${k} held, not emitted`);
  t.same(d.stats().errors, {}, 'holding is not an error');
  t.equal(d.decoder.heldWaveBlocks(), 3);
  const out = waves(waveReply(REL + 3 * 512, block(600), true), d);
  t.same(
    out.map((w) => w.t0),
    [0, 1, 2, 3].map((k) => ABS + k * 64),
    '512 ticks = 64 ms apart, in arrival order, the live block last',
  );
  t.same(
    out.map((w) => w.samples),
    [0, 1, 2, 3].map((k) => [k, k, k, k]),
    '0.005 mV/LSB of the attributes that came later',
  );
  t.ok(out.every((w) => w.rateHz === 500 && w.unit === 'mV' && w.label === 'II' && w.mdc === 'MDC_ECG_ELEC_POTL_II'));
  t.equal(d.decoder.heldWaveBlocks(), 0);
  t.same(
    waves(waveReply(REL + 4 * 512, block(800)), d).map((w) => w.samples),
    [[4, 4, 4, 4]],
    'then emitted as they come',
  );
  t.same(d.stats().errors, {});
});

t.test('static attributes in an object without samples release the held blocks too', async (t) => {
  const d = dec();
  waves(waveReply(REL, block(0)), d);
  const specOnly = pollReplyMessages(invoke++, { pollNumber: 1, sequenceNo: 1, relTime: REL + 512, objType: MOC.VMO_METRIC_SA_RT }, [
    { handle: 1, avas: ECG_STATIC },
  ]);
  const out = waves(specOnly, d);
  t.same(
    out.map((w) => [w.t0, w.samples]),
    [[ABS, [0, 0, 0, 0]]],
  );
});

t.test('without a monitor clock a held block keeps its own receive time', async (t) => {
  const d = dec({ mds: false });
  waves(waveReply(REL, block(0)), d, 5000);
  const out = waves(waveReply(REL + 512, block(0), true), d, 9000);
  t.same(
    out.map((w) => w.t0),
    [5000, 9000],
  );
});

t.test('cap in samples: the oldest blocks are dropped and counted', async (t) => {
  const d = dec();
  const per = 1024;
  const n = HELD_WAVE_MAX_SAMPLES / per + 3; // 3 blocks too many
  for (let k = 0; k < n; k++)
    waves(
      waveReply(
        REL + k * 8,
        Array.from({ length: per }, () => 8192 + k),
      ),
      d,
    );
  t.same(d.stats().errors, { 'wave-held-overflow': 3 });
  t.equal(d.decoder.heldWaveBlocks(), n - 3);
  const out = waves(waveReply(REL + n * 8, block(n), true), d);
  t.equal(out.length, n - 2, 'the kept blocks, then the live one');
  t.same(
    out.slice(0, -1).map((w) => w.samples[0]),
    Array.from({ length: n - 3 }, (_, i) => (i + 3) * 0.005),
    'the newest kept, in order',
  );
});

t.test('cap in time: blocks older than the bound on the monitor clock are dropped and counted', async (t) => {
  const d = dec();
  const age = HELD_WAVE_MAX_AGE_MS * TICKS_PER_MS;
  waves(waveReply(REL, block(0)), d);
  waves(waveReply(REL + 4000, block(200)), d);
  waves(waveReply(REL + age, block(400)), d);
  t.same(d.stats().errors, {}, 'exactly the bound: kept');
  waves(waveReply(REL + age + 8, block(600)), d);
  t.same(d.stats().errors, { 'wave-held-expired': 1 }, 'one tick more: the first one goes');
  const out = waves(waveReply(REL + age + 16, block(800), true), d);
  t.same(
    out.map((w) => w.samples[0]),
    [1, 2, 3, 4],
  );
});

t.test('cap in objects: the object held longest is dropped and counted', async (t) => {
  const d = dec();
  for (let h = 0; h <= HELD_WAVE_MAX_OBJECTS; h++) waves(waveReply(REL, block(0), false, 100 + h), d);
  t.same(d.stats().errors, { 'wave-held-overflow': 1 });
  t.equal(d.decoder.heldWaveBlocks(), HELD_WAVE_MAX_OBJECTS);
  t.same(waves(waveReply(REL + 8, block(0), true, 100), d).length, 1, 'handle 100 was dropped: only its live block');
  t.same(waves(waveReply(REL + 8, block(0), true, 101), d).length, 2, 'handle 101 still held');
});

t.test('association ends first: the held blocks are dropped and counted, never emitted later', async (t) => {
  const d = dec();
  waves(waveReply(REL, block(0)), d);
  waves(waveReply(REL + 512, block(0)), d);
  t.same(d.push(ABORT, 0), []);
  t.same(d.stats().errors, { 'wave-held-association-ended': 2 });
  t.equal(d.decoder.heldWaveBlocks(), 0);
  d.push(MDS, 0);
  t.equal(waves(waveReply(REL + 1024, block(0), true), d).length, 1, 'the new association starts clean');
});

/** Samples per physio id in the wave blocks of a poll reply, read from the attribute lists (not through the decoder's cache/hold). */
function captureWaveSamples(msg: Buffer, into: Map<number, number>): void {
  const m = parseMessage(msg);
  if (m.kind !== 'data' || (m.ro !== 'RORS' && m.ro !== 'RORLS') || m.command !== CMD.CONFIRMED_ACTION) return;
  const r = m.body;
  r.u16();
  r.u16();
  r.u16();
  const action = r.u16();
  if (action !== ACT.POLL_MDIB_DATA && action !== ACT.POLL_MDIB_DATA_EXT) return;
  const b = r.sub(r.u16());
  b.u16();
  if (action === ACT.POLL_MDIB_DATA_EXT) b.u16();
  b.u32();
  b.bytes(8);
  b.u16();
  b.u16();
  b.u16();
  const nCtx = b.u16();
  b.u16();
  for (let i = 0; i < nCtx; i++) {
    b.u16();
    const nObs = b.u16();
    b.u16();
    for (let k = 0; k < nObs; k++) {
      b.u16();
      const a = readAttributeList(b);
      for (const sa of [...(a.sa ? [a.sa] : []), ...(a.saCmpd ?? [])]) into.set(sa.physioId, (into.get(sa.physioId) ?? 0) + sa.samples.length / 2);
    }
  }
}

t.test('MP20 LAN capture: every wave sample of the capture is emitted, none lost at association', async (t) => {
  const d = new IntelliVueStreamDecoder({ now: () => 0 });
  const inCapture = new Map<number, number>();
  const emitted = new Map<number, number>();
  let heldSeen = 0;
  for (const chunk of parseHexlog(caseInput('philips/testcases/mpsimulator-mp20-lan').data.toString('latin1')).chunks) {
    if (chunk.dir !== 'RX') continue;
    captureWaveSamples(chunk.bytes, inCapture);
    for (const o of d.push(chunk.bytes)) if (o.kind === 'wave') emitted.set(Number(o.vendorCode), (emitted.get(Number(o.vendorCode)) ?? 0) + o.samples.length);
    heldSeen = Math.max(heldSeen, d.decoder.heldWaveBlocks());
  }
  t.equal(heldSeen, 10, 'ten pleth blocks came before the pleth attributes');
  t.ok((inCapture.get(0x4bb4) ?? 0) > 0 && (inCapture.get(0x0102) ?? 0) > 0, `pleth and ECG II in the capture: ${JSON.stringify([...inCapture])}`);
  t.same([...emitted].sort(), [...inCapture].sort(), 'samples emitted per physio id = samples in the capture');
  t.equal(d.decoder.heldWaveBlocks(), 0, 'nothing left held');
  t.same(d.stats().errors, {}, 'no wave-without-spec, nothing dropped');
});
