/**
 * The simulator against the gateway's profile `auto` (the data format found in the stream): with
 * every fault on, auto decodes what the explicit profile decodes; when the device's format menu
 * changes mid-stream, auto follows it; and an auto session connected to the simulator never sends
 * it a command (the simulator would obey one).
 */
import t from 'tap';
import { Duplex } from 'node:stream';
import type { NumericObs, Observation } from '../../../schemas/src/observation.js';
import { encodeSelectFormat, NoninSession, NoninStreamDecoder, plausibleFormat8 } from '../../../gateway/src/protocols/nonin/index.js';
import { ManualClock } from '../ge-dri/clock.js';
import { memoryLinkPair } from '../link/memory-link.js';
import type { OxiProduced } from '../masimo/truth.js';
import { FORMAT_PROFILE, NoninSimulator, noninFaultPreset, type NoninSimulatorOptions } from './simulator.js';

const T0 = Date.UTC(2026, 10, 22, 8, 0, 0, 400);

interface Run {
  chunks: { bytes: Buffer; rx: number }[];
  truth: OxiProduced[];
  sim: NoninSimulator;
  host: Duplex;
  clock: ManualClock;
}

/** Runs the simulator for `ms` in steps of 100 ms; each chunk keeps the time it arrived. `at` runs a step's action first. */
async function run(opts: NoninSimulatorOptions, ms: number, at: Record<number, (r: Run) => void> = {}): Promise<Run> {
  const clock = new ManualClock(T0);
  const truth: OxiProduced[] = [];
  const sim = new NoninSimulator({ ...opts, clock, onProduced: (x) => truth.push(x) });
  const { device, host } = memoryLinkPair();
  const r: Run = { chunks: [], truth, sim, host, clock };
  host.on('data', (c: Buffer) => r.chunks.push({ bytes: c, rx: clock.now() }));
  sim.attach(device);
  sim.start();
  for (let step = 0; step < ms; step += 100) {
    at[step]?.(r);
    await new Promise((res) => setImmediate(res));
    clock.advance(100);
    await new Promise((res) => setImmediate(res));
  }
  await sim.close();
  return r;
}

const decode = (profileId: string, r: Run): { dec: NoninStreamDecoder; obs: Observation[] } => {
  const dec = new NoninStreamDecoder({ profileId });
  return { dec, obs: r.chunks.flatMap((c) => dec.push(c.bytes, c.rx)) };
};

for (const format of [2, 7, 8] as const) {
  t.test(`#${format} with every fault: auto decodes what the explicit profile decodes`, async (t) => {
    const faults = { ...noninFaultPreset(['garbage', 'checksum', 'missing']), sensorOff: { everyMs: 6000, durationMs: 1000 } };
    const r = await run({ format, seed: 40 + format, realNumerics: false, faults }, format === 8 ? 40_000 : 12_000);
    // #8 under auto holds seconds until a run of 3: end the capture on such a run so that both have read everything
    const good = (c: { bytes: Buffer }): boolean => c.bytes.length === 4 && plausibleFormat8(c.bytes, 0);
    if (format === 8) while (!r.chunks.slice(-3).every(good)) r.chunks.pop();
    const auto = decode('auto', r);
    const ref = decode(FORMAT_PROFILE[format], r);
    t.ok(ref.obs.length > (format === 8 ? 60 : 300), `${ref.obs.length} observations`);
    t.same(
      auto.obs.map((o) => JSON.stringify(o)),
      ref.obs.map((o) => JSON.stringify(o)),
      'same observations: values, pleth, alarms, times',
    );
    t.equal(auto.dec.profileId(), FORMAT_PROFILE[format]);
    const { unconfirmed = 0, ...rest } = auto.dec.stats().errors;
    const { garbage = 0, ...refRest } = ref.dec.stats().errors;
    if (format === 8) {
      // #8 after its proof reads seconds in runs of 3: the bytes the #8 framer skipped as garbage are the unconfirmed ones
      t.same([rest, unconfirmed], [refRest, garbage], 'the same counts, the skipped bytes as unconfirmed');
    } else t.same(auto.dec.stats().errors, ref.dec.stats().errors, 'the same counts');
    t.ok((r.sim.stats().faults.garbage ?? 0) > 0 && (r.sim.stats().faults.checksum ?? 0) > 0, 'faults happened');
  });
}

t.test('the format menu changes mid-stream (#2 → #7 → #8): auto follows, every value in order', async (t) => {
  const menu =
    (f: 7 | 8) =>
    (r: Run): void => {
      r.host.write(encodeSelectFormat(f));
    };
  const r = await run({ format: 2, seed: 50, realNumerics: false }, 14_000, { 3000: menu(7), 6000: menu(8) });
  t.same(r.sim.commands, { 'select-7': 1, 'select-8': 1 }, 'the simulator switched twice');
  const auto = decode('auto', r);
  t.equal(auto.dec.profileId(), FORMAT_PROFILE[8]);
  t.equal(auto.dec.stats().errors['format-changed'], 2);
  const want = r.truth.filter((x) => x.kind === 'numeric').map((x) => `${x.vendorCode}=${x.value}`);
  const got = auto.obs.filter((o): o is NumericObs => o.kind === 'numeric' && o.value !== null).map((o) => `${o.vendorCode}=${o.value}`);
  t.same(got, want, `${want.length} values of three formats, in order, nothing else`);
});

t.test('an auto session connected to the simulator sends it nothing; the simulator stays in its format', async (t) => {
  for (const format of [2, 8] as const) {
    const clock = new ManualClock(T0);
    const sim = new NoninSimulator({ format, seed: 60, realNumerics: false, clock });
    const session = new NoninSession({ profileId: 'auto', now: () => clock.now() });
    const obs: Observation[] = [];
    const wire = new Duplex({
      read() {
        /* pushed by the session's writes */
      },
      write(c: Buffer, _e, cb) {
        obs.push(...session.onBytes(c, clock.now()));
        cb();
      },
    });
    sim.attach(wire);
    sim.start();
    session.start({
      write: (b) => {
        wire.push(Buffer.from(b));
      },
    });
    for (let s = 0; s < 12; s++) {
      clock.advance(1000);
      session.tick(clock.now());
      await new Promise((res) => setImmediate(res));
    }
    await sim.close();
    t.same([sim.commands, sim.format, session.commandReplies().sent], [{}, format, 0], `#${format}: no command`);
    t.equal(session.decoder().profileId(), FORMAT_PROFILE[format], `#${format}: found in the stream`);
    t.ok(
      obs.some((o) => o.kind === 'numeric'),
      'and decoded',
    );
  }
});
