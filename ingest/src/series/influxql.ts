/**
 * InfluxQL for the reader (v1 `/query`, and the v1-compatibility `/query` of InfluxDB 2.x/3.x):
 * one statement per measurement, `epoch=ms`, tags and fields come back as columns (with GROUP BY,
 * the tags as the series' `tags`). Answers are requested chunked (`chunked=true`): InfluxDB sends one
 * JSON object per line of at most CHUNK_ROWS rows, and each line is decoded and converted before the
 * next is read, so neither the answer's text nor its parsed form is ever held whole. A backend that
 * ignores `chunked` sends its answer as one line: still read, up to MAX_LINE_CHARS.
 */
import { IngestError } from '../errors.js';
import { rowToAlarm, rowToNumeric, rowToSetting, rowToWave, type Row } from './layout.js';
import { assembleSorted } from './sort.js';
import type { AggregatedNumeric, AggregateQuery, LatestQuery, SeriesQuery, SeriesResult, StoredNumeric } from './types.js';

export const quoteIdent = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
export const quoteString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

const KINDS = ['numeric', 'wave', 'alarm', 'setting'] as const;
type Kind = (typeof KINDS)[number];

/** rows per line of a chunked answer */
export const CHUNK_ROWS = 5000;
/** longest line accepted (characters): a non-chunking backend's whole answer */
export const MAX_LINE_CHARS = 128 * 1024 * 1024;

function whereOf(q: { bed: string; from: number; to: number; mdcs?: string[] }, byMdc: boolean): string {
  let where = `${quoteIdent('bed')} = ${quoteString(q.bed)} AND time >= ${Math.trunc(q.from)}ms AND time <= ${Math.trunc(q.to)}ms`;
  if (q.mdcs?.length && byMdc) where += ` AND (${q.mdcs.map((m) => `${quoteIdent('mdc')} = ${quoteString(m)}`).join(' OR ')})`;
  return where;
}

/** One statement per kind; with `limit`, each returns the earliest `limit` rows by time. */
export function buildSelects(q: SeriesQuery): { kind: Kind; sql: string }[] {
  const kinds = q.kinds ?? [...KINDS];
  if (q.limit !== undefined && q.limit < 1) return []; // LIMIT 0 would mean "no limit" to InfluxQL
  const limit = q.limit === undefined ? '' : ` LIMIT ${Math.trunc(q.limit)}`;
  return KINDS.filter((k) => kinds.includes(k)).map((kind) => ({
    kind,
    sql: `SELECT * FROM ${quoteIdent(kind)} WHERE ${whereOf(q, kind !== 'setting')}${limit}`,
  }));
}

/**
 * The newest point of each numeric series: `ORDER BY time DESC LIMIT 1` per series (GROUP BY *)
 * returns the whole point, so a newest point without a value stays null instead of falling back to an
 * older value as `LAST(value)` would, and it reads the series backwards from the end of the window.
 */
export function buildLatestSelect(q: LatestQuery): string {
  return `SELECT * FROM ${quoteIdent('numeric')} WHERE ${whereOf(q, true)} GROUP BY * ORDER BY time DESC LIMIT 1`;
}

/**
 * Per-bucket means of the numerics, computed by InfluxDB: `GROUP BY time(<bucket>ms)` aligns buckets to
 * the epoch; `fill(none)` leaves empty buckets out. `mean`/`count` read only the `value` field, so points
 * without a value (null, flagged invalid) are not counted; unit, code, label and flags are the bucket's
 * last (`last()` is a selector: with several functions the row's time is the bucket start).
 */
export function buildAggregateSelect(q: AggregateQuery): string {
  const bucket = Math.max(1, Math.trunc(q.bucketMs));
  const cols =
    'mean("value") AS "value", count("value") AS "count", last("unit") AS "unit", last("code") AS "code", ' +
    'last("label") AS "label", last("flags") AS "flags"';
  const by = ['device', 'mdc', 'vendor', 'site', 'room'].map(quoteIdent).join(', ');
  return `SELECT ${cols} FROM ${quoteIdent('numeric')} WHERE ${whereOf(q, true)} GROUP BY time(${bucket}ms), ${by} fill(none)`;
}

/** A row of an aggregate answer (or of the memory store's arithmetic) → AggregatedNumeric; null for an empty bucket. */
export function rowToAggregated(r: Row): AggregatedNumeric | null {
  const count = typeof r.count === 'number' ? r.count : 0;
  if (!count || typeof r.value !== 'number') return null;
  const n = rowToNumeric({ ...r, value: r.value });
  const o: AggregatedNumeric = {
    mdc: n.mdc,
    vendorCode: n.vendorCode,
    code: n.code,
    unit: n.unit,
    t: r.time,
    value: r.value,
    count,
    device: n.device,
    site: n.site,
    room: n.room,
    bed: n.bed,
  };
  if (n.label) o.label = n.label;
  return o;
}

const cmpStr = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
export function sortAggregated(xs: AggregatedNumeric[]): AggregatedNumeric[] {
  return xs.sort(
    (a, b) => a.t - b.t || cmpStr(a.device, b.device) || cmpStr(a.mdc ?? a.vendorCode, b.mdc ?? b.vendorCode) || cmpStr(a.vendorCode, b.vendorCode),
  );
}

interface QuerySeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}
type QueryStatement = { statement_id?: number; error?: string; series?: QuerySeries[] };
interface QueryJson {
  error?: string;
  results?: QueryStatement[];
}

/** Calls `fn` with each row: its non-null columns plus its series' tags. */
export function forEachRow(result: QueryStatement, fn: (r: Row) => void): void {
  for (const s of result.series ?? []) {
    for (const v of s.values) {
      const r: Record<string, unknown> = { ...s.tags };
      for (let i = 0; i < s.columns.length; i++) if (v[i] !== null) r[s.columns[i]] = v[i];
      fn(r as Row);
    }
  }
}

export function rowsOf(result: QueryStatement): Row[] {
  const rows: Row[] = [];
  forEachRow(result, (r) => rows.push(r));
  return rows;
}

function statementError(json: QueryJson, res: QueryStatement | undefined): IngestError | null {
  if (json.error) return new IngestError('ING_ERR_SERIES_QUERY', 'transient', `query failed: ${json.error}`);
  if (res?.error) return new IngestError('ING_ERR_SERIES_QUERY', 'fatal', `query failed: ${res.error}`);
  return null;
}

/**
 * POSTs `statements` to `queryUrl` (db, rp, epoch already on it), chunked, and hands each statement
 * result of each line to `onResult` as the line arrives.
 */
export async function streamQuery(
  queryUrl: string,
  headers: Record<string, string>,
  statements: string[],
  timeoutMs: number,
  onResult: (statement: number, result: QueryStatement) => void,
): Promise<void> {
  const url = `${queryUrl}${queryUrl.includes('?') ? '&' : '?'}chunked=true&chunk_size=${CHUNK_ROWS}`;
  const fail = (err: unknown) => new IngestError('ING_ERR_SERIES_QUERY', 'transient', `query failed: ${(err as Error).message}`, { cause: err });
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams({ q: statements.join('; ') }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw fail(err);
  }
  if (res.status !== 200) {
    const text = await res.text().catch(() => '');
    throw new IngestError('ING_ERR_SERIES_QUERY', res.status >= 500 ? 'transient' : 'fatal', `query HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
  const handleLine = (line: string) => {
    if (!line.trim()) return;
    let json: QueryJson;
    try {
      json = JSON.parse(line) as QueryJson;
    } catch (err) {
      throw new IngestError('ING_ERR_SERIES_QUERY', 'transient', `query answer is not JSON: ${line.slice(0, 200)}`, { cause: err });
    }
    const top = statementError(json, undefined);
    if (top) throw top;
    (json.results ?? []).forEach((r, i) => {
      const err = statementError(json, r);
      if (err) throw err;
      onResult(r.statement_id ?? i, r);
    });
  };
  const decoder = new TextDecoder();
  let pending: string[] = [];
  let pendingChars = 0;
  try {
    for await (const bytes of res.body ?? []) {
      const text = decoder.decode(bytes as Uint8Array, { stream: true });
      let start = 0;
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
        pending.push(text.slice(start, nl));
        handleLine(pending.join(''));
        pending = [];
        pendingChars = 0;
        start = nl + 1;
      }
      if (start < text.length) {
        pending.push(text.slice(start));
        pendingChars += text.length - start;
        if (pendingChars > MAX_LINE_CHARS) throw new IngestError('ING_ERR_SERIES_QUERY', 'fatal', `query answer line longer than ${MAX_LINE_CHARS} characters`);
      }
    }
    pending.push(decoder.decode());
    handleLine(pending.join(''));
  } catch (err) {
    if (err instanceof IngestError) throw err;
    throw fail(err);
  }
}

/** Runs the statements of `q` and converts the rows kind by kind, line by line. */
export async function runQuery(queryUrl: string, headers: Record<string, string>, q: SeriesQuery, timeoutMs: number): Promise<SeriesResult> {
  const out: SeriesResult = { numerics: [], waves: [], alarms: [], settings: [] };
  const selects = buildSelects(q);
  if (!selects.length) return out;
  await streamQuery(
    queryUrl,
    headers,
    selects.map((s) => s.sql),
    timeoutMs,
    (i, res) => {
      const kind = selects[i]?.kind;
      if (kind === 'numeric') forEachRow(res, (r) => out.numerics.push(rowToNumeric(r)));
      else if (kind === 'wave') forEachRow(res, (r) => out.waves.push(rowToWave(r)));
      else if (kind === 'alarm') forEachRow(res, (r) => out.alarms.push(rowToAlarm(r)));
      else if (kind === 'setting') forEachRow(res, (r) => out.settings.push(rowToSetting(r)));
    },
  );
  return assembleSorted(out);
}

/** The newest numeric of each series in the window (see buildLatestSelect), sorted by time. */
export async function runLatest(queryUrl: string, headers: Record<string, string>, q: LatestQuery, timeoutMs: number): Promise<StoredNumeric[]> {
  const out: StoredNumeric[] = [];
  await streamQuery(queryUrl, headers, [buildLatestSelect(q)], timeoutMs, (_i, res) => forEachRow(res, (r) => out.push(rowToNumeric(r))));
  return assembleSorted({ numerics: out, waves: [], alarms: [], settings: [] }).numerics;
}

/** Per-bucket means of the numerics in the window (see buildAggregateSelect), sorted by time. */
export async function runAggregate(queryUrl: string, headers: Record<string, string>, q: AggregateQuery, timeoutMs: number): Promise<AggregatedNumeric[]> {
  const out: AggregatedNumeric[] = [];
  await streamQuery(queryUrl, headers, [buildAggregateSelect(q)], timeoutMs, (_i, res) =>
    forEachRow(res, (r) => {
      const a = rowToAggregated({ ...r, bed: q.bed });
      if (a) out.push(a);
    }),
  );
  return sortAggregated(out);
}
