/**
 * Walks every firmware-profiles/**\/testcases/<case>/ directory: decodes the capture named by
 * case.json (a real one under ../shared/captures, or the case's own synthetic capture.bin /
 * capture.hexlog) with the protocol named in case.json through `orlink decode` (in process) and
 * compares the NDJSON with expected.ndjson, record by record. A new case needs no new code. Also:
 * every profile validates.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';
import { DEFAULT_PROFILE_DIR, loadProfiles, validateProfile } from '../gateway/src/profiles/load.js';
import { decodeCase, readCase, type CaseDecode } from './helpers/golden-case.js';

function findCases(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (!statSync(p).isDirectory()) continue;
    if (name === 'testcases') {
      for (const c of readdirSync(p)) if (existsSync(join(p, c, 'case.json'))) out.push(join(p, c));
    } else out.push(...findCases(p));
  }
  return out.sort();
}

function findProfiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'testcases') out.push(...findProfiles(p));
    } else if (name.endsWith('.json')) out.push(p);
  }
  return out;
}

t.test('every profile validates against the schema and the set loads', async (t) => {
  const files = findProfiles(DEFAULT_PROFILE_DIR);
  t.ok(files.length >= 2, `${files.length} profiles`);
  for (const f of files) t.same(validateProfile(JSON.parse(readFileSync(f, 'utf8')), relative(DEFAULT_PROFILE_DIR, f)), [], relative(DEFAULT_PROFILE_DIR, f));
  t.doesNotThrow(() => loadProfiles());
});

const cases = findCases(DEFAULT_PROFILE_DIR);
t.ok(cases.length >= 3, `${cases.length} golden testcases`);

for (const dir of cases) {
  t.test(relative(DEFAULT_PROFILE_DIR, dir), async (t) => {
    const cj = readCase(dir);
    let res: CaseDecode;
    try {
      res = await decodeCase(dir);
    } catch (err) {
      t.fail((err as Error).message);
      return;
    }
    const { code, out, err, summary } = res;
    t.equal(code, 0, err);
    const got = out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const want = readFileSync(join(dir, 'expected.ndjson'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    t.equal(got.length, want.length, 'same number of observations');
    let firstDiff = -1;
    for (let i = 0; i < Math.max(got.length, want.length); i++) {
      if (JSON.stringify(got[i]) !== JSON.stringify(want[i])) {
        firstDiff = i;
        break;
      }
    }
    if (firstDiff >= 0) t.same(got[firstDiff], want[firstDiff], `first difference at line ${firstDiff + 1}`);
    else t.pass(`${got.length} observations equal expected.ndjson`);
    if (cj.expect?.frames !== undefined) t.equal(summary.frames, cj.expect.frames, 'frames');
    if (cj.expect?.errors) t.same(summary.errors, cj.expect.errors, 'errors by kind');
    if (cj.expect?.profile) t.equal(summary.profile, cj.expect.profile, 'profile auto-selected');
  });
}
