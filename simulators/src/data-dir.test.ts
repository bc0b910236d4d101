// The repository stands alone: with no recordings configured every simulator runs on the synthetic
// model; a configured directory that is missing is a coded fatal error (SIM_ERR_DATA_DIR) at start,
// in the API and on the command line; $ORLINK_PHYSIONET_DIR turns the recordings on; no simulator
// source or help text points into the developers' ../shared folder.
import t from 'tap';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { configuredDataDir, createWaveSource, NumericTrend, PhysiologyModel, requireDataDir, SyntheticEcg, PHYSIONET_ENV } from './physiology/index.js';
import { GeDriSimulator } from './ge-dri/simulator.js';
import { MasimoSimulator } from './masimo/simulator.js';
import { NoninSimulator } from './nonin/simulator.js';
import { IntelliVueMonitor } from './philips-intellivue/monitor.js';
import { run } from './main.js';

const MISSING = '/nonexistent/orlink-physionet';
const REAL = resolve(import.meta.dirname, '../../../shared/data/physionet');
const saved = process.env[PHYSIONET_ENV];
delete process.env[PHYSIONET_ENV];
t.teardown(() => {
  if (saved === undefined) delete process.env[PHYSIONET_ENV];
  else process.env[PHYSIONET_ENV] = saved;
});

t.test('no directory configured → synthetic everywhere', async (t) => {
  t.equal(configuredDataDir(), undefined);
  const model = new PhysiologyModel({ seed: 1 });
  t.ok(createWaveSource('ecg2', 300, { model, seed: 1 }) instanceof SyntheticEcg, 'ECG is the synthetic model');
  const ge = new GeDriSimulator({ seed: 1 });
  ge.start();
  t.equal(ge.model.seed, 1, 'GE DRI starts');
  await ge.close();
  t.doesNotThrow(() => new MasimoSimulator({ seed: 1 }));
  t.doesNotThrow(() => new NoninSimulator({ seed: 1, format: 2 }));
  t.doesNotThrow(() => new IntelliVueMonitor({ seed: 1 }));
});

t.test('a configured directory that is missing: SIM_ERR_DATA_DIR', async (t) => {
  const code = { code: 'SIM_ERR_DATA_DIR' };
  t.throws(() => requireDataDir(MISSING), code);
  t.throws(() => createWaveSource('art', 100, { model: new PhysiologyModel(), seed: 1, dataDir: MISSING }), code);
  const ge = new GeDriSimulator({ dataDir: MISSING });
  t.throws(() => ge.start(), code);
  await ge.close();
  t.throws(() => new MasimoSimulator({ dataDir: MISSING }), code);
  t.throws(() => new NoninSimulator({ dataDir: MISSING }), code);
  t.throws(() => new IntelliVueMonitor({ dataDir: MISSING }), code);
  process.env[PHYSIONET_ENV] = MISSING;
  t.equal(configuredDataDir(), MISSING, 'the environment variable configures it');
  t.equal(configuredDataDir('/x/y'), '/x/y', 'an explicit directory wins');
  t.throws(() => new MasimoSimulator({}), code, 'from the environment too');
  delete process.env[PHYSIONET_ENV];
});

t.test('the command lines: --data-dir missing → exit 1 with the reason; help names no ../shared', async (t) => {
  for (const argv of [
    ['ge-dri', '--tcp', '127.0.0.1:0', '--data-dir', MISSING],
    ['masimo', '--tcp', '127.0.0.1:0', '--data-dir', MISSING],
    ['nonin', '--tcp', '127.0.0.1:0', '--data-dir', MISSING],
    ['philips-intellivue', '--lan', '--data-dir', MISSING],
  ]) {
    const stdout = new PassThrough();
    t.equal(await run(argv, { stdout, logger: pino({ level: 'silent' }) }), 1, `${argv[0]}: exit 1`);
  }
  for (const name of ['ge-dri', 'masimo', 'nonin', 'philips-intellivue', 'draeger-medibus', 'hl7-mllp']) {
    const out = new PassThrough();
    await run([name, '--help'], { stdout: out });
    const text = String(out.read() ?? '');
    t.notMatch(text, /shared/, `${name} --help`);
    if (['ge-dri', 'masimo', 'nonin', 'philips-intellivue'].includes(name)) t.match(text, /--data-dir DIR/, `${name} offers --data-dir`);
  }
});

t.test('$ORLINK_PHYSIONET_DIR turns the recordings on', { skip: existsSync(REAL) ? false : 'no PhysioNet copy beside the repository' }, async (t) => {
  process.env[PHYSIONET_ENV] = REAL;
  const src = createWaveSource('ecg2', 300, { model: new PhysiologyModel(), seed: 1 });
  t.notOk(src instanceof SyntheticEcg, 'ECG plays the recording');
  const ge = new GeDriSimulator({ seed: 1 });
  ge.start();
  t.equal(ge.model.at(Date.now()).values.hr, NumericTrend.load(REAL).minuteValue('hr', 620), 'GE DRI starts on the s00001 numerics (minute 620)');
  await ge.close();
  delete process.env[PHYSIONET_ENV];
});

t.test('simulator sources and README stand alone (no ../shared paths)', async (t) => {
  const root = resolve(import.meta.dirname, '..');
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) {
        walk(p);
        continue;
      }
      if (f.endsWith('.test.ts')) continue;
      const text = readFileSync(p, 'utf8');
      text.split('\n').forEach((line, i) => {
        if (/\.\.\/shared|shared\/(data|protocols|captures)|\/work\/shared/.test(line)) offenders.push(`${p.slice(root.length + 1)}:${i + 1}`);
      });
    }
  };
  walk(root);
  t.same(offenders, []);
});
