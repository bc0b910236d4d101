/**
 * InfluxDB 2.x / 3.x: `POST /api/v2/write?org=&bucket=&precision=ms` with `Authorization: Token`,
 * reads through the v1-compatibility `/query` endpoint (InfluxQL; needs a DBRP mapping of
 * database/retentionPolicy → bucket, which 3.x and `influx v1 dbrp create` on 2.x provide).
 * No 2.x server exists on these machines: tested against a local fake HTTP server only.
 */
import { IngestError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { LineSender, writePoints } from './http-sender.js';
import { runAggregate, runLatest, runQuery } from './influxql.js';
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

export interface InfluxV2Options {
  url: string;
  org: string;
  bucket: string;
  token: string;
  /** DBRP names for the v1-compat query endpoint */
  database: string;
  retentionPolicy: string;
  maxLinesPerRequest: number;
  concurrency: number;
  requestTimeoutMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  retryAttempts: number;
  metrics?: Metrics;
}

export class InfluxV2Store implements SeriesStore {
  readonly kind = 'influx-v2';
  private readonly sender: LineSender;
  private readonly headers: Record<string, string>;
  private readonly base: string;

  constructor(private readonly opts: InfluxV2Options) {
    this.base = opts.url.replace(/\/+$/, '');
    this.headers = { authorization: `Token ${opts.token}` };
    const params = new URLSearchParams({ org: opts.org, bucket: opts.bucket, precision: 'ms' });
    this.sender = new LineSender({ ...opts, writeUrl: `${this.base}/api/v2/write?${params}`, headers: this.headers });
  }

  /** Checks that the bucket exists (bucket creation is an operator task on 2.x). */
  async open(): Promise<void> {
    let res: Response;
    try {
      const params = new URLSearchParams({ org: this.opts.org, name: this.opts.bucket });
      res = await fetch(`${this.base}/api/v2/buckets?${params}`, { headers: this.headers, signal: AbortSignal.timeout(this.opts.requestTimeoutMs) });
    } catch (err) {
      throw new IngestError('ING_ERR_SERIES_TRANSIENT', 'transient', `influx unreachable: ${(err as Error).message}`, { cause: err });
    }
    const text = await res.text();
    if (res.status !== 200) throw new IngestError('ING_ERR_SERIES_FATAL', 'fatal', `bucket lookup HTTP ${res.status}: ${text.slice(0, 300)}`);
    const json = JSON.parse(text) as { buckets?: { name: string }[] };
    if (!json.buckets?.some((b) => b.name === this.opts.bucket)) {
      throw new IngestError('ING_ERR_SERIES_FATAL', 'fatal', `bucket ${this.opts.bucket} not found in org ${this.opts.org}`);
    }
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
      const res = await fetch(`${this.base}/health`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    /* nothing held */
  }
}
