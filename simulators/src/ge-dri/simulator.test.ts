// The simulated S/5 against a hand-written host that uses the gateway codec's framing: silence
// before a request, PHDB records (1152 bytes, whole seconds, interval, stop, single), waves (counts,
// contiguity, alignment), bad-checksum requests ignored, and truth == decode of the bytes.
import t from 'tap';
import { memoryLinkPair } from '../link/memory-link.js';
import { ManualClock } from './clock.js';
import { frameRecord, encodeWaveRequest } from './codec.js';
import { GeDriSimulator, type GeDriSimulatorOptions } from './simulator.js';
import { TestHost, decodePhdbNumerics, decodeWaves } from './test-host.js';
import type { Produced, ProducedNumeric, ProducedWave } from './truth.js';
import { chooseInterval, planWaves } from './wave-plan.js';
import { PhysiologyModel } from '../physiology/index.js';

const T0 = Date.UTC(2026, 0, 1, 8, 0, 0, 300); // not on a whole second
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

async function rig(t: { teardown(fn: () => unknown): void }, opts: GeDriSimulatorOptions = {}) {
  const clock = new ManualClock(T0);
  const { device, host } = memoryLinkPair();
  const sim = new GeDriSimulator({ seed: 7, clock, ...opts });
  const produced: Produced[] = [];
  sim.on('produced', (r: Produced) => produced.push(r));
  sim.attach(device);
  sim.start();
  const h = new TestHost(host);
  t.teardown(async () => {
    await sim.close();
    device.destroy();
    host.destroy();
  });
  const advance = async (ms: number): Promise<void> => {
    await flush();
    for (let done = 0; done < ms; done += 250) {
      clock.advance(Math.min(250, ms - done));
      await flush();
    }
  };
  return { clock, sim, h, produced, advance, device, host };
}

interface DecoderLike {
  push(c: Uint8Array, rx?: number): Array<Record<string, unknown>>;
}
const geDri = await import('../../../gateway/src/protocols/ge-dri/index.js')
  .then((m: Record<string, unknown>) => m.geDri as { createDecoder(o: object): DecoderLike } | undefined)
  .catch(() => undefined);

t.test('silent until a valid request', async (t) => {
  const { h, advance } = await rig(t);
  await advance(10_000);
  t.equal(h.bytes, 0, 'no byte before a request');
});

t.test('PHDB: 1152-byte records every tx_interval on whole device seconds; stop with 0', async (t) => {
  const { h, advance, produced, sim } = await rig(t, { clockOffsetMs: -123_456 });
  h.requestPhdb(5);
  await advance(21_000);
  const recs = h.phdbRecords();
  t.equal(recs.length, 5, 'at 0, 5, 10, 15, 20 s');
  for (const r of recs) {
    t.equal(r.len, 1152);
    t.equal(r.bytes.length, 1152);
    t.same(
      r.sr.map((s) => [s.offset, s.type]),
      [
        [0, 1],
        [278, 1],
        [556, 1],
        [834, 1],
      ],
    );
    t.equal(r.driLevel, 10, 'answers with its own DRI level');
  }
  const firstDevice = Math.ceil((T0 - 123_456) / 1000);
  t.equal(recs[0]!.time, firstDevice, 'first record at the next whole device second');
  t.same(
    recs.map((r) => r.time - recs[0]!.time),
    [0, 5, 10, 15, 20],
  );
  t.same(
    recs.map((r) => r.recNbr),
    [0, 1, 2, 3, 4],
  );
  // truth == decode with the layout divisors
  const decoded = recs.flatMap(decodePhdbNumerics);
  const truth = produced.filter((p): p is ProducedNumeric => p.kind === 'numeric');
  const byKey = new Map(decoded.map((d) => [`${d.vendorCode}@${d.t}`, d]));
  let checked = 0;
  for (const p of truth) {
    const d = byKey.get(`${p.vendorCode}@${p.t}`);
    if (!d) {
      t.fail(`truth ${p.vendorCode}@${p.t} not on the wire`);
      continue;
    }
    if (p.vendorCode === 'co2.et' || p.vendorCode === 'co2.fi') {
      const amb = byKey.get(`co2.amb_press@${p.t}`)!.value;
      t.equal(p.value, Number(((d.value * amb) / 100).toFixed(1)), `${p.vendorCode} mmHg from % × ambient`);
      t.equal(p.unit, 'mm[Hg]');
    } else t.equal(p.value, d.value, p.vendorCode);
    checked++;
  }
  t.equal(checked, truth.length);
  t.equal(truth.length, decoded.length, 'every value on the wire is in the truth');
  const spo2 = truth.find((p) => p.mdc === 'MDC_PULS_OXIM_SAT_O2')!;
  t.equal(spo2.unit, '%');
  t.ok(spo2.value > 80 && spo2.value <= 100);
  t.equal(Math.round(spo2.value * 100), spo2.value * 100, 'quantised to the wire (raw/100)');
  t.ok(
    truth.some((p) => p.mdc === 'MDC_CONC_AWAY_SEVOFL_ET'),
    'agent SEV',
  );
  t.ok(
    truth.some((p) => p.mdc === 'MDC_EEG_BISPECTRAL_INDEX'),
    'ext2 BIS',
  );
  const labels = new Map(decoded.map((d) => [d.vendorCode.split('.')[0], d.label]));
  t.equal(labels.get('p1'), 1, 'P1 labelled ART');
  t.equal(labels.get('p2'), 2, 'P2 labelled CVP');
  t.equal(labels.get('t1'), 1, 'T1 ESO');
  t.equal(labels.get('aa'), 6, 'agent SEV');
  t.notOk(
    decoded.some((d) => d.vendorCode.startsWith('p3.')),
    'inactive groups carry no values',
  );
  // inactive group on the wire: status 0 and -32767
  const b = recs[0]!.bytes;
  t.equal(b.readUInt32LE(40 + 4 + 44), 0, 'p3 status 0');
  t.equal(b.readInt16LE(40 + 4 + 44 + 6), -32767, 'p3 sys -32767');
  h.requestPhdb(0, 0);
  await advance(20_000);
  t.equal(h.phdbRecords().length, 5, 'tx_interval 0 stops the records');
  t.equal(sim.stats().requests.phdb, 2);
});

t.test('PHDB single transmission (-1) and basic-only class mask', async (t) => {
  const { h, advance } = await rig(t);
  h.requestPhdb(-1, 0);
  await advance(10_000);
  const recs = h.phdbRecords();
  t.equal(recs.length, 1, 'exactly one record');
  const classes = new Set(decodePhdbNumerics(recs[0]!).map((d) => d.cls));
  t.same([...classes], ['basic'], 'extension classes not requested: no active group');
});

t.test('a request with a bad checksum is ignored and counted', async (t) => {
  const { h, advance, sim } = await rig(t);
  const f = frameRecord(encodeWaveRequest({ reqType: 0, waveIds: [8], driLevel: 9 }));
  f[f.length - 2] ^= 0x01; // checksum byte (0x59 in the digest example → never stuffed here)
  h.send(f);
  await advance(5_000);
  t.equal(h.bytes, 0, 'still silent');
  t.equal(sim.stats().rxErrors.checksum, 1);
  h.requestWaves([8]);
  await advance(2_500);
  t.ok(h.waveRecords().length >= 1, 'the next good request is served');
});

t.test('waves: sample counts, interval, alignment, contiguity, truth == decode', async (t) => {
  const { h, advance, produced } = await rig(t, { clockOffsetMs: 5_250 });
  h.requestWaves([1, 4, 8]); // 300 + 100 + 100 = 500/s → 250 ms records
  await advance(3_200);
  const recs = h.waveRecords();
  t.ok(recs.length >= 8, `${recs.length} records`);
  const dec = recs.map(decodeWaves);
  for (const d of dec)
    t.same(
      d.map((c) => [c.waveId, c.raw.length]),
      [
        [1, 75],
        [4, 25],
        [8, 25],
      ],
      'rate × 250 ms per channel',
    );
  const waves = produced.filter((p): p is ProducedWave => p.kind === 'wave');
  const ecg = waves.filter((w) => w.vendorWaveId === 1);
  t.equal(ecg.length, recs.length);
  t.equal(ecg[0]!.t0 % 1000, 0, 'the stream starts at a whole device second');
  t.equal(ecg[0]!.t0, Math.ceil((T0 + 5_250) / 1000) * 1000);
  for (let i = 0; i < ecg.length; i++) {
    t.equal(ecg[i]!.t0, ecg[0]!.t0 + 250 * i, 'contiguous: t0 advances by n / rate');
    t.equal(recs[i]!.time, Math.floor(ecg[i]!.t0 / 1000), 'r_time is that of the first sample');
    t.same(ecg[i]!.samples, dec[i]![0]!.samples, 'truth samples == decoded samples');
  }
  t.same(
    recs.map((r) => r.recNbr),
    recs.map((_, i) => i),
    'wave record numbers count on their own',
  );
  t.equal(dec[0]![0]!.label, 7, 'ECG1 lead V');
  t.equal(dec[0]![1]!.label, 1, 'INVP1 ART');
  const art = waves.filter((w) => w.vendorWaveId === 4).flatMap((w) => w.samples);
  t.ok(Math.min(...art) > 10 && Math.max(...art) < 250, 'ART mmHg plausible');
  h.requestWaves([], 1);
  const n = h.waveRecords().length;
  await advance(3_000);
  t.equal(h.waveRecords().length, n, 'WF_REQ_CONT_STOP stops');
});

t.test('wave plan: limits and intervals', async (t) => {
  t.equal(chooseInterval([100, 25]), 1000);
  t.equal(chooseInterval([300, 100]), 500);
  t.equal(chooseInterval([300, 100, 100, 25]), 1000, 'CO2 at 25/s forces whole samples');
  t.equal(chooseInterval([300, 100, 100]), 250);
  const model = new PhysiologyModel({ seed: 1 });
  const p = planWaves([1, 2, 3, 8, 99, 1], { model, seed: 1 });
  t.same(
    p.waves.map((w) => w.waveId),
    [1, 2],
    '≤ 600 samples/s',
  );
  t.same(
    p.rejected.map((r) => [r.waveId, r.reason]),
    [
      [3, 'limit'],
      [8, 'limit'],
      [99, 'unknown'],
      [1, 'duplicate'],
    ],
  );
  const many = planWaves([9, 10, 11, 12, 13, 14, 15, 23, 9], { model, seed: 1 });
  t.equal(many.waves.length, 8, 'at most 8 waves');
  t.equal(many.intervalMs, 1000);
  const none = planWaves([6], { model, seed: 1 });
  t.equal(none.waves[0]!.source, null, 'INVP3 has no measurement: channel of −32767');
});

t.test('faults: garbage and corrupted frames are counted by the host; the truth skips lost records', async (t) => {
  const { h, advance, produced, sim } = await rig(t, { faults: { garbageEveryFrames: 3, garbageBytes: 20, badChecksumEveryFrames: 4 } });
  h.requestPhdb(1);
  await advance(12_000);
  const st = h.framer.stats();
  t.ok((st.errors.checksum ?? 0) + (st.errors.stuffing ?? 0) + (st.errors.short ?? 0) >= 2, `host counted bad frames ${JSON.stringify(st.errors)}`);
  t.equal(sim.stats().dropped.checksum, 3, 'frames 4, 8, 12 corrupted');
  const times = new Set(h.phdbRecords().map((r) => r.time * 1000));
  const truthTimes = new Set(produced.map((p) => (p as ProducedNumeric).t));
  t.same([...truthTimes].sort(), [...times].sort(), 'truth only for records that arrived');
  t.equal(h.phdbRecords().length, 9);
});

t.test('faults: silence, clock jump, disconnect', async (t) => {
  const { h, advance, sim, host } = await rig(t, { clockOffsetMs: 0 });
  h.requestPhdb(1);
  await advance(3_000);
  const before = h.phdbRecords().length;
  sim.silence(4_000);
  await advance(4_000);
  t.equal(h.phdbRecords().length, before, 'nothing during the silence');
  t.ok(sim.stats().dropped.silence >= 3);
  await advance(2_000);
  const last = h.phdbRecords().at(-1)!.time;
  sim.jumpClock(3_600_000);
  await advance(1_000);
  t.equal(h.phdbRecords().at(-1)!.time - last, 3601, 'device clock jumped by an hour');
  let closed = false;
  host.on('close', () => {
    closed = true;
  });
  const detached = new Promise((r) => sim.once('detached', r));
  sim.disconnect();
  await detached;
  await flush();
  t.ok(closed, 'the host side of the link closed');
});

t.test('truth matches the gateway decoder (geDri.createDecoder, device time)', { skip: geDri ? false : 'no geDri export yet' }, async (t) => {
  const { h, advance, produced } = await rig(t);
  h.requestPhdb(2);
  h.requestWaves([1, 8]);
  await advance(6_000);
  const dec = geDri!.createDecoder({ timeBase: 'device' });
  const obs = h.chunks.flatMap((c) => dec.push(c));
  const numerics = obs.filter((o) => o.kind === 'numeric' && o.value !== null);
  const truthN = produced.filter((p): p is ProducedNumeric => p.kind === 'numeric');
  let matched = 0;
  for (const p of truthN) {
    const o = numerics.find((x) => x.vendorCode === p.vendorCode && x.t === p.t);
    if (!o) {
      t.fail(`decoder lacks ${p.vendorCode}@${p.t}`);
      continue;
    }
    if (o.unit === p.unit)
      t.ok(Math.abs((o.value as number) - p.value) < 1e-6 * Math.max(1, Math.abs(p.value)), `${p.vendorCode} ${String(o.value)} == ${p.value}`);
    if (o.mdc !== p.mdc) t.comment(`mdc differs for ${p.vendorCode}: decoder ${String(o.mdc)}, truth ${p.mdc}`);
    matched++;
  }
  t.equal(matched, truthN.length);
  const wavesT = produced.filter((p): p is ProducedWave => p.kind === 'wave');
  const wavesD = obs.filter((o) => o.kind === 'wave');
  t.equal(wavesD.length, wavesT.length, 'one decoded wave block per produced block');
  for (const w of wavesT) {
    const d = wavesD.find((x) => x.t0 === w.t0 && (x.vendorCode as string).endsWith(w.vendorWaveId === 1 ? 'ECG1' : 'PLETH'));
    if (!d) {
      t.fail(`decoder lacks wave ${w.vendorWaveId}@${w.t0}`);
      continue;
    }
    t.same(d.samples, w.samples, `wave ${w.vendorWaveId}@${w.t0}`);
  }
});

t.test('seeded round trip: any re-chunking of the bytes gives the same records', async (t) => {
  const { h, advance } = await rig(t, { faults: { garbageEveryFrames: 2, garbageBytes: 9 } });
  h.requestPhdb(1);
  h.requestWaves([1, 9, 13]);
  await advance(5_000);
  const all = Buffer.concat(h.chunks);
  const expected = h.records.map((r) => r.bytes.toString('hex'));
  t.ok(expected.length > 8);
  const { DriFramer } = await import('./codec.js');
  const { Rng } = await import('../physiology/index.js');
  for (const seed of [1, 2, 3]) {
    const rng = new Rng(seed);
    const f = new DriFramer();
    const got: string[] = [];
    for (let i = 0; i < all.length;) {
      const n = 1 + rng.int(0, 64);
      for (const r of f.push(all.subarray(i, i + n))) got.push(r.toString('hex'));
      i += n;
    }
    t.same(got, expected, `seed ${seed}: same records`);
  }
});

t.test('faults from options: periodic silence and disconnect, one clock jump', async (t) => {
  const { h, advance, sim, host } = await rig(t, {
    faults: { silence: { everyMs: 5_000, durationMs: 2_000 }, clockJump: { afterMs: 8_500, jumpMs: -60_000 }, disconnectEveryMs: 12_000 },
  });
  h.requestPhdb(1);
  const closed = new Promise((r) => host.once('close', r));
  await advance(11_000);
  const times = h.phdbRecords().map((r) => r.time);
  const gaps = times.slice(1).map((x, i) => x - times[i]!);
  t.ok(gaps.includes(3), `a 2 s silence leaves a 3 s gap (${gaps.join(',')})`);
  t.ok(gaps.includes(-59), 'the device clock jumped back a minute');
  await advance(2_000);
  await closed;
  t.ok(sim.stats().dropped.silence! >= 2);
});

t.test('wave requests: a refresh continues the stream; a new set restarts it and marks the gap', async (t) => {
  const { h, advance, produced } = await rig(t);
  h.requestWaves([8]);
  await advance(3_000);
  h.requestWaves([8]); // refresh, as a gateway does every minute
  await advance(2_000);
  const recs = h.waveRecords();
  const pleth = produced.filter((p): p is ProducedWave => p.kind === 'wave');
  t.same(
    pleth.map((w) => w.t0 - pleth[0]!.t0),
    pleth.map((_, i) => i * 1000),
    'one contiguous stream',
  );
  t.same(
    recs.map((r) => r.recNbr),
    recs.map((_, i) => i),
  );
  h.requestWaves([8, 4]); // another set
  await advance(3_000);
  const after = h.waveRecords().slice(recs.length);
  t.ok(after.length >= 2);
  t.equal(after[0]!.recNbr, recs.length + 1, 'one record number skipped at the restart');
  t.equal((after[0]!.time * 1000) % 1000, 0);
});

t.test('same seed and clock → byte-identical output; another seed differs', async (t) => {
  const bytesFor = async (seed: number): Promise<string> => {
    const { h, advance } = await rig(t, { seed });
    h.requestPhdb(1);
    h.requestWaves([4, 9, 13]);
    await advance(4_000);
    return Buffer.concat(h.chunks).toString('hex');
  };
  const a = await bytesFor(11);
  const b = await bytesFor(11);
  const c = await bytesFor(12);
  t.ok(a.length > 1000);
  t.equal(a, b);
  t.not(a, c);
});

t.test('random host bytes never crash the monitor and never make it talk', async (t) => {
  const { h, advance, sim } = await rig(t);
  const { Rng } = await import('../physiology/index.js');
  const rng = new Rng(99);
  for (let i = 0; i < 200; i++) {
    const chunk = Buffer.from(Array.from({ length: 1 + rng.int(0, 300) }, () => (rng.next() < 0.05 ? 0x7e : rng.int(0, 256))));
    h.send(chunk);
  }
  await advance(3_000);
  t.equal(h.bytes, 0, 'still silent');
  const st = sim.stats();
  t.ok(Object.values(st.rxErrors).reduce((a, b) => a + b, 0) > 0, `errors counted ${JSON.stringify(st.rxErrors)}`);
  h.requestPhdb(1);
  await advance(2_000);
  t.ok(h.phdbRecords().length >= 1, 'the next good request is served');
});
