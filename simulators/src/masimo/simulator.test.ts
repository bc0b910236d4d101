/**
 * Masimo simulator ↔ gateway: a seeded round trip (simulator encoder → random re-chunking →
 * the gateway's framer/decoder/profile → equals the truth), per model, with and without faults,
 * and the simulator against the gateway's own MasimoSession.
 */
import t from 'tap';
import { Duplex } from 'node:stream';
import type { AlarmObs, NumericObs, Observation } from '../../../schemas/src/observation.js';
import { MasimoSession, MasimoStreamDecoder } from '../../../gateway/src/protocols/masimo/index.js';
import { ManualClock } from '../ge-dri/clock.js';
import { memoryLinkPair } from '../link/memory-link.js';
import { Rng } from '../physiology/index.js';
import { MASIMO_MODELS, MODEL_PROFILE } from './models.js';
import { MasimoSimulator, masimoFaultPreset, type MasimoSimulatorOptions } from './simulator.js';
import type { OxiProduced } from './truth.js';

const T0 = Date.UTC(2026, 10, 22, 8, 0, 0, 250);

async function capture(
  opts: MasimoSimulatorOptions,
  seconds: number,
  onHost?: (host: Duplex, clock: ManualClock) => void,
): Promise<{ bytes: Buffer; truth: OxiProduced[]; sim: MasimoSimulator }> {
  const clock = new ManualClock(T0);
  const truth: OxiProduced[] = [];
  const sim = new MasimoSimulator({ ...opts, clock, onProduced: (r) => truth.push(r) });
  const { device, host } = memoryLinkPair();
  const chunks: Buffer[] = [];
  host.on('data', (c: Buffer) => chunks.push(c));
  onHost?.(host, clock);
  sim.attach(device);
  sim.start();
  clock.advance(seconds * 1000);
  await new Promise((r) => setImmediate(r));
  await sim.close();
  return { bytes: Buffer.concat(chunks), truth, sim };
}

function rechunk(b: Buffer, rng: Rng): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length;) {
    const n = 1 + rng.int(0, 90);
    out.push(b.subarray(i, i + n));
    i += n;
  }
  return out;
}

const key = (o: { vendorCode: string; t: number }): string => `${o.vendorCode}@${o.t}`;

for (const model of MASIMO_MODELS) {
  t.test(`seeded round trip, ${model}: every produced value decoded with the same MDC id, unit, value and time`, async (t) => {
    const { bytes, truth } = await capture({ model, seed: 7, realNumerics: false }, 30);
    const dec = new MasimoStreamDecoder({ profileId: MODEL_PROFILE[model] });
    const obs: Observation[] = [];
    for (const c of rechunk(bytes, Rng.keyed(3, model))) obs.push(...dec.push(c));
    const got = new Map(obs.filter((o): o is NumericObs => o.kind === 'numeric').map((o) => [key(o), o]));
    const want = truth.filter((r) => r.kind === 'numeric');
    t.ok(want.length >= 30 * 3, `${want.length} produced values`);
    const bad = want.filter((w) => {
      const g = got.get(key(w));
      return !g || g.value !== w.value || g.mdc !== w.mdc || g.unit !== w.unit || g.flags !== undefined;
    });
    t.same(bad.slice(0, 3), [], 'all equal');
    t.equal([...got.values()].filter((g) => g.value !== null).length, want.length, 'nothing invented');
    t.same(dec.stats().errors, {});
    t.equal(dec.stats().frames, 30);
  });
}

t.test('faults: garbage lines counted, dashed and sensor-off lines give null + invalid, alarms match the truth', async (t) => {
  const { bytes, truth, sim } = await capture(
    { model: 'rad8', seed: 2, realNumerics: false, faults: { ...masimoFaultPreset(['garbage', 'dashes']), sensorOff: { everyMs: 20_000, durationMs: 4_000 } } },
    45,
  );
  const dec = new MasimoStreamDecoder();
  const obs: Observation[] = [];
  for (const c of rechunk(bytes, Rng.keyed(9, 'f'))) obs.push(...dec.push(c));
  t.equal(dec.stats().errors.garbage, sim.stats().faults.garbage, 'every garbage line counted');
  t.equal(dec.stats().frames, 45, 'no good line lost');
  const vals = obs.filter((o): o is NumericObs => o.kind === 'numeric' && o.value !== null);
  t.equal(vals.length, truth.filter((r) => r.kind === 'numeric').length);
  const nulls = obs.filter((o): o is NumericObs => o.kind === 'numeric' && o.vendorCode === 'SPO2' && o.value === null);
  t.equal(nulls.length, (sim.stats().faults['sensor-off'] ?? 0) + (sim.stats().faults.dashes ?? 0));
  t.ok(nulls.every((n) => n.flags?.includes('invalid')));
  const alarms = obs.filter((o): o is AlarmObs => o.kind === 'alarm').map((a) => `${a.vendorCode} ${a.phase} ${a.t}`);
  t.same(
    alarms,
    truth.filter((r) => r.kind === 'alarm').map((a) => `${a.vendorCode} ${a.phase} ${a.t}`),
  );
  t.ok(alarms.length >= 3, `sensor-off alarms: ${alarms.length}`);
});

t.test('simulator against the gateway MasimoSession over a link: exact values and device times', async (t) => {
  const session = new MasimoSession({ profileId: 'auto' });
  const obs: Observation[] = [];
  const clock = new ManualClock(T0);
  const truth: OxiProduced[] = [];
  const sim = new MasimoSimulator({ model: 'radical5', seed: 4, realNumerics: false, clock, onProduced: (r) => truth.push(r) });
  // the gateway end: every write reaches the session at once, stamped with the (manual) clock
  const wire = new Duplex({
    read() {
      /* host never writes */
    },
    write(c: Buffer, _e, cb) {
      obs.push(...session.onBytes(c, clock.now() + 3));
      cb();
    },
  });
  session.start({ write: () => t.fail('the session must not write') });
  sim.attach(wire);
  sim.start();
  clock.advance(20_000);
  await sim.close();
  t.equal(session.decoder().profileId(), 'masimo/radical-5/ascii1', 'model recognised from the key set');
  const got = new Map(obs.filter((o): o is NumericObs => o.kind === 'numeric').map((o) => [key(o), o.value]));
  const want = truth.filter((r) => r.kind === 'numeric');
  t.equal(want.length, 20 * 3, 'Radical-5: SPO2, BPM, PI each second');
  t.same(want.filter((w) => got.get(key(w)) !== w.value).slice(0, 3), []);
  t.ok(session.lastFrameAt() !== undefined);
});
