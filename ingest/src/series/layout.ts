/**
 * The orlink InfluxDB layout (docs/ingest.md §InfluxDB layout, docs/decisions.md): canonical
 * observations of one Envelope → points, and stored rows → canonical observations.
 *   numeric        tags site,room,bed,device,mdc,vendor  fields value(float, absent when null), flags(int),
 *                  unit, code(int), label, t_device(int)
 *   wave           tags site,room,bed,device,mdc,vendor  fields rate, n(int), scale, offset, data(base64 zigzag-delta
 *                  varints), gaps("i,j"), unit, flags(int), code(int), label   — one point per block at t0
 * `vendor` (the device's own channel id) is a TAG: two channels that map to one MDC code (P1 and P2 both
 * labelled with a generic pressure, two temperatures of one site) are two series, never overwriting each other.
 *   alarm          tags site,room,bed,device,mdc  fields text, priority, source, phase, vendor, code(int), unmapped(bool)
 *   setting        tags site,room,bed,device,name fields value(float) | text(string) | absent(bool), unit, vendor
 *   device_status  tags site,room,bed,device      fields link, model, firmware, clock_offset_ms, frames, errors
 *   gateway_health tags site,room,bed,gateway     fields online(bool), status(JSON string), outbox_depth(int), outbox_bytes(int)
 * `mdc` tag = MDC reference id, or the vendor code when unmapped (flags then carry `unmapped`).
 * A null numeric value is stored without a value field and with the `invalid` flag; read back as null.
 * Readings kept apart by intake integrity (mqtt/intake-integrity.ts) go to `<kind>_quarantine` (+ q_reason,
 * q_received_at, q_sent_at, q_boot, q_seq) and `<kind>_conflict` (+ c_received_at, c_boot, c_seq): same tags.
 */
import type { DeviceBatch, DeviceStatusMsg, Envelope } from '../../../schemas/src/envelope.js';
import { outboxDepthOf, type GatewayStatusDoc } from '../../../schemas/src/gateway-status.js';
import {
  FLAG,
  bitsToFlags,
  flagsToBits,
  intToSample,
  sampleToInt,
  type AlarmObs,
  type Flag,
  type NumericObs,
  type Observation,
  type SettingObs,
  type WaveObs,
} from '../../../schemas/src/observation.js';
import type { FieldValue, Located, SeriesPoint, StoredAlarm, StoredNumeric, StoredSetting, StoredWave } from './types.js';
import { packInts, unpackInts } from './wave-pack.js';

export const INT_FIELDS: ReadonlySet<string> = new Set([
  'flags',
  'n',
  'code',
  't_device',
  'clock_offset_ms',
  'frames',
  'errors',
  'outbox_depth',
  'outbox_bytes',
  // readings kept apart by intake integrity (mqtt/intake-integrity.ts): `<kind>_quarantine`, `<kind>_conflict`
  'q_received_at',
  'q_sent_at',
  'q_seq',
  'c_received_at',
  'c_seq',
]);

export interface Where {
  site: string;
  room: string;
  bed: string;
}

const paramTag = (mdc: string | null, vendorCode: string | undefined) => mdc || vendorCode || '_unknown';

function put(fields: Record<string, FieldValue>, k: string, v: FieldValue | null | undefined): void {
  if (v === undefined || v === null || v === '') return;
  fields[k] = v;
}

export type Tags = Record<string, string>;

export function numericPoint(n: NumericObs, tags: Tags): SeriesPoint {
  let flags = flagsToBits(n.flags);
  if (n.value === null || !Number.isFinite(n.value)) flags |= FLAG.invalid;
  if (!n.mdc) flags |= FLAG.unmapped;
  const fields: Record<string, FieldValue> = { flags, unit: n.unit ?? '' };
  if (n.value !== null && Number.isFinite(n.value)) fields.value = n.value;
  put(fields, 'code', n.code);
  put(fields, 'label', n.label);
  put(fields, 't_device', n.tDevice);
  return { measurement: 'numeric', tags: { ...tags, mdc: paramTag(n.mdc, n.vendorCode), vendor: n.vendorCode || '_' }, fields, time: n.t };
}

export function wavePoint(w: WaveObs, tags: Tags): SeriesPoint {
  const ints: number[] = new Array(w.samples.length);
  const gaps: number[] = [];
  let prev = 0;
  for (let i = 0; i < w.samples.length; i++) {
    const s = w.samples[i];
    if (s === null || s === undefined || !Number.isFinite(s)) {
      gaps.push(i);
      ints[i] = prev;
      continue;
    }
    prev = ints[i] = sampleToInt(s, w.scale, w.offset);
  }
  let flags = flagsToBits(w.flags);
  if (!w.mdc) flags |= FLAG.unmapped;
  const fields: Record<string, FieldValue> = {
    rate: w.rateHz,
    n: w.samples.length,
    scale: w.scale,
    offset: w.offset,
    data: packInts(ints),
    unit: w.unit ?? '',
    flags,
  };
  put(fields, 'gaps', gaps.join(','));
  put(fields, 'code', w.code);
  put(fields, 'label', w.label);
  return { measurement: 'wave', tags: { ...tags, mdc: paramTag(w.mdc, w.vendorCode), vendor: w.vendorCode || '_' }, fields, time: w.t0 };
}

export function alarmPoint(a: AlarmObs, tags: Tags): SeriesPoint {
  const fields: Record<string, FieldValue> = { text: a.text, priority: a.priority, source: a.source, phase: a.phase };
  put(fields, 'vendor', a.vendorCode);
  put(fields, 'code', a.code);
  if (!a.mdc) fields.unmapped = true;
  const key = a.mdc || a.vendorCode || `text:${a.text.slice(0, 64)}`;
  return { measurement: 'alarm', tags: { ...tags, mdc: key }, fields, time: a.t };
}

export function settingPoint(s: SettingObs, tags: Tags): SeriesPoint {
  const fields: Record<string, FieldValue> = {};
  if (typeof s.value === 'number' && Number.isFinite(s.value)) fields.value = s.value;
  else if (typeof s.value === 'string') fields.text = s.value;
  else fields.absent = true;
  put(fields, 'unit', s.unit);
  put(fields, 'vendor', s.vendorCode);
  return { measurement: 'setting', tags: { ...tags, name: s.name }, fields, time: s.t };
}

export function deviceStatusPoint(st: DeviceStatusMsg, tags: Tags, sentAt: number): SeriesPoint {
  const fields: Record<string, FieldValue> = { link: st.link || 'unknown' };
  put(fields, 'model', st.model);
  put(fields, 'firmware', st.firmware);
  put(fields, 'clock_offset_ms', st.clockOffsetMs);
  put(fields, 'frames', st.frames);
  put(fields, 'errors', st.errors);
  return { measurement: 'device_status', tags, fields, time: sentAt };
}

/**
 * One point of an envelope with what it came from: a reading (`obs`) or the device's status (`obs` null),
 * and its series key (measurement + tag values in the tags' order, as `seriesKeyOf` builds it).
 */
export interface SourcedPoint {
  point: SeriesPoint;
  where: Where;
  device: DeviceBatch;
  obs: Observation | null;
  series: string;
}

/** measurement + tag values in insertion order: the identity of a series (intake integrity) */
export function seriesKeyOf(p: SeriesPoint): string {
  let k = p.measurement;
  for (const tag in p.tags) k += `\u0001${p.tags[tag]}`;
  return k;
}

/** The points of one envelope's devices stored under `where`, each with its source (intake integrity needs both). */
export function envelopeToSourcedPoints(env: Envelope, where: Where, out: SourcedPoint[] = []): SourcedPoint[] {
  for (const d of env.devices) {
    const tags = { site: where.site, room: where.room, bed: where.bed, device: d.deviceId };
    // series keys built from a per-device prefix: the same string seriesKeyOf gives, without walking the tags
    const prefix = `\u0001${where.site}\u0001${where.room}\u0001${where.bed}\u0001${d.deviceId}\u0001`;
    const add = (point: SeriesPoint, obs: Observation | null, rest: string) =>
      out.push({ point, where, device: d, obs, series: point.measurement + prefix + rest });
    for (const n of d.numerics) {
      const p = numericPoint(n, tags);
      add(p, n, `${p.tags.mdc}\u0001${p.tags.vendor}`);
    }
    for (const w of d.waves) {
      const p = wavePoint(w, tags);
      add(p, w, `${p.tags.mdc}\u0001${p.tags.vendor}`);
    }
    for (const a of d.alarms) {
      const p = alarmPoint(a, tags);
      add(p, a, p.tags.mdc);
    }
    for (const st of d.settings) {
      const p = settingPoint(st, tags);
      add(p, st, p.tags.name);
    }
    if (d.status) {
      const p = deviceStatusPoint(d.status, tags, env.sentAt);
      out.push({ point: p, where, device: d, obs: null, series: p.measurement + prefix.slice(0, -1) });
    }
  }
  return out;
}

export function envelopeToPoints(env: Envelope, where: Where): SeriesPoint[] {
  return envelopeToSourcedPoints(env, where).map((s) => s.point);
}

/** A stored reading → the point it was written as (same series key and fields): lets intake compare stored content. */
export function storedToPoint(o: StoredNumeric | StoredWave | StoredAlarm | StoredSetting): SeriesPoint {
  const tags = { site: o.site, room: o.room, bed: o.bed, device: o.device };
  if (o.kind === 'numeric') return numericPoint(o, tags);
  if (o.kind === 'wave') return wavePoint(o, tags);
  if (o.kind === 'alarm') return alarmPoint(o, tags);
  return settingPoint(o, tags);
}

/** A status document checked against the contract (schemas/src/gateway-status.ts) → its gateway_health point. */
export function gatewayHealthPoint(where: Where, gatewayId: string, status: GatewayStatusDoc, t: number): SeriesPoint {
  const fields: Record<string, FieldValue> = { online: status.online, status: JSON.stringify(status).slice(0, 16_384) };
  const depth = outboxDepthOf(status); // a last will/goodbye carries none
  if (depth) {
    fields.outbox_depth = depth.records;
    fields.outbox_bytes = depth.bytes;
  }
  return { measurement: 'gateway_health', tags: { ...where, gateway: gatewayId }, fields, time: t };
}

/** One stored row: time + tags + fields as the query endpoint (or the memory store) returns them. */
export type Row = Record<string, unknown> & { time: number };

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function located(r: Row): Located {
  return { site: String(r.site ?? ''), room: String(r.room ?? ''), bed: String(r.bed ?? ''), device: String(r.device ?? '') };
}

export function rowToNumeric(r: Row): StoredNumeric {
  const bits = num(r.flags) ?? 0;
  const unmapped = (bits & FLAG.unmapped) !== 0;
  const o: StoredNumeric = {
    kind: 'numeric',
    mdc: unmapped ? null : String(r.mdc),
    code: num(r.code) ?? null,
    value: num(r.value) ?? null,
    unit: String(r.unit ?? ''),
    t: r.time,
    vendorCode: r.vendor === '_' ? '' : String(r.vendor ?? ''),
    ...located(r),
  };
  if (num(r.t_device) !== undefined) o.tDevice = num(r.t_device);
  if (str(r.label)) o.label = str(r.label);
  const flags: Flag[] = bitsToFlags(bits);
  if (flags.length) o.flags = flags;
  return o;
}

export function rowToWave(r: Row): StoredWave {
  const bits = num(r.flags) ?? 0;
  const scale = num(r.scale) ?? 1;
  const offset = num(r.offset) ?? 0;
  const ints = unpackInts(String(r.data ?? ''));
  const gaps = new Set(
    String(r.gaps ?? '')
      .split(',')
      .filter(Boolean)
      .map(Number),
  );
  const o: StoredWave = {
    kind: 'wave',
    mdc: bits & FLAG.unmapped ? null : String(r.mdc),
    code: num(r.code) ?? null,
    unit: String(r.unit ?? ''),
    t0: r.time,
    rateHz: num(r.rate) ?? 0,
    samples: ints.map((v, i) => (gaps.has(i) ? null : intToSample(v, scale, offset))),
    scale,
    offset,
    vendorCode: r.vendor === '_' ? '' : String(r.vendor ?? ''),
    ...located(r),
  };
  if (str(r.label)) o.label = str(r.label);
  const flags = bitsToFlags(bits);
  if (flags.length) o.flags = flags;
  return o;
}

export function rowToAlarm(r: Row): StoredAlarm {
  const o: StoredAlarm = {
    kind: 'alarm',
    mdc: r.unmapped === true ? null : String(r.mdc),
    code: num(r.code) ?? null,
    text: String(r.text ?? ''),
    priority: String(r.priority) as AlarmObs['priority'],
    source: String(r.source) as AlarmObs['source'],
    phase: String(r.phase) as AlarmObs['phase'],
    t: r.time,
    ...located(r),
  };
  if (str(r.vendor)) o.vendorCode = str(r.vendor);
  return o;
}

export function rowToSetting(r: Row): StoredSetting {
  const value = num(r.value) ?? (typeof r.text === 'string' ? r.text : null);
  const o: StoredSetting = { kind: 'setting', name: String(r.name), value, t: r.time, ...located(r) };
  if (str(r.unit)) o.unit = str(r.unit);
  if (str(r.vendor)) o.vendorCode = str(r.vendor);
  return o;
}
