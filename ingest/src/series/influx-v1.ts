/**
 * InfluxDB 1.x (Debian's 1.6 in CI): `POST /write?db=&rp=&precision=ms`, InfluxQL on `/query`
 * with `epoch=ms`, Basic auth when a username is set. `open()` creates the database and the raw
 * retention policy (1-min continuous-query aggregates: a later issue, see docs/ingest.md).
 */
import { IngestError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { LineSender, writePoints } from './http-sender.js';
import { quoteIdent, runAggregate, runLatest, runQuery } from './influxql.js';
import { runCount } from './influxql-count.js';
import type {
  AggregatedNumeric,
  AggregateQuery,
  CountQuery,
  NumericCounts,
  LatestQuery,
  SeriesPoint,
  SeriesQuery,
  SeriesResult,
  SeriesStore,
  StoredNumeric,
  WriteResult,
} from './types.js';

export interface InfluxV1Options {
  url: string;
  database: string;
  retentionPolicy: string;
  retentionDuration: string;
  createDatabase: boolean;
  username?: string;
  password?: string;
  maxLinesPerRequest: number;
  concurrency: number;
  requestTimeoutMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  retryAttempts: number;
  metrics?: Metrics;
}

export class InfluxV1Store implements SeriesStore {
  readonly kind = 'influx-v1';
  private readonly sender: LineSender;
  private readonly headers: Record<string, string> = {};
  private readonly base: string;

  constructor(private readonly opts: InfluxV1Options) {
    this.base = opts.url.replace(/\/+$/, '');
    if (opts.username) {
      this.headers.authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}`;
    }
    const params = new URLSearchParams({ db: opts.database, rp: opts.retentionPolicy, precision: 'ms' });
    this.sender = new LineSender({ ...opts, writeUrl: `${this.base}/write?${params}`, headers: this.headers });
  }

  private async admin(q: string): Promise<string | undefined> {
    let res: Response;
    try {
      res = await fetch(`${this.base}/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...this.headers },
        body: new URLSearchParams({ q }),
        signal: AbortSignal.timeout(this.opts.requestTimeoutMs),
      });
    } catch (err) {
      throw new IngestError('ING_ERR_SERIES_TRANSIENT', 'transient', `influx unreachable: ${(err as Error).message}`, { cause: err });
    }
    const text = await res.text();
    if (res.status !== 200) throw new IngestError('ING_ERR_SERIES_FATAL', 'fatal', `influx admin HTTP ${res.status}: ${text.slice(0, 300)}`);
    const json = JSON.parse(text) as { results?: { error?: string }[]; error?: string };
    return json.error ?? json.results?.[0]?.error;
  }

  async open(): Promise<void> {
    if (!this.opts.createDatabase) return;
    const db = quoteIdent(this.opts.database);
    const rp = quoteIdent(this.opts.retentionPolicy);
    const err = await this.admin(`CREATE DATABASE ${db}`);
    if (err) throw new IngestError('ING_ERR_SERIES_FATAL', 'fatal', `CREATE DATABASE: ${err}`);
    const spec = `DURATION ${this.opts.retentionDuration} REPLICATION 1 DEFAULT`;
    const rpErr = await this.admin(`CREATE RETENTION POLICY ${rp} ON ${db} ${spec}`);
    if (rpErr && /already exists/.test(rpErr)) {
      const altErr = await this.admin(`ALTER RETENTION POLICY ${rp} ON ${db} ${spec}`);
      if (altErr) throw new IngestError('ING_ERR_SERIES_FATAL', 'fatal', `ALTER RETENTION POLICY: ${altErr}`);
    } else if (rpErr) throw new IngestError('ING_ERR_SERIES_FATAL', 'fatal', `CREATE RETENTION POLICY: ${rpErr}`);
  }

  write(points: readonly SeriesPoint[], signal?: AbortSignal): Promise<WriteResult> {
    return writePoints(this.sender, points, signal);
  }

  private get queryUrl(): string {
    return `${this.base}/query?${new URLSearchParams({ db: this.opts.database, rp: this.opts.retentionPolicy, epoch: 'ms' })}`;
  }

  query(q: SeriesQuery): Promise<SeriesResult> {
    return runQuery(this.queryUrl, this.headers, q, this.opts.requestTimeoutMs);
  }

  latestNumerics(q: LatestQuery): Promise<StoredNumeric[]> {
    return runLatest(this.queryUrl, this.headers, q, this.opts.requestTimeoutMs);
  }

  aggregateNumerics(q: AggregateQuery): Promise<AggregatedNumeric[]> {
    return runAggregate(this.queryUrl, this.headers, q, this.opts.requestTimeoutMs);
  }

  /** valid values and device points per bucket, counted by InfluxDB (influxql-count.ts) */
  countNumerics(q: CountQuery): Promise<NumericCounts> {
    return runCount(this.queryUrl, this.headers, q, this.opts.requestTimeoutMs);
  }

  async ping(): Promise<boolean> {
    try {
      const res = await fetch(`${this.base}/ping`, { headers: this.headers, signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === 204 || res.status === 200;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    /* fetch keeps no state of ours */
  }
}
