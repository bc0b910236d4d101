// Seeded round trip: simulator encoder → random re-chunking (seeded) → the gateway's passive
// StreamDecoder (RX and TX) → profile mapping equals what the simulator put on the wire, for
// several seeds; the chunking must not change a single observation.
import t from 'tap';
import { Duplex } from 'node:stream';
import { MedibusStreamDecoder, encodeCommand, encodeResponse, CMD } from '../../../gateway/src/protocols/draeger-medibus/index.js';
import type { Observation, WaveObs } from '../../../schemas/src/observation.js';
import { ManualClock } from '../ge-dri/clock.js';
import type { Produced, ProducedNumeric, ProducedWave } from '../ge-dri/truth.js';
import { Rng } from '../physiology/index.js';
import { MedibusSimulator } from './simulator.js';

/** Captures what the device writes; the test writes host bytes into it. */
class Tap extends Duplex {
  readonly chunks: Buffer[] = [];
  override _read(): void {
    /* host bytes are pushed by the test */
  }
  override _write(c: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.chunks.push(Buffer.from(c));
    cb();
  }
}

function rechunk(bytes: Buffer, rng: Rng): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length;) {
    const n = 1 + Math.floor(rng.next() * 40);
    out.push(bytes.subarray(i, i + n));
    i += n;
  }
  return out;
}

async function session(seed: number): Promise<{ rx: Buffer; tx: Buffer; produced: Produced[]; t: number }> {
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 8, 0, 0));
  const sim = new MedibusSimulator({ seed, clock, interleaveEvery: 3 });
  const produced: Produced[] = [];
  sim.on('produced', (p: Produced) => produced.push(p));
  const tap = new Tap();
  sim.attach(tap);
  sim.start();
  const tx: Buffer[] = [];
  const send = (b: Buffer): void => {
    tx.push(b);
    tap.push(b);
  };
  const flush = async (): Promise<void> => {
    for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
  };
  send(encodeResponse(CMD.ICC));
  send(encodeCommand(CMD.ICC));
  await flush();
  send(encodeResponse(CMD.DEVICE_ID));
  for (const c of [CMD.DEVICE_ID, CMD.RT_CONFIG]) send(encodeCommand(c));
  send(encodeCommand(CMD.RT_CONFIGURE, '000101010501060107000800'));
  await flush();
  for (let s = 0; s < 12; s++) {
    for (const c of [CMD.DATA_CP1, CMD.ALARMS_CP1, CMD.SETTINGS, CMD.TEXT]) send(encodeCommand(c));
    await flush();
    clock.advance(1000);
    await flush();
  }
  send(encodeCommand(CMD.NOP)); // a last frame closes the open wave blocks
  await flush();
  await sim.close();
  return { rx: Buffer.concat(tap.chunks), tx: Buffer.concat(tx), produced, t: clock.now() };
}

for (const seed of [1, 2, 3]) {
  t.test(`seed ${seed}: re-chunked bytes decode to the produced truth`, async (t) => {
    const s = await session(seed);
    const rng = new Rng(seed * 7919);
    const decodeAll = (chunks: Buffer[]): { obs: Observation[]; dec: MedibusStreamDecoder } => {
      const dec = new MedibusStreamDecoder({ timeBase: 'device' });
      dec.pushTx(s.tx);
      const obs: Observation[] = [];
      for (const c of chunks) obs.push(...dec.push(c)); // virtual clock: time from the bytes only
      return { obs, dec };
    };
    const whole = decodeAll([s.rx]);
    const split = decodeAll(rechunk(s.rx, rng));
    t.same(split.dec.stats().errors, {}, 'no decode errors');
    t.same(whole.dec.stats().errors, {});
    t.same(
      split.obs.filter((o) => o.kind !== 'wave'),
      whole.obs.filter((o) => o.kind !== 'wave'),
      'chunking changes no numeric/alarm/setting',
    );
    t.same(
      split.obs.filter((o) => o.kind === 'wave'),
      whole.obs.filter((o) => o.kind === 'wave'),
      'nor the wave blocks (samples and t0)',
    );
    const truthN = s.produced.filter((p): p is ProducedNumeric => p.kind === 'numeric');
    const gotN = split.obs
      .filter((o) => o.kind === 'numeric' && o.mdc !== null)
      .map((o) => o.kind === 'numeric' && `${o.vendorCode} ${String(o.mdc)} ${o.unit} ${String(o.value)}`);
    t.same(
      gotN,
      truthN.map((p) => `${p.vendorCode} ${p.mdc} ${p.unit} ${p.value}`),
      `${truthN.length} numerics, in order, equal`,
    );
    for (const code of [0x00, 0x01, 0x05, 0x06]) {
      const want = s.produced.filter((p): p is ProducedWave => p.kind === 'wave' && p.vendorWaveId === code).flatMap((w) => w.samples);
      const got = split.obs
        .filter((o): o is WaveObs => o.kind === 'wave' && o.vendorCode === `rt.0${code.toString(16).toUpperCase()}`)
        .flatMap((w) => w.samples);
      t.ok(want.length >= 500, `rt ${code}: ${want.length} samples`);
      t.same(got.slice(0, want.length), want, `rt ${code}: samples equal, in order`);
    }
  });
}
