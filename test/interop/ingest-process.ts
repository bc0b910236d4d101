/**
 * `orlink ingest --config FILE` as a CHILD process for kill -9 tests: a YAML config in a temp
 * dir, stdout/stderr appended to `dir/ingest-<n>.log`, ready when its HTTP API answers (the open
 * /health/live; every other route needs an API token: mint one in the sqlite file, auth/test-tokens.ts).
 * kill('SIGKILL') is a real crash: no close(), no flush, no DISCONNECT.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface IngestProcess {
  readonly pid: number;
  readonly httpUrl: string;
  /** resolves with the exit code or signal */
  readonly exited: Promise<string>;
  kill(signal?: NodeJS.Signals): Promise<string>;
}

let counter = 0;

/** writes `config` as YAML to `dir/<name>.yaml` and returns the path */
export function writeIngestConfig(dir: string, name: string, config: object): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, YAML.stringify(config));
  return file;
}

export async function startIngestProcess(o: {
  configFile: string;
  dir: string;
  httpPort: number;
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}): Promise<IngestProcess> {
  const log = openSync(path.join(o.dir, `ingest-${process.pid}-${++counter}.log`), 'a');
  const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, 'bin/orlink.js'), 'ingest', '--config', o.configFile], {
    cwd: ROOT,
    env: { ...process.env, ...o.env },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? String(code))));
  let done = false;
  void exited.then(() => {
    done = true;
  });
  const httpUrl = `http://127.0.0.1:${o.httpPort}`;
  const deadline = Date.now() + (o.readyTimeoutMs ?? 20_000);
  for (;;) {
    if (done) throw new Error(`ingest exited before it was ready: ${await exited}`);
    try {
      const res = await fetch(`${httpUrl}/health/live`);
      await res.arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error('ingest not ready in time');
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    pid: child.pid ?? -1,
    httpUrl,
    exited,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (!done) child.kill(signal);
      return exited;
    },
  };
}
