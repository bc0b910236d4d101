/**
 * Minimal InfluxDB 1.x HTTP client for the bench: InfluxQL over GET/POST /query (epoch=ms) and raw
 * line-protocol POST /write. Every request has a timeout; errors carry the InfluxDB message.
 */
export interface QuerySeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}
interface QueryJson {
  error?: string;
  results?: { statement_id: number; error?: string; series?: QuerySeries[] }[];
}

export class InfluxHttp {
  constructor(
    readonly url: string,
    readonly timeoutMs = 10_000,
  ) {}

  /** One or more `;`-separated statements; returns the series of each statement, in order. */
  async query(db: string | null, q: string, method: 'GET' | 'POST' = 'GET'): Promise<QuerySeries[][]> {
    const params = new URLSearchParams({ q, epoch: 'ms' });
    if (db) params.set('db', db);
    const res =
      method === 'GET'
        ? await fetch(`${this.url}/query?${params}`, { signal: AbortSignal.timeout(this.timeoutMs) })
        : await fetch(`${this.url}/query`, {
            method: 'POST',
            body: params,
            signal: AbortSignal.timeout(this.timeoutMs),
          });
    const text = await res.text();
    let json: QueryJson;
    try {
      json = JSON.parse(text) as QueryJson;
    } catch {
      throw new Error(`influx query ${res.status}: ${text.slice(0, 200)}`);
    }
    if (!res.ok || json.error) throw new Error(`influx query ${res.status}: ${json.error ?? text.slice(0, 200)}`);
    return (json.results ?? []).map((r) => {
      if (r.error) throw new Error(`influx statement ${r.statement_id}: ${r.error}`);
      return r.series ?? [];
    });
  }

  /** The first value of column `col` in the first series of statement `i` (null when absent). */
  static scalar(res: QuerySeries[][], i: number, col: string): number | null {
    const s = res[i]?.[0];
    if (!s) return null;
    const k = s.columns.indexOf(col);
    const v = s.values[0]?.[k];
    return typeof v === 'number' ? v : null;
  }

  /** POST /write with precision=ms; resolves to the HTTP status (204 = all stored). */
  async write(db: string, body: string): Promise<number> {
    const res = await fetch(`${this.url}/write?db=${encodeURIComponent(db)}&precision=ms`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/plain' },
      signal: AbortSignal.timeout(this.timeoutMs * 3),
    });
    await res.arrayBuffer();
    return res.status;
  }

  async version(): Promise<string | null> {
    try {
      const res = await fetch(`${this.url}/ping`, { signal: AbortSignal.timeout(this.timeoutMs) });
      await res.arrayBuffer();
      return res.headers.get('x-influxdb-version');
    } catch {
      return null;
    }
  }
}
