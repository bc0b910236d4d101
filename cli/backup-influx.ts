/**
 * The InfluxDB 1.x half of backup and restore. Two doors: the HTTP API (series.url) for InfluxQL
 * (databases, retention policies, counts), and the RPC service that `influxd backup|restore` talk to
 * (the top-level `bind-address` of influxd's config, default 127.0.0.1:8088; not [http]'s). The RPC
 * service has no authentication in 1.x: keep it on loopback.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import net from 'node:net';
import type { IngestConfig } from '../schemas/src/ingest-config.js';
import { quoteIdent } from '../ingest/src/series/influxql.js';
import { BACKUP_ERR, BackupError } from './backup-errors.js';
import type { InfluxFieldCounts } from './backup-manifest.js';

export const DEFAULT_INFLUXD = '/usr/bin/influxd';
const HOW_TO_RPC = "pass --influx-rpc HOST:PORT (the top-level bind-address of influxd's config, not [http]'s) or --influxd-config FILE";

/** The top-level `bind-address` of an influxd config (before the first [section]); null when unset. */
export function parseBindAddress(conf: string): string | null {
  for (const line of conf.split('\n')) {
    const l = line.trim();
    if (l.startsWith('[')) return null;
    const m = /^bind-address\s*=\s*"([^"]*)"/.exec(l);
    if (m) return m[1];
  }
  return null;
}

/** Where `influxd backup|restore` connect: --influx-rpc, else the config file's bind-address, else series.url's host:8088. */
export function resolveRpc(o: { flag?: string; influxdConfig?: string; seriesUrl: string }): { addr: string; from: string } {
  const host = new URL(o.seriesUrl).hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const fill = (a: string) => (a.startsWith(':') ? `${host}${a}` : a);
  if (o.flag) return { addr: fill(o.flag), from: '--influx-rpc' };
  if (o.influxdConfig) {
    let text: string;
    try {
      text = readFileSync(o.influxdConfig, 'utf8');
    } catch (err) {
      throw new BackupError(BACKUP_ERR.USAGE, `--influxd-config ${o.influxdConfig}: cannot read it`, { cause: err });
    }
    const a = parseBindAddress(text);
    return { addr: fill(a ?? ':8088'), from: a ? `bind-address in ${o.influxdConfig}` : `${o.influxdConfig} (no bind-address: influxd's default :8088)` };
  }
  return { addr: `${host}:8088`, from: "default (series.url host, influxd's default port 8088)" };
}

export function checkInfluxd(binary: string): void {
  try {
    accessSync(binary, constants.X_OK);
  } catch (err) {
    throw new BackupError(
      BACKUP_ERR.INFLUXD_MISSING,
      `${binary} not found or not executable: install InfluxDB 1.x (Debian: apt-get install influxdb) or pass --influxd PATH`,
      { cause: err },
    );
  }
}

/** A TCP connect to the RPC address within `timeoutMs`. */
export function checkRpc(rpc: { addr: string; from: string }, timeoutMs = 3000): Promise<void> {
  const i = rpc.addr.lastIndexOf(':');
  const host = rpc.addr.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(rpc.addr.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    return Promise.reject(new BackupError(BACKUP_ERR.USAGE, `InfluxDB RPC address ${rpc.addr} (${rpc.from}) is not HOST:PORT`));
  }
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    const fail = (err: Error) => {
      s.destroy();
      reject(
        new BackupError(
          BACKUP_ERR.INFLUX_UNREACHABLE,
          `InfluxDB's RPC service (used by influxd backup/restore) is not reachable at ${rpc.addr} (${rpc.from}): ${err.message}. Start influxd, or ${HOW_TO_RPC}`,
          { cause: err },
        ),
      );
    };
    s.setTimeout(timeoutMs, () => fail(new Error(`no answer within ${timeoutMs} ms`)));
    s.once('error', fail);
    s.once('connect', () => {
      s.end();
      resolve();
    });
  });
}

type Series = { name?: string; columns: string[]; values: unknown[][] };

/** InfluxQL over the v1 HTTP API with the config's credentials (Basic auth when series.username is set). */
export class InfluxHttp {
  private readonly base: string;
  private readonly headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  constructor(
    config: IngestConfig,
    private readonly timeoutMs = 120_000,
  ) {
    this.base = config.series.url.replace(/\/+$/, '');
    if (config.series.username) {
      this.headers.authorization = `Basic ${Buffer.from(`${config.series.username}:${config.secrets.influxPassword ?? ''}`).toString('base64')}`;
    }
  }

  async query(q: string): Promise<Series[]> {
    let res: Response;
    try {
      res = await fetch(`${this.base}/query`, {
        method: 'POST',
        headers: this.headers,
        body: new URLSearchParams({ q }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new BackupError(
        BACKUP_ERR.INFLUX_UNREACHABLE,
        `InfluxDB's HTTP API is not reachable at ${this.base} (series.url): start influxd or fix series.url`,
        { cause: err },
      );
    }
    const text = await res.text();
    let json: { error?: string; results?: { error?: string; series?: Series[] }[] } = {};
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      /* reported below */
    }
    const error = json.error ?? json.results?.find((r) => r.error)?.error;
    if (res.status !== 200 || error) {
      const hint = res.status === 401 || res.status === 403 ? ' (check series.username and ORLINK_INGEST_INFLUX_PASSWORD)' : '';
      throw new BackupError(BACKUP_ERR.INFLUX_QUERY, `InfluxQL \`${q.slice(0, 120)}\` failed: HTTP ${res.status} ${error ?? text.slice(0, 200)}${hint}`);
    }
    // a series without rows (SHOW DATABASES on a fresh server) comes without `values`
    return json.results?.flatMap((r) => r.series ?? []).map((x) => ({ ...x, values: x.values ?? [] })) ?? [];
  }

  async databaseExists(db: string): Promise<boolean> {
    return (await this.query('SHOW DATABASES')).some((s) => s.values.some((v) => v[0] === db));
  }

  async measurementCount(db: string): Promise<number> {
    return (await this.query(`SHOW MEASUREMENTS ON ${quoteIdent(db)}`)).reduce((n, s) => n + s.values.length, 0);
  }

  async retentionPolicies(db: string): Promise<{ name: string; duration: string; default: boolean }[]> {
    const [s] = await this.query(`SHOW RETENTION POLICIES ON ${quoteIdent(db)}`);
    if (!s) return [];
    const col = (c: string) => s.columns.indexOf(c);
    return s.values.map((v) => ({ name: String(v[col('name')]), duration: String(v[col('duration')]), default: v[col('default')] === true }));
  }

  /** rp → measurement → field → values: COUNT(*) over all time, every retention policy. */
  async fieldCounts(db: string): Promise<InfluxFieldCounts> {
    const out: InfluxFieldCounts = {};
    for (const rp of await this.retentionPolicies(db)) {
      const m: Record<string, Record<string, number>> = {};
      for (const s of await this.query(`SELECT COUNT(*) FROM ${quoteIdent(db)}.${quoteIdent(rp.name)}./.*/`)) {
        const fields: Record<string, number> = {};
        s.columns.forEach((c, i) => {
          const v = s.values[0]?.[i];
          if (c.startsWith('count_') && typeof v === 'number' && v > 0) fields[c.slice('count_'.length)] = v;
        });
        if (s.name && Object.keys(fields).length) m[s.name] = fields;
      }
      if (Object.keys(m).length) out[rp.name] = m;
    }
    return out;
  }

  async seriesCounts(db: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const s of await this.query(`SHOW SERIES EXACT CARDINALITY ON ${quoteIdent(db)}`)) if (s.name) out[s.name] = Number(s.values[0]?.[0] ?? 0);
    return out;
  }

  async dropDatabase(db: string): Promise<void> {
    await this.query(`DROP DATABASE ${quoteIdent(db)}`);
  }
}

/**
 * Runs `influxd backup|restore`. It retries a refused connection for ever (measured: backoff past
 * 20 s), so a "failed dial tcp … retrying" line ends it at once as unreachable.
 */
export function runInfluxd(binary: string, args: string[], o: { rpc: string; timeoutMs: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, INFLUXDB_REPORTING_DISABLED: 'true' } });
    let output = '';
    let failure: BackupError | undefined;
    const stopWith = (e: BackupError) => {
      failure ??= e;
      child.kill('SIGKILL');
    };
    const onData = (b: Buffer) => {
      output += b.toString('utf8');
      if (output.length > 200_000) output = output.slice(-100_000);
      if (/failed dial tcp .*retrying/.test(output)) {
        stopWith(
          new BackupError(BACKUP_ERR.INFLUX_UNREACHABLE, `influxd ${args[0]} lost the RPC service at ${o.rpc}: is influxd still running? ${HOW_TO_RPC}`),
        );
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(
      () => stopWith(new BackupError(BACKUP_ERR.INFLUXD_FAILED, `influxd ${args[0]} did not finish within ${o.timeoutMs / 1000} s (--timeout)`)),
      o.timeoutMs,
    );
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new BackupError(BACKUP_ERR.INFLUXD_MISSING, `cannot run ${binary}`, { cause: err }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const tail = output.trim().split('\n').slice(-6).join(' | ');
      if (failure) reject(new BackupError(failure.code, `${failure.message} (output: ${tail})`));
      else if (code !== 0) reject(new BackupError(BACKUP_ERR.INFLUXD_FAILED, `influxd ${args.join(' ')} exited with ${code ?? signal}: ${tail}`));
      else resolve(output);
    });
  });
}
