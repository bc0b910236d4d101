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

export interface Located { device: string; site: string; room: string; bed: string }

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

export type SeriesStore = SeriesWriter & SeriesReader;
