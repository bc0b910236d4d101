/**
 * The series boundary (docs/ingest.md §Series backends): writers take points in the orlink layout, readers return
 * canonical observations. Implementations: influx-v1, influx-v2, memory — one abstract suite.
 */
import type { AlarmObs, NumericObs, SettingObs, WaveObs } from '../../../schemas/src/observation.js';

export type FieldValue = number | string | boolean;

/** One point. Integer-typed fields are listed by name in INT_FIELDS (layout.ts). */
export interface SeriesPoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, FieldValue>;
  /** UTC epoch ms */
  time: number;
}

export interface WriteResult {
  /** points sent and accepted */
  points: number;
  /** lines dropped by the serializer (e.g. no valid field) */
  skipped: number;
}

export interface SeriesWriter {
  readonly kind: string;
  /** create database / retention policy where the backend needs it */
  open(): Promise<void>;
  /**
   * Resolves only when every point is stored. Rejects with IngestError:
   * kind 'data' (ING_ERR_SERIES_PARTIAL: the server refused some lines; others may be stored),
   * 'transient' (retries exhausted: try again later), 'fatal' (e.g. database missing, auth).
   */
  write(points: readonly SeriesPoint[], signal?: AbortSignal): Promise<WriteResult>;
  /** true when the backend answers now */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface SeriesQuery {
  bed: string;
  from: number;
  to: number;
  /** MDC ids (or vendor codes of unmapped params); undefined = all */
  mdcs?: string[];
  kinds?: ('numeric' | 'wave' | 'alarm' | 'setting')[];
  /**
   * At most this many items per kind: the earliest by time (items sharing the time of the last one
   * may be cut anywhere among them — callers page on time, see routes/timeline.ts). Undefined = all:
   * then the caller bounds the window.
   */
  limit?: number;
}

/** The newest numeric of each series of a bed within [from, to] (GET /beds/:bed/latest). */
export interface LatestQuery {
  bed: string;
  from: number;
  to: number;
  /** MDC ids (or vendor codes of unmapped params); undefined = all */
  mdcs?: string[];
}

export interface Located {
  device: string;
  site: string;
  room: string;
  bed: string;
}

/** Numerics averaged in the database over fixed buckets (timeline `resolution`, docs/api.md "Timeline"). */
export interface AggregateQuery {
  bed: string;
  from: number;
  to: number;
  /** MDC ids (or vendor codes of unmapped params); undefined = all */
  mdcs?: string[];
  /** bucket length, ms (≥ 1): buckets start at multiples of it since the epoch */
  bucketMs: number;
}

/**
 * One bucket of one numeric series (device, mdc, vendor channel): the mean of the stored values with
 * time in [t, t + bucketMs) ∩ [from, to], and how many there were. Points without a value (null,
 * flagged invalid) are not counted; other flags are not looked at (a flagged value is averaged in).
 * Empty buckets are absent. `unit`, `code`, `label`: of the bucket's last point.
 */
export interface AggregatedNumeric extends Located {
  mdc: string | null;
  vendorCode: string;
  code: number | null;
  unit: string;
  label?: string;
  /** bucket start, epoch ms */
  t: number;
  value: number;
  count: number;
}

export type StoredNumeric = NumericObs & Located;
export type StoredWave = WaveObs & Located;
export type StoredAlarm = AlarmObs & Located;
export type StoredSetting = SettingObs & Located;

export interface SeriesResult {
  numerics: StoredNumeric[];
  waves: StoredWave[];
  alarms: StoredAlarm[];
  settings: StoredSetting[];
}

export interface SeriesReader {
  /** Results sorted by time (t / t0) ascending. */
  query(q: SeriesQuery): Promise<SeriesResult>;
  /**
   * One numeric per stored series (device, mdc, vendor channel, site, room): its newest point in the
   * window, whatever the value (a newest point without a value comes back as null, flagged invalid).
   * Sorted by time ascending. Reads one point per series, not the window.
   */
  latestNumerics(q: LatestQuery): Promise<StoredNumeric[]>;
}

/** Reads numerics averaged by the backend (a separate interface: readers that only page raw data need not have it). */
export interface SeriesAggregator {
  /** Per-bucket means computed by the backend (InfluxQL GROUP BY time), sorted by t, device, parameter. */
  aggregateNumerics(q: AggregateQuery): Promise<AggregatedNumeric[]>;
}

/** Valid numerics counted per fixed bucket by the backend (billing and QC reports, docs/reports.md). */
export interface CountQuery {
  bed: string;
  from: number;
  to: number;
  /** MDC ids (or vendor codes of unmapped params) of the `series` counts; undefined = all. `devices` always counts all. */
  mdcs?: string[];
  /** bucket length, ms (≥ 1): buckets start at multiples of it since the epoch */
  bucketMs: number;
  /** flag bits (FLAG, schemas/src/observation.ts): a point carrying any of them is not a valid value */
  excludeFlags: number;
}

/** One bucket of one numeric series: its valid values (a value, none of `excludeFlags`) in [t, t + bucketMs) ∩ [from, to]. */
export interface NumericBucketCount extends Located {
  /** the `mdc` tag: MDC id, or the vendor code when unmapped */
  param: string;
  /** the device's own channel id (`vendor` tag) */
  vendor: string;
  t: number;
  count: number;
  min: number;
  max: number;
  mean: number;
}

/** One bucket of one device: how many numeric points it stored, whatever their flags or value. */
export interface DeviceBucketCount extends Located {
  t: number;
  points: number;
}

export interface NumericCounts {
  series: NumericBucketCount[];
  devices: DeviceBucketCount[];
}

/** Counts computed by the backend (InfluxQL COUNT … GROUP BY time): one request per bed window. */
export interface SeriesCounter {
  /** Both lists sorted by t, device, param/vendor; empty buckets absent. */
  countNumerics(q: CountQuery): Promise<NumericCounts>;
}

export type SeriesStore = SeriesWriter & SeriesReader & SeriesAggregator & SeriesCounter;
