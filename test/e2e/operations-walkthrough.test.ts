/**
 * docs/operations.md "13. Try it on one machine", executed as a reader would: every ```sh block of
 * that section marked `<!-- walkthrough -->` is written verbatim to a file and sourced, in order,
 * by ONE bash (so variables carry over as in a terminal; `set -euo pipefail`, stdin /dev/null), in
 * a temp dir, against real processes: influxd, `orlink ingest`, `orlink sim ge-dri --pty`,
 * `orlink gateway`. The only substitutions are the variables the guide itself reads from the
 * environment (`DATA`, `API_PORT`, `MQTT_PORT`, `INFLUX_PORT`, `INFLUX_RPC_PORT`: a temp dir and
 * free loopback ports) and `orlink` on the PATH (a link to bin/orlink.js, as the guide suggests).
 * Asserted: the gateway started with no devices and got its device from the registry; the bed's
 * latest values are readings of the simulated monitor (device mon1, over the pty the simulator
 * printed); the gateway's local file was never changed after the gateway started (hash, mtime);
 * after the guide's stop block nothing of the run is left (its process group is empty).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { freePort } from '../../ingest/src/series/influxd-launcher.js';
import { ORLINK_BIN, REPO, processesMatching } from '../helpers/leftovers.js';

const GUIDE = path.join(REPO, 'docs/operations.md');
const SECTION = '## 13. Try it on one machine';
const MARK = '<!-- walkthrough -->';
/** the most any one block may take (its own waits are bounded by the guide: at most 90 s each) */
const BLOCK_TIMEOUT_MS = 240_000;

/** The marked ```sh blocks of `section` in `md`, in order, and the number of unmarked ```sh blocks there. */
export function walkthroughBlocks(md: string, section = SECTION): { blocks: string[]; unmarked: number } {
  const lines = md.split('\n');
  const start = lines.findIndex((l) => l.trim() === section);
  if (start < 0) throw new Error(`no heading "${section}"`);
  let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  if (end < 0) end = lines.length;
  const blocks: string[] = [];
  let unmarked = 0;
  for (let i = start + 1; i < end; i++) {
    if (!/^```/.test(lines[i])) continue;
    const close = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    if (close < 0 || close >= end) throw new Error(`unclosed code block at line ${i + 1}`);
    if (/^```(sh|bash)\s*$/.test(lines[i])) {
      if (lines[i - 1]?.trim() === MARK) blocks.push(lines.slice(i + 1, close).join('\n'));
      else unmarked++;
    }
    i = close;
  }
  return { blocks, unmarked };
}

/** pids (other than this process) whose process group is `pgid` */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (f[0] !== 'Z' && Number(f[2]) === pgid) out.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

t.test('the block extractor: marked sh blocks of the one section, in order; unmarked ones counted', async (t) => {
  const md = [
    '# Guide',
    '## 1. Other',
    MARK,
    '```sh',
    'echo other',
    '```',
    `${SECTION}`,
    'text',
    MARK,
    '```sh',
    'echo one',
    'echo two',
    '```',
    '```sh',
    'echo unmarked',
    '```',
    MARK,
    '```yaml',
    'a: 1',
    '```',
    MARK,
    '```sh',
    'echo three',
    '```',
    '## 14. Next',
    MARK,
    '```sh',
    'echo next',
    '```',
  ].join('\n');
  t.same(walkthroughBlocks(md), { blocks: ['echo one\necho two', 'echo three'], unmarked: 1 });
  t.throws(() => walkthroughBlocks('# nothing here'), /no heading/);
  t.throws(() => walkthroughBlocks(`${SECTION}\n${MARK}\n\`\`\`sh\necho open`), /unclosed/);
});

t.test("the guide's walkthrough covers the whole path", async (t) => {
  const { blocks, unmarked } = walkthroughBlocks(readFileSync(GUIDE, 'utf8'));
  t.equal(unmarked, 0, 'every shell block of the section is run by this test');
  t.ok(blocks.length >= 8, `${blocks.length} blocks`);
  const all = blocks.join('\n');
  for (const step of [
    'influxd -config',
    'orlink ingest --config',
    'orlink admin create-token',
    'orlink sim ge-dri --pty',
    'orlink gateway --config',
    '-X PUT $API/devices/mon1/connection',
    '/beds/or3-bed1/latest',
  ])
    t.ok(all.includes(step), `the walkthrough runs ${step}`);
  t.ok(all.indexOf('orlink gateway --config') < all.indexOf('-X PUT $API/devices/mon1/connection'), 'the connection is set while the gateway runs');
  t.notMatch(all, /sudo|systemctl|apt-get|\/etc\//, 'nothing needs root');
});

t.test('docs/operations.md "Try it on one machine", run as written', async (t) => {
  for (const tool of ['bash', 'influxd', 'socat', 'jq', 'curl', 'openssl']) {
    const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).status === 0;
    t.ok(found, `${tool} is installed (the guide needs it)`);
    if (!found) return;
  }
  const { blocks } = walkthroughBlocks(readFileSync(GUIDE, 'utf8'));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-walkthrough-'));
  const DATA = path.join(dir, 'try');
  mkdirSync(path.join(dir, 'bin'));
  symlinkSync(ORLINK_BIN, path.join(dir, 'bin', 'orlink'));
  const ports = new Set<number>();
  while (ports.size < 4) ports.add(await freePort());
  const [API_PORT, MQTT_PORT, INFLUX_PORT, INFLUX_RPC_PORT] = [...ports].map(String);
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ORLINK_')));
  Object.assign(env, { PATH: `${path.join(dir, 'bin')}:${process.env.PATH ?? ''}`, DATA, API_PORT, MQTT_PORT, INFLUX_PORT, INFLUX_RPC_PORT });

  // one shell for the whole walkthrough, leader of its own process group: everything it starts stays in it
  const sh: ChildProcess = spawn('bash', ['--norc', '--noprofile'], { cwd: dir, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  const pgid = sh.pid as number;
  let stdout = '';
  let stderr = '';
  sh.stdout!.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
  });
  sh.stderr!.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < 200_000) stderr += s;
  });
  let exitCode: number | null | undefined;
  let monitor = '';
  const exited = new Promise<void>((resolve) =>
    sh.once('exit', (code) => {
      exitCode = code;
      resolve();
    }),
  );
  t.teardown(async () => {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* group already gone */
    }
    for (const p of processesMatching(dir)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    // the simulator's pty pair lives in a temp dir of its own, removed by the simulator unless it was killed
    if (/\/orlink-pty-[^/]+\/host$/.test(monitor)) rmSync(path.dirname(monitor), { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });
  const logs = (): string =>
    ['influxd.log', 'ingest.log', 'sim.log', 'gateway.log']
      .map((f) => {
        try {
          return `--- ${f}\n${readFileSync(path.join(DATA, f), 'utf8').slice(-2500)}`;
        } catch {
          return `--- ${f}: none`;
        }
      })
      .join('\n');

  /** source block i in the shell; resolves with what it printed on stdout */
  const run = async (i: number): Promise<string> => {
    const file = path.join(dir, `block-${i}.sh`);
    writeFileSync(file, `${blocks[i]}\n`);
    const sentinel = `@@walkthrough-block-${i}-done@@`;
    const from = stdout.length;
    sh.stdin!.write(`source ${JSON.stringify(file)} < /dev/null\necho ${sentinel}\n`);
    const deadline = Date.now() + BLOCK_TIMEOUT_MS;
    while (!stdout.includes(sentinel, from)) {
      if (exitCode !== undefined)
        throw new Error(`the shell exited (code ${exitCode}) in block ${i + 1}:\n${blocks[i]}\n--- stderr\n${stderr.slice(-3000)}\n${logs()}`);
      if (Date.now() > deadline) throw new Error(`block ${i + 1} did not finish within ${BLOCK_TIMEOUT_MS} ms:\n${blocks[i]}\n${logs()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return stdout.slice(from, stdout.indexOf(sentinel, from));
  };

  sh.stdin!.write('set -euo pipefail\n');
  const gatewayFile = path.join(DATA, 'gateway-or3-bed1.yaml');
  let fileAtStart: { hash: string; mtimeMs: number } | undefined;
  for (let i = 0; i < blocks.length; i++) {
    const out = await run(i);
    const block = blocks[i];
    t.pass(`block ${i + 1} ran: ${block.split('\n')[0].slice(0, 80)}`);
    if (block.includes('orlink sim ge-dri --pty')) {
      monitor = (JSON.parse(readFileSync(path.join(DATA, 'sim.out'), 'utf8').split('\n')[0]) as { hostPath: string }).hostPath;
      t.match(out, `the monitor is on ${monitor}`, 'the simulator serves a pty');
    }
    if (block.includes('orlink gateway --config')) {
      fileAtStart = { hash: sha256(gatewayFile), mtimeMs: statSync(gatewayFile).mtimeMs };
      const local = YAML.parse(readFileSync(gatewayFile, 'utf8')) as Record<string, unknown>;
      t.notOk('devices' in local, "the gateway's local file lists no devices");
      t.same(
        JSON.parse(out.trim().split('\n').pop() as string),
        { online: true, config: 'registry', devices: [] },
        'the gateway is online, configured from the registry, with no device yet',
      );
    }
    if (block.includes('/beds/or3-bed1/latest')) {
      const lines = out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const numerics = lines.filter((l) => 'mdc' in l);
      const status = lines.filter((l) => 'link' in l);
      t.ok(numerics.length > 0, `${numerics.length} latest values`);
      t.ok(
        numerics.every((n) => n.device === 'mon1'),
        'every value comes from mon1, the simulated monitor',
      );
      const hr = numerics.find((n) => n.mdc === 'MDC_ECG_HEART_RATE' || n.mdc === 'MDC_PULS_OXIM_PULS_RATE');
      t.ok(hr && typeof hr.value === 'number' && hr.value > 20 && hr.value < 250, `a plausible heart rate from the simulator: ${JSON.stringify(hr)}`);
      t.equal(status.length, 1, 'the gateway runs one device');
      t.equal(status[0]?.id, 'mon1', 'the device of the registry');
      t.equal(status[0]?.link, 'streaming', 'its link streams');
      t.ok(
        typeof status[0]?.linkDescription === 'string' && (status[0].linkDescription as string).includes(monitor),
        `the gateway reads the simulator's pty (${String(status[0]?.linkDescription)})`,
      );
    }
  }
  t.ok(fileAtStart, 'a block started the gateway');
  if (fileAtStart) {
    t.equal(sha256(gatewayFile), fileAtStart.hash, "the gateway's local file was not changed after the gateway started");
    t.equal(statSync(gatewayFile).mtimeMs, fileAtStart.mtimeMs, 'nor touched (mtime)');
  }

  // the guide's last block stopped everything it started: once the shell ends, its group must empty
  sh.stdin!.end();
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  t.equal(exitCode, 0, 'the shell ended cleanly');
  const deadline = Date.now() + 30_000;
  let left = groupMembers(pgid);
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    left = groupMembers(pgid);
  }
  t.same(
    left.map((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ');
      } catch {
        return String(p);
      }
    }),
    [],
    'no process of the walkthrough is left after its stop block',
  );
  t.same(processesMatching(dir), [], "no process names the walkthrough's directory");
});
