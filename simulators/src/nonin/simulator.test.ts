/**
 * Nonin simulator ↔ gateway: seeded round trips per data format (simulator → random re-chunking →
 * the gateway's framer/decoder/profile → equals the truth), faults, and the simulator against the
 * gateway's own NoninSession, which selects the data format by command.
 */
import t from 'tap';
import { Duplex } from 'node:stream';
import type { AlarmObs, NumericObs, Observation, WaveObs } from '../../../schemas/src/observation.js';
import { NoninSession, NoninStreamDecoder } from '../../../gateway/src/protocols/nonin/index.js';
import { ManualClock } from '../ge-dri/clock.js';
import { memoryLinkPair } from '../link/memory-link.js';
import { Rng } from '../physiology/index.js';
import type { OxiProduced, OxiProducedWave } from '../masimo/truth.js';
import { FORMAT_PROFILE, NoninSimulator, noninFaultPreset, type NoninSimulatorOptions } from './simulator.js';

const T0 = Date.UTC(2026, 10, 22, 8, 0, 0, 400);

async function capture(opts: NoninSimulatorOptions, ms: number): Promise<{ bytes: Buffer; truth: OxiProduced[]; sim: NoninSimulator }> {
  const clock = new ManualClock(T0);
  const truth: OxiProduced[] = [];
  const sim = new NoninSimulator({ ...opts, clock, onProduced: (r) => truth.push(r) });
  const { device, host } = memoryLinkPair();
  const chunks: Buffer[] = [];
  host.on('data', (c: Buffer) => chunks.push(c));
  sim.attach(device);
  sim.start();
  clock.advance(ms);
  await new Promise((r) => setImmediate(r));
  await sim.close();
  return { bytes: Buffer.concat(chunks), truth, sim };
}

function decodeAll(bytes: Buffer, format: 2 | 7 | 8, seed: number): { obs: Observation[]; dec: NoninStreamDecoder } {
  const dec = new NoninStreamDecoder({ profileId: FORMAT_PROFILE[format] });
  const rng = Rng.keyed(seed, 'chunks');
  const obs: Observation[] = [];
  for (let i = 0; i < bytes.length;) {
    const n = 1 + rng.int(0, 60);
    obs.push(...dec.push(bytes.subarray(i, i + n)));
    i += n;
  }
  return { obs, dec };
}

for (const format of [2, 7, 8] as const) {
  t.test(`seeded round trip, format #${format}: values, packet times and pleth samples equal the truth`, async (t) => {
    const { bytes, truth } = await capture({ format, seed: 5, realNumerics: false }, 12_000);
    const { obs, dec } = decodeAll(bytes, format, format);
    const want = truth.filter((r) => r.kind === 'numeric');
    const t0 = Math.min(...want.map((w) => w.t));
    // decode has no receive times: t counts from 0 on the frame clock
    const got = new Map(obs.filter((o): o is NumericObs => o.kind === 'numeric' && o.value !== null).map((o) => [`${o.vendorCode}@${o.t}`, o]));
    const bad = want.filter((w) => {
      const g = got.get(`${w.vendorCode}@${w.t - t0}`);
      return !g || g.value !== w.value || g.mdc !== w.mdc || g.unit !== w.unit;
    });
    t.ok(want.length >= (format === 8 ? 20 : 300), `${want.length} values`);
    t.same(bad.slice(0, 3), [], 'every value at its frame-clock time');
    t.equal(got.size, want.length, 'nothing invented');
    const waves = obs.filter((o): o is WaveObs => o.kind === 'wave');
    const wantW = truth.filter((r): r is OxiProducedWave => r.kind === 'wave');
    t.equal(waves.length, wantW.length);
    t.same(
      waves.map((w) => [w.t0, w.samples]),
      wantW.map((w) => [w.t0 - t0, w.samples]),
      'pleth samples and block times',
    );
    t.same(dec.stats().errors, {});
  });
}

t.test('faults (#2): garbage and checksum counted, lost packets absent, missing/sensor-off → null, alarms match', async (t) => {
  const { bytes, truth, sim } = await capture(
    {
      format: 2,
      seed: 3,
      realNumerics: false,
      faults: { ...noninFaultPreset(['garbage', 'checksum', 'missing']), sensorOff: { everyMs: 6000, durationMs: 1000 } },
    },
    15_000,
  );
  const { obs, dec } = decodeAll(bytes, 2, 11);
  const f = sim.stats().faults;
  const e = dec.stats().errors;
  t.equal(e.checksum, f.checksum, `checksum errors = corrupted packets (${f.checksum})`);
  t.equal(e['packet-short'], f.checksum, 'each corrupted packet skipped');
  t.equal(e.garbage, 7 * f.garbage!, 'garbage bytes counted');
  const want = truth.filter((r) => r.kind === 'numeric');
  const t0 = Math.min(...want.map((w) => w.t)) - 0;
  const got = obs.filter((o): o is NumericObs => o.kind === 'numeric' && o.value !== null);
  t.equal(got.length, want.length, 'exactly the produced values');
  t.same(want.filter((w) => !got.some((g) => g.vendorCode === w.vendorCode && g.t === w.t - t0 && g.value === w.value)).slice(0, 2), []);
  const alarms = obs.filter((o): o is AlarmObs => o.kind === 'alarm').map((a) => `${a.vendorCode} ${a.phase}`);
  t.same(
    alarms,
    truth.filter((r) => r.kind === 'alarm').map((a) => `${a.vendorCode} ${a.phase}`),
  );
  t.ok(alarms.length >= 3);
});

t.test('simulator against the gateway NoninSession: the session selects format #7 by command, the stream switches', async (t) => {
  const clock = new ManualClock(T0);
  const truth: OxiProduced[] = [];
  const sim = new NoninSimulator({ format: 2, seed: 8, realNumerics: false, clock, onProduced: (r) => truth.push(r) });
  const session = new NoninSession({ profileId: 'nonin/onyx-ii-9560/format7', now: () => clock.now() });
  const obs: Observation[] = [];
  let toDevice: Duplex | undefined;
  const wire = new Duplex({
    read() {
      /* pushed below */
    },
    write(c: Buffer, _e, cb) {
      obs.push(...session.onBytes(c, clock.now() + 2));
      cb();
    },
  });
  toDevice = wire;
  sim.attach(wire);
  sim.start();
  clock.advance(1000);
  session.start({
    write: (b) => {
      toDevice?.push(Buffer.from(b));
    },
  });
  await new Promise((r) => setImmediate(r));
  t.equal(sim.format, 7, 'simulator switched to #7');
  t.same(sim.commands, { 'select-7': 1 });
  truth.length = 0;
  obs.length = 0;
  const errorsAtSwitch = session.decoder().stats().errors;
  clock.advance(5000);
  await new Promise((r) => setImmediate(r));
  await sim.close();
  t.equal(session.commandReplies().ack, 1);
  const want = truth.filter((r) => r.kind === 'numeric');
  const got = obs.filter((o): o is NumericObs => o.kind === 'numeric' && o.value !== null);
  t.equal(got.length, want.length, `${want.length} values after the switch`);
  const offsets = new Set(want.map((w, i) => got[i].t - w.t));
  t.ok(
    [...offsets].every((d) => Math.abs(d) <= 5),
    `gateway frame clock within 5 ms of the device's (${[...offsets].join(',')})`,
  );
  t.same(
    got.map((g) => g.value),
    want.map((w) => w.value),
  );
  t.same(session.decoder().stats().errors, errorsAtSwitch, 'no error after the switch (the #2 bytes before it are counted as bad #7 frames)');
});
