/**
 * The short, seeded fuzz run of `make test`: every target (each protocol's framer, decoder and
 * session, the HL7 parser, the envelope decoder and the ingest batch processor), fixed seed,
 * 6,000 cases per protocol (about 2,000 per target) within 40 s of fuzzing (on a loaded machine
 * the cap cuts a target short: the cases it ran are still the seed's first ones); fails on any
 * crash, invariant violation, hang or heap growth. Failing inputs are not saved here (`make fuzz`
 * saves them).
 */
import t from 'tap';
import { fuzz, loadTargets, summaryLine } from './fuzz.js';
import { generate, prepare } from './mutate.js';
import { caseRng } from './rng.js';

const SEED = 20261207;
const CASES_PER_PROTOCOL = 6000;

t.test(`seeded fuzz run (seed ${SEED}, ${CASES_PER_PROTOCOL} cases per protocol)`, async (t) => {
  const report = await fuzz({ seed: SEED, cases: CASES_PER_PROTOCOL, seconds: 40, jobs: 2, minimiseMs: 2000, heapGrowthMb: 48 });
  t.equal(report.targets.length, 21, 'every target ran');
  for (const r of report.targets) {
    t.comment(summaryLine(r));
    // under load the time cap may cut a target short; it still has to get somewhere
    t.ok(r.cases >= Math.min(250, CASES_PER_PROTOCOL / 4), `${r.target}: ${r.cases} cases`);
    for (const f of r.failures) t.fail(`${r.target}: ${f.kind} at case ${f.index} (seed ${SEED}): ${f.message}`);
  }
  t.equal(report.totals.failures, 0, 'no crash, invariant violation, hang or heap growth');
});

t.test('a case is a pure function of (seed, target, index): the orchestrator rebuilds hung cases', async (t) => {
  for (const target of await loadTargets()) {
    const a = prepare(target);
    const b = prepare(target);
    const same = [0, 1, 2, 500, 99_999].every((i) => {
      const x = generate(a, caseRng(SEED, target.name, i));
      const y = generate(b, caseRng(SEED, target.name, i));
      return JSON.stringify(x) === JSON.stringify(y);
    });
    t.ok(same, target.name);
  }
});
