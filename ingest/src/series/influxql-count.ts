/**
 * InfluxQL of `countNumerics` (billing and QC reports, docs/reports.md): two statements sent in one
 * request, both `GROUP BY time(<bucket>ms) … fill(none)` so InfluxDB does the counting and returns
 * one row per non-empty bucket:
 *   0. the valid values per series: `count/min/max/mean("value")` of the points whose `flags` carry
 *      none of `excludeFlags` (`("flags" & mask) = 0`; every stored numeric has `flags`, layout.ts);
 *   1. the numeric points per device: `count("flags")` — every point, with or without a value.
 */
import { forEachRow, quoteIdent, quoteString, streamQuery } from './influxql.js';
import type { Row } from './layout.js';
import type { CountQuery, DeviceBucketCount, NumericBucketCount, NumericCounts } from './types.js';

function timeWhere(q: CountQuery): string {
  return `${quoteIdent('bed')} = ${quoteString(q.bed)} AND time >= ${Math.trunc(q.from)}ms AND time <= ${Math.trunc(q.to)}ms`;
}

export function buildCountSelects(q: CountQuery): [string, string] {
  const bucket = Math.max(1, Math.trunc(q.bucketMs));
  const mask = Math.max(0, Math.trunc(q.excludeFlags));
  let where = `${timeWhere(q)} AND (${quoteIdent('flags')} & ${mask}) = 0`;
  if (q.mdcs?.length) where += ` AND (${q.mdcs.map((m) => `${quoteIdent('mdc')} = ${quoteString(m)}`).join(' OR ')})`;
  const by = ['device', 'mdc', 'vendor', 'site', 'room'].map(quoteIdent).join(', ');
  const valid =
    'SELECT count("value") AS "count", min("value") AS "min", max("value") AS "max", mean("value") AS "mean" ' +
    `FROM ${quoteIdent('numeric')} WHERE ${where} GROUP BY time(${bucket}ms), ${by} fill(none)`;
  const devices =
    `SELECT count("flags") AS "points" FROM ${quoteIdent('numeric')} WHERE ${timeWhere(q)} ` +
    `GROUP BY time(${bucket}ms), ${['device', 'site', 'room'].map(quoteIdent).join(', ')} fill(none)`;
  return [valid, devices];
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function sortCounts(c: NumericCounts): NumericCounts {
  c.series.sort((a, b) => a.t - b.t || cmp(a.device, b.device) || cmp(a.param, b.param) || cmp(a.vendor, b.vendor));
  c.devices.sort((a, b) => a.t - b.t || cmp(a.device, b.device) || cmp(a.room, b.room));
  return c;
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

export function rowToSeriesCount(r: Row, bed: string): NumericBucketCount | null {
  if (typeof r.count !== 'number' || r.count < 1 || typeof r.mean !== 'number') return null;
  return {
    site: str(r.site),
    room: str(r.room),
    bed,
    device: str(r.device),
    param: str(r.mdc),
    vendor: str(r.vendor),
    t: r.time,
    count: r.count,
    min: Number(r.min),
    max: Number(r.max),
    mean: r.mean,
  };
}

export function rowToDeviceCount(r: Row, bed: string): DeviceBucketCount | null {
  if (typeof r.points !== 'number' || r.points < 1) return null;
  return { site: str(r.site), room: str(r.room), bed, device: str(r.device), t: r.time, points: r.points };
}

export async function runCount(queryUrl: string, headers: Record<string, string>, q: CountQuery, timeoutMs: number): Promise<NumericCounts> {
  const out: NumericCounts = { series: [], devices: [] };
  await streamQuery(queryUrl, headers, buildCountSelects(q), timeoutMs, (i, res) =>
    forEachRow(res, (r) => {
      if (i === 0) {
        const c = rowToSeriesCount(r, q.bed);
        if (c) out.series.push(c);
      } else {
        const d = rowToDeviceCount(r, q.bed);
        if (d) out.devices.push(d);
      }
    }),
  );
  return sortCounts(out);
}
