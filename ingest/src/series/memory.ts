/**
 * In-memory series store for unit tests and `series.kind: memory`. Same semantics as InfluxDB:
 * same measurement + tag set + time = one point, fields merged (overwrite). Points go through the
 * same line-protocol check (a point with no valid field is skipped) and rows through the same decoding.
 */
import { rowToAggregated, sortAggregated } from './influxql.js';
import { INT_FIELDS, rowToAlarm, rowToNumeric, rowToSetting, rowToWave, type Row } from './layout.js';
import { toLine } from './line-protocol.js';
import { sortCounts } from './influxql-count.js';
import type {
  AggregatedNumeric,
  AggregateQuery,
  CountQuery,
  NumericCounts,
  FieldValue,
  LatestQuery,
  SeriesPoint,
  SeriesQuery,
  SeriesResult,
  SeriesStore,
  StoredNumeric,
  WriteResult,
} from './types.js';
import { assembleSorted } from './sort.js';

export class MemorySeriesStore implements SeriesStore {
  readonly kind = 'memory';
  private readonly points = new Map<string, { measurement: string; tags: Record<string, string>; fields: Record<string, FieldValue>; time: number }>();
  private closed = false;

  async open(): Promise<void> {}

  async write(points: readonly SeriesPoint[]): Promise<WriteResult> {
    let written = 0;
    for (const p of points) {
      if (toLine(p, INT_FIELDS) === null) continue;
      const tags = Object.fromEntries(Object.entries(p.tags).filter(([, v]) => v !== ''));
      const key = `${p.measurement}|${Object.keys(tags)
        .sort()
        .map((k) => `${k}=${tags[k]}`)
        .join(',')}|${Math.trunc(p.time)}`;
      const fields = Object.fromEntries(Object.entries(p.fields).filter(([, v]) => typeof v !== 'number' || Number.isFinite(v)));
      for (const k of Object.keys(fields)) if (INT_FIELDS.has(k)) fields[k] = Math.trunc(fields[k] as number);
      const prev = this.points.get(key);
      this.points.set(key, { measurement: p.measurement, tags, fields: { ...prev?.fields, ...fields }, time: Math.trunc(p.time) });
      written++;
    }
    return { points: written, skipped: points.length - written };
  }

  /** number of distinct stored points (tests) */
  size(measurement?: string): number {
    let n = 0;
    for (const p of this.points.values()) if (!measurement || p.measurement === measurement) n++;
    return n;
  }

  async query(q: SeriesQuery): Promise<SeriesResult> {
    const kinds = q.kinds ?? ['numeric', 'wave', 'alarm', 'setting'];
    const out: SeriesResult = { numerics: [], waves: [], alarms: [], settings: [] };
    for (const p of this.points.values()) {
      if (p.tags.bed !== q.bed || p.time < q.from || p.time > q.to) continue;
      if (!kinds.includes(p.measurement as never)) continue;
      if (q.mdcs?.length && p.measurement !== 'setting' && !q.mdcs.includes(p.tags.mdc)) continue;
      const row = { ...p.tags, ...p.fields, time: p.time } as Row;
      if (p.measurement === 'numeric') out.numerics.push(rowToNumeric(row));
      else if (p.measurement === 'wave') out.waves.push(rowToWave(row));
      else if (p.measurement === 'alarm') out.alarms.push(rowToAlarm(row));
      else if (p.measurement === 'setting') out.settings.push(rowToSetting(row));
    }
    const sorted = assembleSorted(out);
    if (q.limit !== undefined) {
      const n = Math.max(0, Math.trunc(q.limit));
      for (const list of [sorted.numerics, sorted.waves, sorted.alarms, sorted.settings]) if (list.length > n) list.length = n;
    }
    return sorted;
  }

  async latestNumerics(q: LatestQuery): Promise<StoredNumeric[]> {
    const newest = new Map<string, { tags: Record<string, string>; fields: Record<string, FieldValue>; time: number }>();
    for (const p of this.points.values()) {
      if (p.measurement !== 'numeric' || p.tags.bed !== q.bed || p.time < q.from || p.time > q.to) continue;
      if (q.mdcs?.length && !q.mdcs.includes(p.tags.mdc)) continue;
      const series = Object.keys(p.tags)
        .sort()
        .map((k) => `${k}=${p.tags[k]}`)
        .join(',');
      const prev = newest.get(series);
      if (!prev || p.time > prev.time) newest.set(series, p);
    }
    const out = [...newest.values()].map((p) => rowToNumeric({ ...p.tags, ...p.fields, time: p.time } as Row));
    return assembleSorted({ numerics: out, waves: [], alarms: [], settings: [] }).numerics;
  }

  /** The arithmetic of InfluxQL `mean`/`count`/`last` with `GROUP BY time(bucket), <tags> fill(none)`. */
  async aggregateNumerics(q: AggregateQuery): Promise<AggregatedNumeric[]> {
    const bucket = Math.max(1, Math.trunc(q.bucketMs));
    const groups = new Map<string, { row: Row; sum: number; count: number; lastT: number }>();
    const pts = [...this.points.values()].filter(
      (p) => p.measurement === 'numeric' && p.tags.bed === q.bed && p.time >= q.from && p.time <= q.to && (!q.mdcs?.length || q.mdcs.includes(p.tags.mdc)),
    );
    pts.sort((a, b) => a.time - b.time);
    for (const p of pts) {
      const t = Math.floor(p.time / bucket) * bucket;
      const key = `${p.tags.device}|${p.tags.mdc}|${p.tags.vendor}|${p.tags.site}|${p.tags.room}|${t}`;
      let g = groups.get(key);
      if (!g)
        groups.set(
          key,
          (g = {
            row: { site: p.tags.site, room: p.tags.room, bed: p.tags.bed, device: p.tags.device, mdc: p.tags.mdc, vendor: p.tags.vendor, time: t },
            sum: 0,
            count: 0,
            lastT: -Infinity,
          }),
        );
      const v = p.fields.value;
      if (typeof v === 'number') {
        g.sum += v;
        g.count++;
      }
      // last(): the newest value of each field in the bucket
      for (const f of ['unit', 'code', 'label', 'flags']) if (p.fields[f] !== undefined && p.time >= g.lastT) g.row[f] = p.fields[f];
      g.lastT = p.time;
    }
    const out: AggregatedNumeric[] = [];
    for (const g of groups.values()) {
      const a = rowToAggregated({ ...g.row, value: g.count ? g.sum / g.count : undefined, count: g.count });
      if (a) out.push(a);
    }
    return sortAggregated(out);
  }

  /** The arithmetic of the two statements of influxql-count.ts (valid values per series; points per device). */
  async countNumerics(q: CountQuery): Promise<NumericCounts> {
    const bucket = Math.max(1, Math.trunc(q.bucketMs));
    const mask = Math.max(0, Math.trunc(q.excludeFlags));
    const series = new Map<string, NumericCounts['series'][number]>();
    const devices = new Map<string, NumericCounts['devices'][number]>();
    const sums = new Map<string, number>();
    for (const p of this.points.values()) {
      if (p.measurement !== 'numeric' || p.tags.bed !== q.bed || p.time < q.from || p.time > q.to) continue;
      const t = Math.floor(p.time / bucket) * bucket;
      const at = { site: p.tags.site ?? '', room: p.tags.room ?? '', bed: q.bed, device: p.tags.device ?? '' };
      const flags = p.fields.flags;
      if (typeof flags === 'number') {
        const dk = `${at.device}|${at.site}|${at.room}|${t}`;
        const d = devices.get(dk);
        if (d) d.points++;
        else devices.set(dk, { ...at, t, points: 1 });
      }
      const v = p.fields.value;
      if (typeof v !== 'number' || typeof flags !== 'number' || (flags & mask) !== 0) continue;
      if (q.mdcs?.length && !q.mdcs.includes(p.tags.mdc)) continue;
      const sk = `${at.device}|${p.tags.mdc}|${p.tags.vendor}|${at.site}|${at.room}|${t}`;
      const c = series.get(sk);
      sums.set(sk, (sums.get(sk) ?? 0) + v);
      if (!c) {
        series.set(sk, { ...at, param: p.tags.mdc ?? '', vendor: p.tags.vendor ?? '', t, count: 1, min: v, max: v, mean: v });
        continue;
      }
      c.count++;
      c.mean = (sums.get(sk) as number) / c.count;
      c.min = Math.min(c.min, v);
      c.max = Math.max(c.max, v);
    }
    return sortCounts({ series: [...series.values()], devices: [...devices.values()] });
  }

  async ping(): Promise<boolean> {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
