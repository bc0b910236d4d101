/**
 * Tap-friendly real InfluxDB (Debian's influxd 1.6) for tests: a temp dir, a free loopback port,
 * torn down (SIGTERM, dir removed) by the test that started it. `createDatabase()` makes a fresh,
 * uniquely named database so subtests never share data; `restart()` stops and starts the same
 * server on the same port and data dir (fault tests).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { startInfluxd, type InfluxdHandle } from '../../ingest/src/series/influxd-launcher.js';

export interface TestInfluxd {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  createDatabase(prefix?: string): Promise<string>;
  stop(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
}

let counter = 0;

export async function startTestInfluxd(t: Test): Promise<TestInfluxd> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-influxd-'));
  let handle: InfluxdHandle | null = await startInfluxd({ dir });
  const port = handle.port;
  const url = handle.url;
  t.teardown(async () => {
    await handle?.stop();
    handle = null;
    rmSync(dir, { recursive: true, force: true });
  });
  const api: TestInfluxd = {
    url,
    port,
    dir,
    async createDatabase(prefix = 'test') {
      const name = `${prefix}_${process.pid}_${++counter}`;
      const res = await fetch(`${url}/query`, { method: 'POST', body: new URLSearchParams({ q: `CREATE DATABASE "${name}"` }) });
      const body = await res.text();
      if (res.status !== 200 || body.includes('"error"')) throw new Error(`CREATE DATABASE failed: ${res.status} ${body}`);
      return name;
    },
    async stop() {
      await handle?.stop();
      handle = null;
    },
    async start() {
      if (!handle) handle = await startInfluxd({ dir, port });
    },
    async restart() {
      await api.stop();
      await api.start();
    },
  };
  return api;
}
