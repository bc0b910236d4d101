/**
 * `orlink ingest` start traps (issue "Biomedical engineers first"): no start on defaults, a mistyped
 * key anywhere is refused with its path and the nearest key, a taken port names the fix. Each checks
 * the message and the exit code of the real binary.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { IngestConfigError, IngestConfigSchema, loadIngestConfig } from '../../schemas/src/ingest-config.js';

const BIN = fileURLToPath(new URL('../../bin/orlink.js', import.meta.url));

function orlink(args: string[], cwd: string, ms = 60_000): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ORLINK_INGEST_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    }),
  );
}

const tmp = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-ingest-traps-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

t.test('every object of the ingest config refuses unknown keys', async (t) => {
  const open: string[] = [];
  const walk = (s: Record<string, unknown>, at: string, depth: number): void => {
    if (depth > 20) return;
    if (s.type === 'object' && s.properties) {
      if (s.additionalProperties !== false) open.push(at || '/');
      for (const [k, v] of Object.entries(s.properties as Record<string, Record<string, unknown>>)) walk(v, `${at}/${k}`, depth + 1);
    }
    if (s.type === 'array' && s.items) walk(s.items as Record<string, unknown>, `${at}/*`, depth + 1);
    for (const alt of (s.anyOf as Record<string, unknown>[] | undefined) ?? []) walk(alt, at, depth + 1);
  };
  walk(IngestConfigSchema as unknown as Record<string, unknown>, '', 0);
  t.same(open, [], 'no object takes keys it does not know');
  for (const [input, at] of [
    [{ broker: { prot: 18833 } }, "/broker/prot: Unexpected property: unknown key 'prot' (did you mean 'port'?"],
    [{ db: { pth: 'x.sqlite' } }, "/db/pth: Unexpected property: unknown key 'pth' (did you mean 'path'?"],
    [
      { http: { tls: { certFile: 'a', keyFile: 'b', clientCert: 'none' } } },
      "/http/tls/clientCert: Unexpected property: unknown key 'clientCert' (did you mean 'clientCerts'?",
    ],
    [{ mqtt: { zzz: 1 } }, "/mqtt/zzz: Unexpected property: unknown key 'zzz' (keys allowed here: prefix, clientId"],
  ] as const) {
    const problems = (() => {
      try {
        loadIngestConfig({ input, env: {} });
        return '';
      } catch (e) {
        return (e as IngestConfigError).problems.join('\n');
      }
    })();
    t.match(problems, at);
  }
});

t.test('`orlink ingest` without --config: exit 2, says why and where a sample is, creates nothing', async (t) => {
  const dir = tmp();
  const r = await orlink(['ingest'], dir);
  t.equal(r.code, 2);
  t.match(r.stderr, '--config FILE is required');
  t.match(r.stderr, 'ingest/ingest.sample.yaml');
  t.notOk(existsSync(path.join(dir, 'data')), 'no ./data/ingest.sqlite on defaults');
});

t.test('a mistyped nested key in the file: exit 2, its path and the nearest key', async (t) => {
  const dir = tmp();
  writeFileSync(path.join(dir, 'ingest.yaml'), 'series:\n  kind: memory\ndb:\n  path: ":memory:"\nbroker:\n  prot: 18833\n');
  const r = await orlink(['ingest', '--config', 'ingest.yaml'], dir);
  t.equal(r.code, 2);
  t.match(r.stderr, "/broker/prot: Unexpected property: unknown key 'prot' (did you mean 'port'?");
  t.notMatch(r.stderr, /\n\s+at /, 'no stack');
});

t.test('a taken port: exit 1, the address and the fix', async (t) => {
  const dir = tmp();
  const blocker = net.createServer().listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  t.teardown(() => new Promise<void>((r) => blocker.close(() => r())));
  const port = (blocker.address() as net.AddressInfo).port;
  writeFileSync(path.join(dir, 'ingest.yaml'), `series:\n  kind: memory\ndb:\n  path: ":memory:"\nbroker:\n  port: 0\nhttp:\n  port: ${port}\n`);
  const r = await orlink(['ingest', '--config', 'ingest.yaml'], dir);
  t.equal(r.code, 1);
  t.match(r.stderr, `address 127.0.0.1:${port} is already in use`);
  t.match(r.stderr, 'change the port in the config (http.port');
});
