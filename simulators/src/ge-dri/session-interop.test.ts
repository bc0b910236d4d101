// The simulated S/5 driven by the gateway's own GE DRI session (requests at DRI levels 10..7,
// refresh every 60 s) in simulated time: every truth reading comes out of the gateway's decoder +
// profile mapping with the same MDC id, unit, value and time, and wave blocks keep their t0.
import t from 'tap';
import { memoryLinkPair } from '../link/memory-link.js';
import { ManualClock } from './clock.js';
import { GeDriSimulator } from './simulator.js';
import type { Produced, ProducedNumeric, ProducedWave } from './truth.js';

const mod = (await import('../../../gateway/src/protocols/ge-dri/index.js').catch(() => undefined)) as Record<string, unknown> | undefined;
interface Obs {
  kind: string;
  mdc: string | null;
  unit: string;
  value?: number | null;
  t?: number;
  t0?: number;
  vendorCode: string;
  samples?: (number | null)[];
}
type SessionCtor = new (o: object) => {
  start(io: { write(b: Uint8Array): void }): void;
  onBytes(c: Uint8Array, rx: number): Obs[];
  tick(n: number): void;
  stop(): void;
};
const Session = mod?.GeDriSession as SessionCtor | undefined;
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

t.test('gateway GeDriSession ↔ simulated S/5', { skip: Session ? false : 'GeDriSession not available' }, async (t) => {
  const T0 = Date.UTC(2026, 2, 3, 10, 0, 0, 700);
  const clock = new ManualClock(T0);
  const { device, host } = memoryLinkPair();
  const sim = new GeDriSimulator({ seed: 21, clock, clockOffsetMs: 0 });
  const produced: Produced[] = [];
  sim.on('produced', (r: Produced) => produced.push(r));
  sim.attach(device);
  sim.start();
  const session = new Session!({ now: () => clock.now(), timeBase: 'device' });
  const obs: Obs[] = [];
  host.on('data', (c: Buffer) => obs.push(...session.onBytes(c, clock.now())));
  session.start({ write: (b) => host.write(b) });
  t.teardown(async () => {
    await sim.close();
    device.destroy();
    host.destroy();
  });
  for (let ms = 0; ms < 130_000; ms += 250) {
    clock.advance(250);
    session.tick(clock.now());
    await flush();
  }
  const st = sim.stats();
  t.equal(st.requests.phdb, 6, `4 levels at start, then the monitor's level at each refresh (${st.requests.phdb})`);
  t.same(st.rxErrors, {}, 'every request framed correctly');
  const truthN = produced.filter((p): p is ProducedNumeric => p.kind === 'numeric');
  const numerics = obs.filter((o) => o.kind === 'numeric');
  const byKey = new Map(numerics.map((o) => [`${o.vendorCode}@${o.t}`, o]));
  const problems: string[] = [];
  for (const p of truthN) {
    const o = byKey.get(`${p.vendorCode}@${p.t}`);
    if (!o) {
      problems.push(`missing ${p.vendorCode}@${p.t}`);
      continue;
    }
    if (o.mdc !== p.mdc) problems.push(`${p.vendorCode}: mdc ${String(o.mdc)} != ${p.mdc}`);
    if (o.unit !== p.unit) problems.push(`${p.vendorCode}: unit ${o.unit} != ${p.unit}`);
    if (o.value !== p.value) problems.push(`${p.vendorCode}: value ${String(o.value)} != ${p.value}`);
  }
  t.same([...new Set(problems)].slice(0, 20), [], `${truthN.length} truth numerics == gateway observations`);
  t.ok(truthN.length > 500);
  t.equal(numerics.filter((o) => o.value !== null && o.value !== undefined).length, truthN.length, 'no valid gateway numeric without truth');
  const truthW = produced.filter((p): p is ProducedWave => p.kind === 'wave');
  const waves = obs.filter((o) => o.kind === 'wave');
  t.equal(waves.length, truthW.length, 'one gateway wave block per produced block');
  const wprob: string[] = [];
  for (const w of truthW) {
    const o = waves.find((x) => x.t0 === w.t0 && x.mdc === w.mdc);
    if (!o) {
      wprob.push(`missing ${w.mdc}@${w.t0}`);
      continue;
    }
    if (JSON.stringify(o.samples) !== JSON.stringify(w.samples)) wprob.push(`samples ${w.mdc}@${w.t0}`);
    if (o.unit !== w.unit) wprob.push(`unit ${w.mdc}: ${o.unit} != ${w.unit}`);
  }
  t.same([...new Set(wprob)].slice(0, 20), [], `${truthW.length} wave blocks == gateway wave observations`);
  const ecg = truthW.filter((w) => w.vendorWaveId === 1);
  t.ok(ecg.length > 100);
  t.same(
    ecg.map((w) => w.t0 - ecg[0]!.t0),
    ecg.map((_, i) => i * 1000),
    'the refreshes did not restart the stream',
  );
  session.stop();
});
