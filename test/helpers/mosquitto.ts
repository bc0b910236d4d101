/**
 * Debian's Mosquitto 2.0 for tests: a temp dir, a free loopback port (`listener PORT 127.0.0.1`),
 * persistence on under the temp dir, optional password_file / acl_file (else anonymous), a large
 * offline queue (Mosquitto's default `max_queued_messages 1000` would drop QoS 1 messages of an
 * offline persistent session beyond that), log to `dir/mosquitto.log`. Stopped (SIGTERM, awaited)
 * and its dir removed by the test that started it. `kill()` is a SIGKILL, `reload()` a SIGHUP
 * (re-reads password and ACL files), `start()` after a stop/kill reuses port, config and data.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { freePort } from '../../ingest/src/series/influxd-launcher.js';

export const MOSQUITTO_BIN = '/usr/sbin/mosquitto';

export interface MosquittoOptions {
  passwordFile?: string;
  aclFile?: string;
  /** extra config lines */
  extra?: string[];
  maxQueuedMessages?: number;
  /** config, log and persistence under this dir (kept; the caller removes it); default a new temp dir */
  dir?: string;
  /** How to start mosquitto (default child_process.spawn; the soak passes its ProcessGroup's). */
  spawn?: (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;
  /**
   * Listeners and authentication defined by the caller (e.g. the mosquitto.conf `orlink mqtt-auth`
   * generates): `lines` replace the helper's listener and password/ACL lines, `port` is the listener
   * to wait for (passwordFile/aclFile are then ignored).
   */
  listenerConfig?: { port: number; lines: string[] };
}

export interface TestMosquitto {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  readonly confFile: string;
  log(): string;
  stop(): Promise<void>;
  kill(): Promise<void>;
  start(): Promise<void>;
  reload(): void;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.end();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** Start a Mosquitto whose stop() the test registers itself (the fault rig); see startTestMosquitto. */
export async function launchMosquitto(o: MosquittoOptions = {}): Promise<TestMosquitto> {
  const dir = o.dir ?? mkdtempSync(path.join(os.tmpdir(), 'orlink-mosq-'));
  mkdirSync(dir, { recursive: true });
  const port = o.listenerConfig?.port ?? (await freePort());
  const confFile = path.join(dir, 'mosquitto.conf');
  const logFile = path.join(dir, 'mosquitto.log');
  const own = !o.listenerConfig;
  writeFileSync(
    confFile,
    [
      ...(own ? [`listener ${port} 127.0.0.1`] : []),
      // started as root, mosquitto would switch to user `mosquitto`, which cannot read our temp files
      `user ${os.userInfo().username}`,
      'persistence true',
      `persistence_location ${dir}/`,
      'autosave_interval 1',
      `max_queued_messages ${o.maxQueuedMessages ?? 100_000}`,
      'max_inflight_messages 64',
      ...(!own ? [] : o.passwordFile ? [`password_file ${o.passwordFile}`, 'allow_anonymous false'] : ['allow_anonymous true']),
      ...(own && o.aclFile ? [`acl_file ${o.aclFile}`] : []),
      `log_dest file ${logFile}`,
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      'connection_messages true',
      'log_timestamp_format %H:%M:%S',
      ...(o.extra ?? []),
      ...(o.listenerConfig?.lines ?? []),
      '',
    ].join('\n'),
  );
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const api: TestMosquitto = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    confFile,
    log: () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    async start() {
      if (child) return;
      const c = (o.spawn ?? spawn)(MOSQUITTO_BIN, ['-c', confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      c.stderr?.on('data', (d) => {
        stderr += d;
      });
      child = c;
      let gone = false;
      exited = new Promise<void>((r) =>
        c.once('exit', () => {
          gone = true;
          child = null;
          r();
        }),
      );
      const end = Date.now() + 10_000;
      while (!(await portOpen(port))) {
        if (gone) throw new Error(`mosquitto exited at start: ${stderr}${api.log().slice(-2000)}`);
        if (Date.now() > end) throw new Error('mosquitto not listening in time');
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      child?.kill('SIGTERM');
      await exited;
    },
    async kill() {
      child?.kill('SIGKILL');
      await exited;
    },
    reload() {
      child?.kill('SIGHUP');
    },
  };
  await api.start();
  return api;
}

export async function startTestMosquitto(t: Test, o: MosquittoOptions = {}): Promise<TestMosquitto> {
  const api = await launchMosquitto(o);
  t.teardown(async () => {
    await api.stop();
    if (!o.dir) rmSync(api.dir, { recursive: true, force: true });
  });
  return api;
}
