// The simulated workstation driven by the gateway's own MEDIBUS session in simulated time: the
// handshake completes, the device's own commands (ICC, ESC R, commands inside answers) are
// answered, and every truth reading comes out of the gateway's decoder + profile mapping with the
// same MDC id, unit, value and time; every realtime sample at its sample time.
import t from 'tap';
import { MedibusSession } from '../../../gateway/src/protocols/draeger-medibus/index.js';
import type { Observation, WaveObs } from '../../../schemas/src/observation.js';
import { ManualClock } from '../ge-dri/clock.js';
import type { Produced, ProducedNumeric, ProducedWave } from '../ge-dri/truth.js';
import { memoryLinkPair } from '../link/memory-link.js';
import { MedibusSimulator } from './simulator.js';

const flush = async (): Promise<void> => {
  for (let i = 0; i < 6; i++) await new Promise((r) => setImmediate(r));
};

export async function runInterop(opts: {
  seconds: number;
  seed: number;
  interleaveEvery?: number;
}): Promise<{ produced: Produced[]; obs: Observation[]; sim: MedibusSimulator; session: MedibusSession; clock: ManualClock; close: () => void }> {
  const clock = new ManualClock(Date.UTC(2026, 9, 2, 17, 41, 5, 0));
  const { device, host } = memoryLinkPair();
  const sim = new MedibusSimulator({ seed: opts.seed, clock, interleaveEvery: opts.interleaveEvery ?? 4 });
  const produced: Produced[] = [];
  sim.on('produced', (r: Produced) => produced.push(r));
  sim.attach(device);
  sim.start();
  const session = new MedibusSession({ now: () => clock.now() });
  const obs: Observation[] = [];
  host.on('data', (c: Buffer) => obs.push(...session.onBytes(c, clock.now())));
  session.start({ write: (b) => host.write(b) });
  for (let ms = 0; ms < opts.seconds * 1000; ms += 100) {
    clock.advance(100);
    if (ms % 250 === 0) session.tick(clock.now());
    await flush();
  }
  return {
    produced,
    obs,
    sim,
    session,
    clock,
    close: () => {
      void sim.close();
      device.destroy();
      host.destroy();
    },
  };
}

t.test('gateway MedibusSession ↔ simulated Atlan', async (t) => {
  const r = await runInterop({ seconds: 40, seed: 7 });
  t.teardown(r.close);
  const st = r.sim.stats();
  t.same(st.rxErrors, {}, 'every host frame verified by the device');
  t.equal(st.naks, 0, 'no request refused');
  t.ok(st.interleaved >= 3, `device commands inside answers (${st.interleaved})`);
  t.equal(r.session.state(), 'polling');
  t.equal(r.session.decoder().profileId(), 'draeger/atlan/a350', 'profile chosen from the device id');
  t.same(r.session.decoder().stats().errors, {}, 'gateway decoded everything without error');
  t.ok((st.requests['0x24'] ?? 0) >= 25, `CP1 polled about once a second (${st.requests['0x24']})`);

  const truthN = r.produced.filter((p): p is ProducedNumeric => p.kind === 'numeric');
  const numerics = r.obs.filter((o) => o.kind === 'numeric');
  const byKey = new Map(numerics.map((o) => [`${o.vendorCode}@${o.t}`, o]));
  const problems: string[] = [];
  for (const p of truthN) {
    const o = byKey.get(`${p.vendorCode}@${p.t}`);
    if (!o) {
      problems.push(`missing ${p.vendorCode}@${p.t}`);
      continue;
    }
    if (o.mdc !== p.mdc || o.unit !== p.unit || o.value !== p.value)
      problems.push(`${p.vendorCode}: ${String(o.mdc)} ${o.unit} ${String(o.value)} != ${p.mdc} ${p.unit} ${p.value}`);
  }
  t.same([...new Set(problems)].slice(0, 10), [], `${truthN.length} truth numerics == gateway observations`);
  t.ok(truthN.length > 400);
  const unmapped = numerics.filter((o) => o.vendorCode === 'cp1.83');
  t.ok(unmapped.length > 20 && unmapped.every((o) => o.mdc === null && o.flags?.includes('unmapped') && o.value !== null), 'unmapped code kept, flagged');

  const truthW = r.produced.filter((p): p is ProducedWave => p.kind === 'wave');
  const want = new Map<string, number>();
  for (const w of truthW) w.samples.forEach((v, i) => want.set(`${w.mdc}|${w.unit}|${w.t0 + (i * 1000) / w.rateHz}`, v));
  const got = new Map<string, number | null>();
  for (const w of r.obs.filter((o): o is WaveObs => o.kind === 'wave'))
    w.samples.forEach((v, i) => got.set(`${w.mdc}|${w.unit}|${w.t0 + (i * 1000) / w.rateHz}`, v));
  let missing = 0;
  let wrong = 0;
  for (const [k, v] of want) {
    if (!got.has(k)) missing++;
    else if (got.get(k) !== v) wrong++;
  }
  t.ok(want.size > 3000, `${want.size} realtime samples produced`);
  t.equal(missing, 0, 'no realtime sample lost or shifted in time');
  t.equal(wrong, 0, 'every realtime sample has the produced value');
  t.same([...new Set([...want.keys()].map((k) => k.split('|').slice(0, 2).join(' ')))].sort(), [
    'MDC_CONC_AWAY_CO2 mm[Hg]',
    'MDC_CONC_AWAY_O2 %',
    'MDC_FLOW_AWAY L/min',
    'MDC_PRESS_AWAY mbar',
  ]);
  const breaths = r.obs.filter((o) => o.kind === 'setting' && o.name === 'breathPhase');
  t.ok(breaths.length >= 8, `breath markers (${breaths.length})`);
  const alarms = r.obs.filter((o) => o.kind === 'alarm');
  t.ok(
    alarms.some((a) => a.kind === 'alarm' && a.phase === 'start' && a.priority === 'high' && a.text === 'MV LOW'),
    'scripted alarm started',
  );
  t.ok(
    alarms.some((a) => a.kind === 'alarm' && a.phase === 'end' && a.vendorCode === 'alarm.cp1.21'),
    'and ended',
  );
  t.equal(alarms.length, 2, 'one start, one end (no repeats while active)');
});
