// The S/5 simulator's opt-in `artifacts` option: off by default (no 'clean' events, no spans, the
// same bytes as before), and when on, the wire carries the injected values inside each span and the
// clean ones outside it, while 'clean' carries the model's values at every record.
import t from 'tap';
import { memoryLinkPair } from '../link/memory-link.js';
import { ManualClock } from './clock.js';
import { GeDriSimulator, type GeDriSimulatorOptions } from './simulator.js';
import { TestHost, decodePhdbNumerics } from './test-host.js';
import type { Produced, ProducedNumeric } from './truth.js';
import type { ArtifactSpec } from '../physiology/index.js';

const T0 = Date.UTC(2026, 0, 1, 8, 0, 0, 0);
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

async function run(t: { teardown(fn: () => unknown): void }, opts: GeDriSimulatorOptions, seconds: number) {
  const clock = new ManualClock(T0);
  const { device, host } = memoryLinkPair();
  const sim = new GeDriSimulator({ seed: 5, clock, ...opts });
  const produced: ProducedNumeric[] = [];
  const clean: ProducedNumeric[] = [];
  sim.on('produced', (r: Produced) => {
    if (r.kind === 'numeric') produced.push(r);
  });
  sim.on('clean', (rs: Produced[]) => {
    for (const r of rs) if (r.kind === 'numeric') clean.push(r);
  });
  sim.attach(device);
  sim.start();
  const h = new TestHost(host);
  t.teardown(async () => {
    await sim.close();
    device.destroy();
    host.destroy();
  });
  h.requestPhdb(1);
  await flush();
  for (let i = 0; i < seconds * 4; i++) {
    clock.advance(250);
    await flush();
  }
  return { sim, h, produced, clean };
}

const key = (n: { vendorCode: string; t: number }) => `${n.vendorCode}@${n.t}`;
const byKey = (xs: ProducedNumeric[]) => new Map(xs.map((n) => [key(n), n.value]));
// CO2 gases travel in % of the ambient pressure, their truth is in mmHg: compared elsewhere (simulator.test.ts)
const wireComparable = (xs: { vendorCode: string; t: number; value: number }[]) =>
  new Map(xs.filter((n) => n.vendorCode !== 'co2.et' && n.vendorCode !== 'co2.fi').map((n) => [key(n), n.value]));

t.test('default: no artifacts, no clean events, no spans', async (t) => {
  const { sim, produced, clean, h } = await run(t, {}, 20);
  t.ok(produced.length > 100, 'numerics produced');
  t.equal(clean.length, 0, 'no clean events without the option');
  t.same(sim.artifactSpans(), [], 'no spans');
  // the wire equals the truth (as before the option existed)
  const wire = h.phdbRecords().flatMap(decodePhdbNumerics);
  t.same(wireComparable(wire), wireComparable(produced));
});

t.test('artifacts: injected inside their spans, clean outside; clean events carry the model', async (t) => {
  const specs: ArtifactSpec[] = [
    { kind: 'art-flush', at: T0 + 3_000, durationS: 2 },
    { kind: 'spo2-dropout', at: T0 + 12_000, durationS: 3 },
    { kind: 'impossible-value', at: T0 + 17_000, durationS: 1, vital: 'hr' },
  ];
  const a = await run(t, { artifacts: { specs, seed: 9 } }, 22);
  const plain = await run(t, {}, 22);
  const spans = a.sim.artifactSpans();
  t.same(
    spans.map((s) => [s.kind, s.from - T0, s.to - T0]),
    [
      ['art-flush', 3000, 10_000],
      ['spo2-dropout', 12_000, 15_000],
      ['impossible-value', 17_000, 18_000],
    ],
    'spans recorded, flush with its recovery',
  );
  // 'clean' is exactly what the simulator without artifacts puts on the wire
  t.same(byKey(a.clean), byKey(plain.produced), 'clean values = the artifact-free stream');
  const shown = byKey(a.produced);
  const wire = a.h.phdbRecords().flatMap(decodePhdbNumerics);
  t.same(wireComparable(wire), wireComparable(a.produced), 'produced = what went on the wire');
  const inSpan = (code: string, tt: number) => {
    const vital: Record<string, string[]> = {
      'art-flush': ['p1.sys', 'p1.dia', 'p1.mean', 'p1.hr'],
      'spo2-dropout': ['spo2.spo2', 'spo2.pr'],
      'impossible-value': ['ecg.hr'],
    };
    return spans.some((s) => tt >= s.from && tt < s.to && vital[s.kind]!.includes(code));
  };
  let differ = 0;
  let sameOutside = 0;
  for (const c of a.clean) {
    const k = key(c);
    if (inSpan(c.vendorCode, c.t)) {
      if (shown.get(k) !== c.value) differ++;
    } else if (shown.get(k) === c.value) sameOutside++;
    else t.fail(`${k}: ${shown.get(k)} differs from clean ${c.value} outside every span`);
  }
  t.ok(sameOutside > 100, `clean outside the spans (${sameOutside})`);
  // flush plateau 2 s × 4 values + recovery 5 s × 4 + dropout 3 s × 2 + 1 impossible hr
  t.equal(differ, 2 * 4 + 5 * 4 + 3 * 2 + 1, 'every reading inside a span is altered');
  const plateau = a.produced.filter((n) => n.vendorCode === 'p1.sys' && n.t >= T0 + 3000 && n.t < T0 + 5000).map((n) => n.value);
  t.ok(plateau.length === 2 && plateau.every((v) => Math.abs(v - 300) < 1), `flush plateau at 300 mmHg (${plateau})`);
  t.notOk(
    a.produced.some((n) => n.vendorCode === 'spo2.spo2' && n.t >= T0 + 12_000 && n.t < T0 + 15_000),
    'dropout: no SpO2 on the wire',
  );
  t.ok(
    a.produced.some((n) => n.vendorCode === 'ecg.hr' && n.t === T0 + 17_000 && n.value >= 320),
    'impossible heart rate on the wire',
  );
});
