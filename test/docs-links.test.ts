/**
 * The operations guide and the protocol pages must stay true to the repository:
 *  - every repository path they name in backticks (`docs/api.md`, `deploy/udev/...`) exists, and so
 *    does every relative Markdown link and every in-page anchor;
 *  - the systemd units in deploy/systemd/ are well-formed: `systemd-analyze verify` when the machine
 *    has it (the unit's ExecStart binary replaced by node, since /usr/local/bin/orlink is not installed
 *    here), and always a parser check of the keys the guide promises (user, hardening, restart);
 *  - the udev rules parse, and each rule names one adapter, a unique /dev/orlink-* link and dialout.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import t from 'tap';

const ROOT = resolve(import.meta.dirname, '..');
const DOCS = [
  'docs/operations.md',
  ...readdirSync(join(ROOT, 'docs/protocols'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/protocols/${f}`),
];
const UNITS = ['deploy/systemd/orlink-ingest.service', 'deploy/systemd/orlink-gateway@.service'];
const UDEV = 'deploy/udev/99-orlink-serial.rules';
/** The install location the guide uses: `/opt/orlink/<path>` names `<path>` of this repository. */
const INSTALL_PREFIX = '/opt/orlink/';

/** Top-level entries of the checkout: a backticked token starting with one of them is a repo path. */
const TOP = new Set(readdirSync(ROOT).filter((e) => !e.startsWith('.') && e !== 'node_modules'));

/** A backticked token that names a file or folder of the repository, normalised; undefined if it does not look like one. */
function repoPathOf(token: string, top: ReadonlySet<string> = TOP): string | undefined {
  let p = token.trim();
  if (p.startsWith(INSTALL_PREFIX)) p = p.slice(INSTALL_PREFIX.length);
  if (!p || /\s|[<>*{}$|…]|\.\.\.|^[a-z]+:\/\//i.test(p) || p.startsWith('/')) return undefined;
  p = p.replace(/[#:].*$/, '').replace(/[.,;)]+$/, '');
  const first = p.split('/')[0];
  if (!top.has(first)) return undefined;
  if (!p.includes('/') && !/\.[a-z]+$/i.test(p)) return undefined; // a bare word such as `bench`
  return p;
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

/** Problems of one Markdown text: missing repository paths, links, anchors. */
function checkMarkdown(file: string, text: string, exists: (p: string) => boolean): string[] {
  const problems: string[] = [];
  const lines = text.split('\n');
  const anchors = new Set(lines.filter((l) => /^#{1,6} /.test(l)).map((l) => slug(l.replace(/^#+ /, ''))));
  let fence = false;
  lines.forEach((line, i) => {
    const where = `${file}:${i + 1}`;
    if (/^\s*```/.test(line)) {
      fence = !fence;
      return;
    }
    if (fence) {
      // in commands only the install location is a repository reference
      for (const m of line.matchAll(/\/opt\/orlink\/[^\s'"`)]+/g)) {
        const p = repoPathOf(m[0]);
        if (p && !exists(p)) problems.push(`${where}: ${p} (in a command) does not exist`);
      }
      return;
    }
    for (const m of line.matchAll(/`([^`]+)`/g)) {
      const p = repoPathOf(m[1]);
      if (p && !exists(p)) problems.push(`${where}: \`${m[1]}\` names ${p}, which does not exist`);
    }
    for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1];
      if (/^[a-z]+:/i.test(target)) continue;
      if (target.startsWith('#')) {
        if (!anchors.has(target.slice(1))) problems.push(`${where}: anchor ${target} has no heading`);
        continue;
      }
      const p = relative(ROOT, resolve(ROOT, dirname(file), target.replace(/#.*$/, '')));
      if (p.startsWith('..') || !exists(p)) problems.push(`${where}: link ${target} → ${p} does not exist`);
    }
  });
  return problems;
}

const existsInRepo = (p: string): boolean => existsSync(join(ROOT, p));

t.test('the checker itself: what counts as a repository path, and that a missing one is reported', async (t) => {
  const top = new Set(['docs', 'deploy', 'gateway', 'README.md']);
  t.equal(repoPathOf('docs/api.md', top), 'docs/api.md');
  t.equal(repoPathOf('docs/mqtt.md §TLS'.split(' ')[0], top), 'docs/mqtt.md');
  t.equal(repoPathOf('gateway/src/main.ts:120', top), 'gateway/src/main.ts');
  t.equal(repoPathOf('/opt/orlink/deploy/udev/x.rules', top), 'deploy/udev/x.rules');
  t.equal(repoPathOf('README.md', top), 'README.md');
  for (const s of [
    'gateway/src/protocols/<name>/README.md',
    '/etc/orlink/ingest.yaml',
    'orlink admin create-token',
    'mqtt.url',
    'orlink/v1/+/+/+/+/status',
    'https://example.org/docs/x.md',
    'docs',
    'firmware-profiles/<vendor>/',
    '$API/gateways',
  ])
    t.equal(repoPathOf(s, top), undefined, s);
  const md = [
    '# Title',
    '## 2. Install things',
    'see `docs/there.md` and `docs/missing.md`, [x](../api.md) [y](nope.md)',
    '[ok](#2-install-things) [bad](#3-nowhere)',
    '```sh',
    'cp /opt/orlink/deploy/gone.service /etc/',
    '`docs/missing-but-in-a-fence.md`',
    '```',
  ].join('\n');
  const have = new Set(['docs/there.md', 'docs/api.md']);
  const problems = checkMarkdown('docs/protocols/x.md', md, (p) => have.has(p));
  t.match(problems.join('\n'), /docs\/missing\.md/, 'a missing path in backticks is reported');
  t.match(problems.join('\n'), /link nope\.md/, 'a missing relative link is reported');
  t.match(problems.join('\n'), /#3-nowhere/, 'a missing anchor is reported');
  t.match(problems.join('\n'), /deploy\/gone\.service/, 'a missing file under the install prefix is reported');
  t.notMatch(problems.join('\n'), /there\.md|api\.md|2-install-things|in-a-fence/, 'existing targets and fenced backticks are fine');
  t.equal(problems.length, 4);
});

t.test('every repository path, link and anchor in the operations guide and the protocol pages exists', async (t) => {
  t.ok(DOCS.includes('docs/operations.md') && DOCS.length >= 8, `${DOCS.length} pages: ${DOCS.join(', ')}`);
  let named = 0;
  for (const f of DOCS) {
    const text = readFileSync(join(ROOT, f), 'utf8');
    named += [...text.matchAll(/`([^`]+)`/g)].filter((m) => repoPathOf(m[1])).length;
    t.same(checkMarkdown(f, text, existsInRepo), [], f);
  }
  t.ok(named >= 40, `${named} repository paths named in backticks were checked`);
  for (const f of DOCS.filter((d) => d.startsWith('docs/protocols/') && !d.endsWith('README.md'))) {
    const text = readFileSync(join(ROOT, f), 'utf8');
    t.match(text, /gateway\/src\/protocols\/[a-z0-9-]+\/README\.md/, `${f} links its driver README`);
    t.match(text, /## (Cabling|Connection) and (monitor|device) settings/, `${f} has the cabling section`);
  }
});

t.test('the deploy files cite existing documents', async (t) => {
  for (const f of [...UNITS, UDEV]) {
    const cited = [...readFileSync(join(ROOT, f), 'utf8').matchAll(/\bdocs\/[\w./-]+\.md\b/g)].map((m) => m[0]);
    t.ok(cited.length > 0, `${f} cites the guide`);
    for (const c of cited) t.ok(existsInRepo(c), `${f}: ${c} exists`);
  }
});

interface Unit {
  sections: Map<string, Map<string, string[]>>;
  problems: string[];
}

/** A small systemd unit parser: sections, `Key=Value` lines (repeated keys kept), line continuations. */
function parseUnit(text: string): Unit {
  const sections = new Map<string, Map<string, string[]>>();
  const problems: string[] = [];
  let current: Map<string, string[]> | undefined;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) return;
    const sec = /^\[([A-Za-z]+)\]$/.exec(line);
    if (sec) {
      if (sections.has(sec[1])) problems.push(`line ${i + 1}: section [${sec[1]}] twice`);
      current = new Map();
      sections.set(sec[1], current);
      return;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    if (!kv) {
      problems.push(`line ${i + 1}: not Key=Value: ${line}`);
      return;
    }
    if (!current) {
      problems.push(`line ${i + 1}: ${kv[1]} outside a section`);
      return;
    }
    current.set(kv[1], [...(current.get(kv[1]) ?? []), kv[2]]);
  });
  return { sections, problems };
}

t.test('the unit parser itself rejects what systemd would', async (t) => {
  t.same(parseUnit('[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true \\\n  --flag\n').problems, []);
  t.equal(
    parseUnit('[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true \\\n  --flag\n').sections.get('Service')?.get('ExecStart')?.[0],
    '/bin/true    --flag',
  );
  t.match(parseUnit('Description=x\n').problems[0], /outside a section/);
  t.match(parseUnit('[Service]\nUser orlink\n').problems[0], /not Key=Value/);
  t.match(parseUnit('[Service]\n[Service]\n').problems[0], /twice/);
});

t.test('systemd units: the keys the operations guide promises', async (t) => {
  for (const f of UNITS) {
    const u = parseUnit(readFileSync(join(ROOT, f), 'utf8'));
    t.same(u.problems, [], `${f} parses`);
    const get = (s: string, k: string): string[] => u.sections.get(s)?.get(k) ?? [];
    const one = (s: string, k: string): string | undefined => get(s, k).at(-1);
    t.same([...u.sections.keys()], ['Unit', 'Service', 'Install'], `${f}: sections`);
    t.equal(one('Service', 'User'), 'orlink', `${f}: User=orlink`);
    for (const [k, v] of [
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      ['PrivateTmp', 'yes'],
      ['ProtectHome', 'yes'],
      ['Restart', 'on-failure'],
      ['RestartPreventExitStatus', '2'],
      ['UMask', '0077'],
      ['CapabilityBoundingSet', ''],
    ] as const)
      t.equal(one('Service', k), v, `${f}: ${k}=${v}`);
    t.ok(Number(one('Service', 'LimitNOFILE')) >= 4096, `${f}: LimitNOFILE`);
    t.equal(one('Install', 'WantedBy'), 'multi-user.target', `${f}: WantedBy`);
    t.equal(one('Unit', 'MemoryDenyWriteExecute') ?? one('Service', 'MemoryDenyWriteExecute'), undefined, `${f}: no MemoryDenyWriteExecute (Node's JIT)`);
    // every writable path is the service's own state/log directory
    const state = get('Service', 'StateDirectory').map((d) => `/var/lib/${d}`);
    const logs = get('Service', 'LogsDirectory').map((d) => `/var/log/${d}`);
    const rw = get('Service', 'ReadWritePaths').flatMap((v) => v.split(/\s+/));
    t.ok(rw.length > 0, `${f}: ReadWritePaths`);
    for (const p of rw) t.ok([...state, ...logs].includes(p), `${f}: ReadWritePaths ${p} is a StateDirectory/LogsDirectory of the unit`);
    const exec = one('Service', 'ExecStart') ?? '';
    const verb = f.includes('gateway') ? 'gateway' : 'ingest';
    t.match(exec, new RegExp(`^/usr/local/bin/orlink ${verb} --config /etc/orlink/\\S+\\.yaml$`), `${f}: ExecStart runs orlink ${verb}`);
    if (verb === 'gateway') {
      t.equal(one('Service', 'SupplementaryGroups'), 'dialout', `${f}: dialout for the serial ports`);
      t.ok(
        get('Service', 'DeviceAllow').some((d) => d.startsWith('char-ttyUSB')),
        `${f}: USB serial adapters allowed`,
      );
      t.match(exec, /%i/, `${f}: one config per instance`);
    } else {
      t.equal(one('Service', 'PrivateDevices'), 'yes', `${f}: no devices for ingest`);
    }
  }
  // the verbs the units run exist
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/orlink.js'), '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  t.equal(r.status, 0, 'orlink --help');
  for (const v of ['gateway', 'ingest', 'backup', 'restore', 'admin', 'mqtt-auth']) t.match(r.stdout, new RegExp(`^  ${v} `, 'm'), `verb ${v} exists`);
});

const SYSTEMD_ANALYZE = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));

t.test(
  'systemd units: systemd-analyze verify',
  { skip: SYSTEMD_ANALYZE ? false : 'systemd-analyze is not installed (the parser test above still runs)' },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'orlink-units-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    for (const f of UNITS) {
      const name = f.split('/').pop()!;
      // /usr/local/bin/orlink is not installed on a test machine: verify checks that ExecStart is executable
      const text = readFileSync(join(ROOT, f), 'utf8');
      t.ok(text.includes('/usr/local/bin/orlink '), `${f}: runs /usr/local/bin/orlink`);
      writeFileSync(join(dir, name), text.replaceAll('/usr/local/bin/orlink ', `${process.execPath} `));
      const arg = name.endsWith('@.service') ? `${join(dir, name)}:${name.replace('@.', '@or3-bed1.')}` : join(dir, name);
      const r = spawnSync(SYSTEMD_ANALYZE!, ['verify', arg], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      t.equal(r.status, 0, `${name}: systemd-analyze verify exit code (stderr: ${r.stderr.trim()})`);
      t.equal(r.stderr.trim(), '', `${name}: no warnings`);
    }
    // and a broken copy is caught, so the check above can fail
    copyFileSync(join(dir, 'orlink-ingest.service'), join(dir, 'broken.service'));
    writeFileSync(join(dir, 'broken.service'), readFileSync(join(dir, 'broken.service'), 'utf8').replace('Restart=on-failure', 'Restart=sometimes'));
    const bad = spawnSync(SYSTEMD_ANALYZE!, ['verify', join(dir, 'broken.service')], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    t.match(bad.stderr, /restart/i, 'an invalid value is reported');
  },
);

/** One udev rule line → its keys; problems for what udev would refuse or what the guide does not allow. */
function parseUdevRule(line: string): { keys: { key: string; op: string; value: string }[]; problems: string[] } {
  const keys: { key: string; op: string; value: string }[] = [];
  const problems: string[] = [];
  const re = /\s*([A-Z_]+(?:\{[A-Za-z0-9_]+\})?)\s*(==|!=|\+=|-=|:=|=)\s*"([^"]*)"\s*(,|$)/y;
  let pos = 0;
  while (pos < line.length) {
    re.lastIndex = pos;
    const m = re.exec(line);
    if (!m) {
      problems.push(`cannot parse at column ${pos + 1}: ${line.slice(pos, pos + 30)}`);
      break;
    }
    keys.push({ key: m[1], op: m[2], value: m[3] });
    pos = re.lastIndex;
    if (m[4] === '') break;
  }
  return { keys, problems };
}

t.test('udev rules: every rule (examples included) parses and names one port', async (t) => {
  t.same(parseUdevRule('SUBSYSTEM=="tty", SYMLINK+="orlink-x"').problems, []);
  t.match(parseUdevRule('SUBSYSTEM=="tty" SYMLINK+="x"').problems.join(), /cannot parse/, 'a missing comma is refused');
  t.match(parseUdevRule('SUBSYSTEM=="tty", SYMLINK+=orlink-x').problems.join(), /cannot parse/, 'an unquoted value is refused');

  const lines = readFileSync(join(ROOT, UDEV), 'utf8').split('\n');
  // active rules and the commented-out examples the file tells the reader to use
  const rules = lines.map((l) => l.replace(/^#\s*(?=SUBSYSTEM==)/, '')).filter((l) => l.startsWith('SUBSYSTEM=='));
  t.ok(rules.length >= 4, `${rules.length} rules`);
  const links: string[] = [];
  for (const rule of rules) {
    const { keys, problems } = parseUdevRule(rule);
    t.same(problems, [], rule);
    const val = (k: string, op: string) => keys.find((x) => x.key === k && x.op === op)?.value;
    t.equal(val('SUBSYSTEM', '=='), 'tty', 'matches tty devices');
    t.equal(val('GROUP', '='), 'dialout', 'group dialout');
    t.equal(val('MODE', '='), '0660', 'mode 0660');
    const link = val('SYMLINK', '+=');
    t.match(link ?? '', /^orlink-[a-z0-9-]+$/, 'a /dev/orlink-* link');
    links.push(link ?? '');
    const byAdapter = val('ATTRS{idVendor}', '==') !== undefined;
    if (byAdapter) {
      t.match(val('ATTRS{idVendor}', '==') ?? '', /^[0-9a-f]{4}$/, 'vendor id: 4 hex digits');
      t.match(val('ATTRS{idProduct}', '==') ?? '', /^[0-9a-f]{4}$/, 'product id: 4 hex digits');
      t.ok(val('ATTRS{serial}', '=='), 'and the serial number');
    } else t.ok(val('ENV{ID_PATH}', '=='), 'an adapter without a serial number is named by its USB socket');
    for (const k of keys.filter((x) => x.op === '==')) {
      t.ok(
        ['SUBSYSTEM', 'ATTRS{idVendor}', 'ATTRS{idProduct}', 'ATTRS{serial}', 'ENV{ID_PATH}', 'ENV{ID_USB_INTERFACE_NUM}'].includes(k.key),
        `match key ${k.key} is one the guide explains`,
      );
    }
  }
  t.equal(new Set(links).size, links.length, 'every link name is used once');
});

t.test('every alert runbook named in deploy/prometheus/orlink-alerts.yml is a heading of the operations guide', async (t) => {
  const rules = readFileSync(join(ROOT, 'deploy/prometheus/orlink-alerts.yml'), 'utf8');
  const named = [...new Set([...rules.matchAll(/runbook: 'docs\/operations\.md, section "([^"]+)"'/g)].map((m) => m[1]))];
  t.ok(named.length >= 7, `${named.length} runbook sections named: ${named.join(', ')}`);
  const headings = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8')
    .split('\n')
    .filter((l) => /^#{2,4} /.test(l))
    .map((l) => l.replace(/^#+ /, '').trim());
  for (const n of named) t.ok(headings.includes(n), `docs/operations.md has a heading "${n}"`);
  t.equal(
    (rules.match(/runbook:/g) ?? []).length,
    [...rules.matchAll(/runbook: 'docs\/operations\.md, section "[^"]+"'/g)].length,
    'every runbook is given as docs/operations.md, section "…"',
  );
});
