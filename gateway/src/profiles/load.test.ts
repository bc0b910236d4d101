import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { DEFAULT_PROFILE_DIR, loadProfiles, profilesFor } from './load.js';

const base = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  id,
  vendor: 'GE',
  models: ['X'],
  protocol: 'ge-dri',
  match: { priority: 1 },
  numerics: {},
  ...extra,
});

function dirWith(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'orlink-profiles-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

t.test('the repository profiles load and validate', async (t) => {
  const set = loadProfiles();
  t.ok(set.profiles.has('ge/s5/dri-2003'));
  const b650 = set.profiles.get('ge/carescape-b650/dri-2009')!;
  t.equal(b650.numerics['co2.et'].mdc, 'MDC_CONC_AWAY_CO2_ET', 'inherited through extends');
  t.same(b650.requests?.protocolLevels, [10, 9, 8], 'own entries win');
  t.equal(b650.link?.parity, 'even');
});

t.test('all problems are reported at once', async (t) => {
  const dir = dirWith({
    'a/one.json': base('a/one', { numerics: { x: { mdc: 'bad', code: 1, unit: '1' } } }),
    'a/two.json': '{ not json',
    'a/three.json': base('a/wrong-id'),
    'a/four.json': base('a/four', { extends: 'a/missing' }),
    'a/five.json': base('a/five', { extends: 'a/six' }),
    'a/six.json': base('a/six', { extends: 'a/five' }),
    'a/testcases/x/case.json': { protocol: 'ge-dri' },
  });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  try {
    loadProfiles(dir);
    t.fail('should throw');
  } catch (err) {
    const e = err as { code: string; details: string[] };
    t.equal(e.code, 'GW_ERR_PROFILE_INVALID');
    const text = e.details.join('\n');
    t.match(text, /one\.json: \/numerics\/x\/mdc/);
    t.match(text, /two\.json: not valid JSON/);
    t.match(text, /three\.json: id 'a\/wrong-id' must equal its path 'a\/three'/);
    t.match(text, /a\/four: extends unknown profile 'a\/missing'/);
    t.match(text, /extends cycle/);
    t.notMatch(text, /case\.json/, 'testcases/ are not profiles');
  }
});

t.test('filter by protocol', async (t) => {
  const dir = dirWith({ 'a/one.json': base('a/one'), 'b/two.json': base('b/two', { protocol: 'other' }) });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.same([...loadProfiles(dir, { protocol: 'other' }).profiles.keys()], ['b/two']);
});

t.test('profilesFor: one cache per folder and protocol; the default is firmware-profiles/', async (t) => {
  const dir = dirWith({ 'a/one.json': base('a/one'), 'b/two.json': base('b/two', { protocol: 'other' }) });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const first = profilesFor('ge-dri', dir);
  t.same([...first.profiles.keys()], ['a/one']);
  t.equal(profilesFor('ge-dri', `${dir}/`), first, 'the same folder spelled differently: read once');
  t.same([...profilesFor('other', dir).profiles.keys()], ['b/two']);
  t.equal(profilesFor('ge-dri').dir, DEFAULT_PROFILE_DIR);
  t.ok(profilesFor('ge-dri').profiles.has('ge/s5/dri-2003'));
  t.not(profilesFor('ge-dri'), first);
});
