/**
 * The repository holds only what the project wrote (docs/decisions.md, "Third-party material").
 * Third-party captures, data and protocol notes stay in ../shared beside the checkout:
 *  (a) no file of the repository is a byte copy of a file under ../shared;
 *  (b) only tests and the bench refer to ../shared (or to the shared design notes): the product —
 *      code, docs, profiles, configs — must make sense from the repository alone.
 * "Files of the repository" = `git ls-files --cached --others --exclude-standard`: what is tracked
 * plus what is about to be added, so a copy is caught before it is committed.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import t from 'tap';

const ROOT = resolve(import.meta.dirname, '..');
const SHARED = resolve(ROOT, '../shared');

/**
 * Test-only helpers outside the always-allowed places that may name ../shared, each with the
 * reason. Every entry must exist and be imported by tests only (checked below). None today: the
 * golden-case reader lives in test/helpers/.
 */
const TEST_ONLY_HELPERS: Record<string, string> = {};

/** Where a reference to ../shared is allowed (tests, the bench, the pointer of a golden case). */
function allowed(path: string): boolean {
  if (path in TEST_ONLY_HELPERS) return true;
  if (/\.(test|suite)\.ts$/.test(path)) return true;
  if (path.startsWith('test/') || path.startsWith('bench/')) return true;
  return /^firmware-profiles\/(.+\/)?testcases\/(.+\/)?case\.json$/.test(path);
}

/** A path into the shared folder or one of the shared design notes. */
const SHARED_REF = /\.\.\/shared\b|\bshared\/(captures|data|protocols|tools)\b|\bARCHITECTURE\.md\b|\bCONVENTIONS\.md\b/;

/**
 * A section of the shared design notes or of the vendor digests ("<name> §<n>"): refused in EVERY
 * file, tests, bench and case.json included, because such a section number means nothing inside
 * the repository (cite docs/protocols/*.md or a driver README instead). The section sign is written
 * as an escape so that this file does not match itself (nor a grep for the two patterns).
 */
const SECT = '\u00a7';
const SECTION_REF = new RegExp(`\\b(ARCHITECTURE|digest)\\s*${SECT}`, 'i');

function repoFiles(): string[] {
  const r = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ls-files failed: ${r.stderr}`);
  // Deleted in the working tree but not yet staged: not part of what gets committed.
  return [...new Set(r.stdout.split('\0').filter(Boolean))].filter((p) => existsSync(join(ROOT, p)) && lstatSync(join(ROOT, p)).isFile()).sort();
}

function sharedFiles(dir = SHARED): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    // hooks/ is the workspace's own tooling, not material anyone would copy into the project.
    if (e.name.startsWith('.') || (dir === SHARED && e.name === 'hooks')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sharedFiles(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

const sha256 = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

t.test('the checks themselves: patterns and allowed set', async (t) => {
  for (const s of [
    'see ../shared/captures/x.raw',
    'from shared/protocols/ge-datex-dri.md §2',
    '/work/shared/tools/check-decode-output',
    'shared/data/physionet',
    'ARCHITECTURE.md §4',
    'rule 3 of CONVENTIONS.md',
  ])
    t.match(s, SHARED_REF, s);
  for (const s of [
    'the shared physiology model',
    'shared subscriptions',
    'docs/decisions.md',
    `ARCHITECTURE ${SECT}4 (now docs/mqtt.md)`,
    'a shared/common helper',
  ])
    t.notMatch(s, SHARED_REF, s);
  for (const s of [`ARCHITECTURE ${SECT}4`, `the digest ${SECT}5.2`, `(digest ${SECT}3.6)`, `Digest${SECT}1`]) t.match(s, SECTION_REF, s);
  for (const s of ['docs/protocols/nonin.md', 'README.md §Frames', 'the digest of the shared notes', `driver README ${SECT}Layers`])
    t.notMatch(s, SECTION_REF, s);
  for (const p of [
    'cli/decode.test.ts',
    'ingest/src/outbox.suite.ts',
    'test/helpers/golden-case.ts',
    'bench/run.ts',
    'firmware-profiles/ge/testcases/x/case.json',
  ])
    t.ok(allowed(p), p);
  for (const p of [
    'cli/decode.ts',
    'firmware-profiles/ge/testcases/x/capture.hexlog',
    'firmware-profiles/README.md',
    'docs/decisions.md',
    'simulators/src/cli-args.ts',
  ])
    t.notOk(allowed(p), p);
});

t.test('(a) no file of the repository is a byte copy of a file under ../shared', async (t) => {
  t.ok(existsSync(SHARED), `${SHARED} exists (the shared folder beside the checkout)`);
  const shared = new Map<string, string>();
  for (const p of sharedFiles()) if (lstatSync(p).size > 0) shared.set(sha256(p), relative(ROOT, p));
  t.ok(shared.size >= 10, `${shared.size} non-empty shared files hashed`);
  const files = repoFiles();
  t.ok(files.length > 100, `${files.length} repository files`);
  const copies: string[] = [];
  for (const f of files) {
    if (lstatSync(join(ROOT, f)).size === 0) continue;
    const of = shared.get(sha256(join(ROOT, f)));
    if (of) copies.push(`${f} = ${of}`);
  }
  t.same(copies, [], 'byte copies of shared files (reference them from case.json / the test instead)');
});

t.test('(b) only tests and the bench refer to ../shared or the shared design notes', async (t) => {
  const offenders: string[] = [];
  const files = repoFiles();
  for (const f of files) {
    if (allowed(f)) continue;
    const lines = readFileSync(join(ROOT, f), 'utf8').split('\n');
    lines.forEach((l, i) => {
      if (SHARED_REF.test(l)) offenders.push(`${f}:${i + 1}: ${l.trim().slice(0, 120)}`);
    });
  }
  t.ok(files.filter((f) => !allowed(f)).length > 100, 'the scan covers the product files');
  t.same(offenders, [], 'cite the repository docs (docs/*.md, protocol READMEs) instead');
});

t.test('no file of the repository cites a section of the shared notes or digests', async (t) => {
  const offenders: string[] = [];
  const files = repoFiles();
  for (const f of files) {
    const text = readFileSync(join(ROOT, f));
    if (text.includes(0)) continue; // binary (captures)
    text
      .toString('utf8')
      .split('\n')
      .forEach((l, i) => {
        if (SECTION_REF.test(l)) offenders.push(`${f}:${i + 1}: ${l.trim().slice(0, 120)}`);
      });
  }
  t.ok(files.some((f) => allowed(f)) && files.some((f) => !allowed(f)), 'the scan covers tests and product files alike');
  t.same(offenders, [], 'cite docs/protocols/*.md or the driver README (gateway/src/protocols/<name>/README.md)');
});

t.test('test-only helpers (the named ones and test/helpers/) are imported by tests and the bench only', async (t) => {
  const files = repoFiles().filter((f) => /\.(ts|js|mjs)$/.test(f));
  for (const [helper, reason] of Object.entries(TEST_ONLY_HELPERS)) t.ok(existsSync(join(ROOT, helper)), `${helper} exists (${reason})`);
  const helpers = [...Object.keys(TEST_ONLY_HELPERS), ...files.filter((f) => f.startsWith('test/helpers/'))];
  t.ok(helpers.includes('test/helpers/golden-case.ts'), 'the golden-case reader is checked too');
  const product = files.filter((f) => !allowed(f) || f in TEST_ONLY_HELPERS);
  for (const helper of helpers) {
    const stem = helper
      .replace(/\.(ts|js|mjs)$/, '')
      .split('/')
      .pop()!;
    const imports = new RegExp(`(from|import)\\s*\\(?\\s*['"][^'"]*/${stem}\\.(js|ts)['"]`);
    const importers = product.filter((f) => f !== helper && imports.test(readFileSync(join(ROOT, f), 'utf8')));
    t.same(importers, [], `${helper}: no product file imports it`);
  }
});
