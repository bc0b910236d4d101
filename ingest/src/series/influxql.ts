/**
 * InfluxQL for the reader (v1 `/query`, and the v1-compatibility `/query` of InfluxDB 2.x/3.x):
 * one statement per measurement, `epoch=ms`, tags and fields come back as columns.
 */
import { IngestError } from '../errors.js';
import { rowToAlarm, rowToNumeric, rowToSetting, rowToWave, type Row } from './layout.js';
import { assembleSorted } from './sort.js';
import type { SeriesQuery, SeriesResult } from './types.js';

export const quoteIdent = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
export const quoteString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

const KINDS = ['numeric', 'wave', 'alarm', 'setting'] as const;

export function buildSelects(q: SeriesQuery): { kind: (typeof KINDS)[number]; sql: string }[] {
  const kinds = q.kinds ?? [...KINDS];
  return KINDS.filter((k) => kinds.includes(k)).map((kind) => {
    let where = `${quoteIdent('bed')} = ${quoteString(q.bed)} AND time >= ${Math.trunc(q.from)}ms AND time <= ${Math.trunc(q.to)}ms`;
    if (q.mdcs?.length && kind !== 'setting') {
      where += ` AND (${q.mdcs.map((m) => `${quoteIdent('mdc')} = ${quoteString(m)}`).join(' OR ')})`;
    }
    return { kind, sql: `SELECT * FROM ${quoteIdent(kind)} WHERE ${where}` };
  });
}

interface QueryJson {
  error?: string;
  results?: { statement_id: number; error?: string; series?: { name: string; columns: string[]; values: unknown[][] }[] }[];
}

export function rowsOf(result: NonNullable<QueryJson['results']>[number]): Row[] {
  const rows: Row[] = [];
  for (const s of result.series ?? []) {
    for (const v of s.values) {
      const r: Record<string, unknown> = {};
      s.columns.forEach((c, i) => { if (v[i] !== null) r[c] = v[i]; });
      rows.push(r as Row);
    }
  }
  return rows;
}

export function assembleResult(kinds: (typeof KINDS)[number][], json: QueryJson): SeriesResult {
  if (json.error) throw new IngestError('ING_ERR_SERIES_QUERY', 'transient', `query failed: ${json.error}`);
  const out: SeriesResult = { numerics: [], waves: [], alarms: [], settings: [] };
  (json.results ?? []).forEach((res, i) => {
    if (res.error) throw new IngestError('ING_ERR_SERIES_QUERY', 'fatal', `query failed: ${res.error}`);
    const rows = rowsOf(res);
    const kind = kinds[res.statement_id ?? i];
    if (kind === 'numeric') out.numerics.push(...rows.map(rowToNumeric));
    else if (kind === 'wave') out.waves.push(...rows.map(rowToWave));
    else if (kind === 'alarm') out.alarms.push(...rows.map(rowToAlarm));
    else if (kind === 'setting') out.settings.push(...rows.map(rowToSetting));
  });
  return assembleSorted(out);
}

/** GET/POST a query to `queryUrl` (params already on it) and assemble the rows. */
export async function runQuery(queryUrl: string, headers: Record<string, string>, q: SeriesQuery, timeoutMs: number): Promise<SeriesResult> {
  const selects = buildSelects(q);
  if (!selects.length) return { numerics: [], waves: [], alarms: [], settings: [] };
  let res: Response;
  try {
    res = await fetch(queryUrl, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams({ q: selects.map((s) => s.sql).join('; ') }), signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new IngestError('ING_ERR_SERIES_QUERY', 'transient', `query failed: ${(err as Error).message}`, { cause: err });
  }
  const text = await res.text();
  if (res.status !== 200) {
    throw new IngestError('ING_ERR_SERIES_QUERY', res.status >= 500 ? 'transient' : 'fatal', `query HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
  return assembleResult(selects.map((s) => s.kind), JSON.parse(text) as QueryJson);
}
