// Scenario events: induction lowers BP (and shifts HR) then recovers; desaturation reaches its
// nadir and comes back; nothing changes before an event; seeded magnitudes; validation.
import t from 'tap';
import { PhysiologyModel } from './vitals-model.js';
import { checkEvents, EventTimeline, type PhysioEvent } from './events.js';
import { parseScenario } from '../scenario.js';

const T0 = Date.UTC(2026, 0, 1, 8, 0, 0);
const s = (x: number): number => T0 + x * 1000;

t.test('induction: BP falls by the share given over the onset, HR shifts, then recovers', async (t) => {
  const ev: PhysioEvent[] = [{ kind: 'induction', atS: 60, onsetS: 60, bpDropPct: 30, hrDelta: -10, recoveryS: 300 }];
  const plain = new PhysiologyModel({ seed: 4, startMs: T0 });
  const m = new PhysiologyModel({ seed: 4, startMs: T0, events: ev });
  t.same(m.at(s(59)).values, plain.at(s(59)).values, 'before the event: the same patient');
  const a = m.at(s(120)).values;
  const p = plain.at(s(120)).values;
  t.ok(Math.abs(a.artSys! - p.artSys! * 0.7) < 1e-6, `sys ${p.artSys!.toFixed(1)} → ${a.artSys!.toFixed(1)}`);
  t.ok(Math.abs(a.artDia! - p.artDia! * 0.7) < 1e-6, 'dia by the same share');
  t.ok(Math.abs(a.artMean! - (a.artDia! + (a.artSys! - a.artDia!) / 3)) < 1e-9, 'MAP follows');
  t.ok(Math.abs(a.hr! - (p.hr! - 10)) < 1e-6, 'HR shifted');
  t.ok(Math.abs(a.pulseRate! - (p.pulseRate! - 10)) < 1e-6, 'pulse rate with it');
  const half = m.at(s(90)).values.artSys! / plain.at(s(90)).values.artSys!;
  t.ok(half > 0.7 && half < 1, `halfway through the onset ${half.toFixed(3)}`);
  const late = m.at(s(120 + 1500)).values.artSys! / plain.at(s(120 + 1500)).values.artSys!;
  t.ok(late > 0.99, `recovered after 5 time constants (${late.toFixed(3)})`);
  const nibp = new PhysiologyModel({ seed: 4, startMs: T0, events: ev, nibpIntervalMin: 1 }).at(s(125)).values;
  const nibpPlain = new PhysiologyModel({ seed: 4, startMs: T0, nibpIntervalMin: 1 }).at(s(125)).values;
  t.ok(nibp.nibpSys! < nibpPlain.nibpSys! * 0.75, 'NIBP taken in the drop sees it');
});

t.test('desaturation: down to the nadir, held, back; HR rises meanwhile', async (t) => {
  const ev: PhysioEvent[] = [{ kind: 'desaturation', atS: 100, onsetS: 40, holdS: 30, recoveryS: 60, nadir: 84, hrDelta: 10 }];
  const m = new PhysiologyModel({ seed: 6, startMs: T0, events: ev });
  const plain = new PhysiologyModel({ seed: 6, startMs: T0 });
  t.equal(m.at(s(99)).values.spo2, plain.at(s(99)).values.spo2);
  t.ok(Math.abs(m.at(s(150)).values.spo2! - 84) < 1e-9, 'at the nadir during the hold');
  t.ok(m.at(s(120)).values.spo2! < plain.at(s(120)).values.spo2! && m.at(s(120)).values.spo2! > 84, 'on the way down');
  t.equal(m.at(s(231)).values.spo2, plain.at(s(231)).values.spo2, 'back after the recovery');
  t.ok(Math.abs(m.at(s(150)).values.hr! - plain.at(s(150)).values.hr! - 10) < 1e-9, 'HR up by hrDelta at the nadir');
});

t.test('magnitudes not given are drawn from the seed, reproducibly and within range', async (t) => {
  const list: PhysioEvent[] = [
    { kind: 'induction', atS: 10 },
    { kind: 'desaturation', atS: 500 },
  ];
  const a = new EventTimeline(list, 1).describe();
  t.same(new EventTimeline(list, 1).describe(), a, 'same seed, same case');
  t.not(new EventTimeline(list, 2).describe()[0]!.depth, a[0]!.depth, 'another seed, another case');
  for (let seed = 1; seed < 40; seed++) {
    const [ind, des] = new EventTimeline(list, seed).describe();
    if (!(ind!.depth >= 20 && ind!.depth <= 35 && des!.depth >= 82 && des!.depth <= 90)) {
      t.fail(`seed ${seed}: ${JSON.stringify([ind, des])}`);
      break;
    }
  }
});

t.test('validation: all problems at once, in the model and in a scenario', async (t) => {
  t.same(checkEvents([{ kind: 'induction', atS: 1 }]), []);
  const bad = checkEvents([{ kind: 'nap', atS: 1 }, { kind: 'induction', atS: -1, bpDropPct: 90, foo: 1 }, 3]);
  t.equal(bad.length, 5, bad.join('; '));
  t.same(checkEvents('x'), ['events must be a list']);
  t.throws(() => new PhysiologyModel({ events: [{ kind: 'desaturation', atS: 0, nadir: 20 }] }), { code: 'SIM_ERR_PHYSIO_CONFIG' });
  t.same(parseScenario('events:\n  - { kind: induction, atS: 120, bpDropPct: 25 }\n').events, [{ kind: 'induction', atS: 120, bpDropPct: 25 }]);
  t.throws(() => parseScenario('events:\n  - { kind: induction }\nbaseline: { hr: 900 }\n'), {
    code: 'SIM_ERR_PHYSIO_CONFIG',
    message: /atS.*baseline\.hr|baseline\.hr.*atS/,
  });
});
