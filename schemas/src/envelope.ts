/**
 * Envelope codec (schemas/proto/orlink.proto) between canonical observations and protobuf bytes.
 * The gateway encodes, ingest decodes. Waves travel as zigzag deltas of their integer samples.
 */
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';
import { checkWireTypes } from './wire-check.js';
import { type AlarmObs, type NumericObs, type SettingObs, type WaveObs, type Flag, bitsToFlags, flagsToBits, intToSample, sampleToInt } from './observation.js';

export const SCHEMA_VERSION = 1;

const root = protobuf.loadSync(fileURLToPath(new URL('../proto/orlink.proto', import.meta.url)));
const EnvelopeType = root.lookupType('orlink.v1.Envelope');

export type LinkState = 'connecting' | 'identifying' | 'streaming' | 'stalled' | 'down';

export interface DeviceStatusMsg {
  link: LinkState;
  model?: string;
  firmware?: string;
  clockOffsetMs?: number;
  frames?: number;
  errors?: number;
}

export interface DeviceBatch {
  deviceId: string;
  profileId: string;
  numerics: NumericObs[];
  waves: WaveObs[];
  alarms: AlarmObs[];
  settings: SettingObs[];
  status?: DeviceStatusMsg;
}

export interface Envelope {
  gatewayId: string;
  bootId: string;
  seq: number;
  sentAt: number;
  devices: DeviceBatch[];
  schemaVersion?: number;
}

/** Raised by decodeEnvelope for bytes that are not a valid v1 Envelope. */
export class EnvelopeError extends Error {
  readonly code = 'SCHEMA_ERR_ENVELOPE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EnvelopeError';
  }
}

function packWave(w: WaveObs) {
  const deltas: number[] = new Array(w.samples.length);
  const gaps: number[] = [];
  let prev = 0;
  for (let i = 0; i < w.samples.length; i++) {
    const s = w.samples[i];
    if (s === null || s === undefined || !Number.isFinite(s)) {
      gaps.push(i);
      deltas[i] = 0;
      continue;
    }
    const v = sampleToInt(s, w.scale, w.offset);
    deltas[i] = v - prev;
    prev = v;
  }
  return {
    mdc: w.mdc ?? '',
    code: w.code ?? 0,
    unit: w.unit,
    t0: w.t0,
    rateHz: w.rateHz,
    scale: w.scale,
    offset: w.offset,
    deltas,
    gaps,
    flags: flagsToBits(w.flags),
    vendorCode: w.vendorCode,
    label: w.label ?? '',
  };
}

/** Absent (null) instead of NaN / ±Infinity: a canonical number is finite or null. */
const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

function unpackWave(m: any): WaveObs {
  if (!(m.rateHz > 0) || !Number.isFinite(m.rateHz) || !Number.isFinite(m.scale) || m.scale === 0 || !Number.isFinite(m.offset)) {
    throw new EnvelopeError(`wave ${m.vendorCode}: rate_hz ${m.rateHz}, scale ${m.scale}, offset ${m.offset} (rate > 0, scale != 0, all finite)`);
  }
  const gaps = new Set<number>((m.gaps ?? []).map(Number));
  const samples: (number | null)[] = new Array(m.deltas?.length ?? 0);
  let acc = 0;
  for (let i = 0; i < samples.length; i++) {
    acc += Number(m.deltas[i]);
    samples[i] = gaps.has(i) ? null : finiteOrNull(intToSample(acc, m.scale, m.offset));
  }
  const w: WaveObs = {
    kind: 'wave',
    mdc: m.mdc || null,
    code: m.code || null,
    unit: m.unit,
    t0: Number(m.t0),
    rateHz: m.rateHz,
    samples,
    scale: m.scale,
    offset: m.offset,
    vendorCode: m.vendorCode,
  };
  if (m.label) w.label = m.label;
  const flags = bitsToFlags(m.flags);
  if (flags.length) w.flags = flags;
  return w;
}

function packNumeric(n: NumericObs) {
  return {
    mdc: n.mdc ?? '',
    code: n.code ?? 0,
    value: n.value ?? 0,
    absent: n.value === null,
    unit: n.unit,
    t: n.t,
    tDevice: n.tDevice ?? 0,
    vendorCode: n.vendorCode,
    flags: flagsToBits(n.flags),
    label: n.label ?? '',
  };
}

function unpackNumeric(m: any): NumericObs {
  const value = m.absent ? null : finiteOrNull(m.value);
  const n: NumericObs = {
    kind: 'numeric',
    mdc: m.mdc || null,
    code: m.code || null,
    value,
    unit: m.unit,
    t: Number(m.t),
    vendorCode: m.vendorCode,
  };
  if (Number(m.tDevice)) n.tDevice = Number(m.tDevice);
  if (m.label) n.label = m.label;
  const flags: Flag[] = bitsToFlags(m.flags);
  if (value === null && !m.absent && !flags.includes('invalid')) flags.push('invalid'); // NaN / ±Infinity sent
  if (flags.length) n.flags = flags;
  return n;
}

const ALARM_ENUMS = { priority: ['low', 'medium', 'high'], source: ['physiological', 'technical'], phase: ['start', 'update', 'end'] } as const;

function unpackAlarm(a: any): AlarmObs {
  for (const [k, allowed] of Object.entries(ALARM_ENUMS)) {
    if (!(allowed as readonly string[]).includes(a[k]))
      throw new EnvelopeError(`alarm ${k} ${JSON.stringify(String(a[k]).slice(0, 40))} is not one of ${allowed.join(', ')}`);
  }
  return {
    kind: 'alarm',
    mdc: a.mdc || null,
    code: a.code || null,
    text: a.text,
    priority: a.priority,
    source: a.source,
    phase: a.phase,
    t: Number(a.t),
    ...(a.vendorCode ? { vendorCode: a.vendorCode } : {}),
  };
}

export function encodeEnvelope(env: Envelope): Uint8Array {
  const msg = {
    gatewayId: env.gatewayId,
    bootId: env.bootId,
    seq: env.seq,
    sentAt: env.sentAt,
    schemaVersion: env.schemaVersion ?? SCHEMA_VERSION,
    devices: env.devices.map((d) => ({
      deviceId: d.deviceId,
      profileId: d.profileId,
      numerics: d.numerics.map(packNumeric),
      waves: d.waves.map(packWave),
      alarms: d.alarms.map((a) => ({
        mdc: a.mdc ?? '',
        code: a.code ?? 0,
        text: a.text,
        priority: a.priority,
        source: a.source,
        phase: a.phase,
        t: a.t,
        vendorCode: a.vendorCode ?? '',
      })),
      settings: d.settings.map((s) => ({
        name: s.name,
        value: typeof s.value === 'number' ? s.value : 0,
        text: typeof s.value === 'string' ? s.value : '',
        isText: typeof s.value === 'string',
        unit: s.unit ?? '',
        t: s.t,
        vendorCode: s.vendorCode ?? '',
      })),
      status: d.status,
    })),
  };
  return EnvelopeType.encode(EnvelopeType.fromObject(msg)).finish();
}

/**
 * Decode and validate; throws EnvelopeError for malformed bytes, an unknown schema version, or
 * observations that break the canonical shape (an alarm enum outside its set; a wave whose rate,
 * scale or offset cannot place its samples). A NaN / ±Infinity value arrives as absent (null;
 * numerics flagged `invalid`).
 */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  let m: any;
  try {
    checkWireTypes(EnvelopeType, bytes);
    m = EnvelopeType.toObject(EnvelopeType.decode(bytes), { longs: Number, defaults: true, arrays: true });
  } catch (err) {
    throw new EnvelopeError(`malformed protobuf envelope: ${(err as Error).message}`, { cause: err });
  }
  if (m.schemaVersion !== SCHEMA_VERSION) throw new EnvelopeError(`unknown schema_version ${m.schemaVersion}`);
  if (!m.gatewayId || !m.bootId || !m.seq) throw new EnvelopeError('envelope lacks gateway_id, boot_id or seq');
  return {
    gatewayId: m.gatewayId,
    bootId: m.bootId,
    seq: m.seq,
    sentAt: m.sentAt,
    schemaVersion: m.schemaVersion,
    devices: m.devices.map((d: any): DeviceBatch => ({
      deviceId: d.deviceId,
      profileId: d.profileId,
      numerics: d.numerics.map(unpackNumeric),
      waves: d.waves.map(unpackWave),
      alarms: d.alarms.map(unpackAlarm),
      settings: d.settings.map((s: any): SettingObs => ({
        kind: 'setting',
        name: s.name,
        value: s.isText ? s.text : finiteOrNull(s.value),
        t: Number(s.t),
        ...(s.unit ? { unit: s.unit } : {}),
        ...(s.vendorCode ? { vendorCode: s.vendorCode } : {}),
      })),
      ...(d.status ? { status: d.status } : {}),
    })),
  };
}
