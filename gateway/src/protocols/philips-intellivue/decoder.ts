/**
 * Stateful Data Export decoder: one message (session layer and up) → session events + vendor
 * numerics/waves/alarms. Keeps the per-object static attribute cache (label, unit, scale, sample
 * period…), the monitor's clock anchor (TIME_ABS ↔ TIME_REL from the MDS create event, else a
 * poll reply's absolute stamp) and reassembles RORLS parts until the final RORS.
 */
import type { Flag } from '../../../../schemas/src/observation.js';
import { readAttributeList, decodeAbsTime, type AlertEntry, type NuObs, type ObjAttrs, type SaObs, type SaSpec } from './attributes.js';
import { parseMessage, type DataMsg } from './messages.js';
import { ACT, ALERT_TYPE, CMD, MSMT, NOTI } from './nomenclature.js';
import { Reader } from './reader.js';
import type { ConnectInfo, DecodedMessage, VendorAlarm, VendorNumeric, VendorWave } from './vendor-types.js';

export const MAX_LINKED_PARTS = 256;
/** Multi-part replies pending at once (one per active poll is normal). */
export const MAX_PENDING_REPLIES = 16;
export const MAX_OBJECTS = 4096;
const TICKS_PER_MS = 8;
/**
 * Wave blocks that arrive before their object's static attributes (sample period, SA_SPECN) are held
 * and emitted once those arrive (README §Layers). Bounds, per object: samples (counted as 16-bit
 * words: the sample size is part of what is missing), age on the monitor's relative clock; and the
 * number of objects holding blocks. Beyond a bound the oldest blocks are dropped and counted.
 */
export const HELD_WAVE_MAX_SAMPLES = 16_384; // 10 s of a 3-lead 500 Hz compound
export const HELD_WAVE_MAX_AGE_MS = 10_000;
export const HELD_WAVE_MAX_OBJECTS = 64;

interface HeldWave {
  sa: SaObs;
  rel: number;
  tsAbs: number | null | undefined;
  rxMs: number | undefined;
  samples: number;
}
interface HeldObject {
  context: number;
  handle: number;
  blocks: HeldWave[];
  samples: number;
}

type WaveSpecAttrs = ObjAttrs & { samplePeriod: number; saSpec: SaSpec };
const hasWaveSpec = (c: ObjAttrs): c is WaveSpecAttrs => !!c.samplePeriod && !!c.saSpec;

export interface DeviceInfo {
  manufacturer?: string;
  model?: string;
  firmware?: string;
  serial?: string;
  bedLabel?: string;
}

interface PollPart {
  relTime: number;
  absTime: number | null;
  objType: number;
  pollNumber: number;
  objects: { context: number; handle: number; attrs: ObjAttrs }[];
}

export function stateFlags(state: number): Flag[] {
  const f: Flag[] = [];
  if (state & (MSMT.INVALID | MSMT.UNAVAILABLE)) f.push('invalid');
  if (state & MSMT.QUESTIONABLE) f.push('questionable');
  if (state & MSMT.CALIBRATION_ONGOING) f.push('calibrating');
  if (state & (MSMT.DEMO_DATA | MSMT.TEST_DATA)) f.push('demo');
  return f;
}

const AP_ID_DATA_OUT = 5;
const TP_ID_UDP = 1;
const P_OPT_WIRELESS = 0x8000;

function connectInfo(a: ObjAttrs | undefined, dev: DeviceInfo): ConnectInfo {
  const c: ConnectInfo = {};
  if (a?.model?.model) c.model = a.model.model;
  if (dev.serial) c.serial = dev.serial;
  if (dev.firmware) c.firmware = dev.firmware;
  if (a?.netAddr) {
    c.ip = a.netAddr.ip;
    c.mac = a.netAddr.mac;
  }
  const dx = a?.protocols?.find((p) => p.appl === AP_ID_DATA_OUT && p.trans === TP_ID_UDP);
  if (dx) {
    c.dataExportPort = dx.port;
    c.wireless = (dx.options & P_OPT_WIRELESS) !== 0;
  }
  return c;
}

export class IntelliVueDecoder {
  private readonly cache = new Map<string, ObjAttrs>();
  private readonly linked = new Map<number, PollPart[]>();
  private anchor?: { abs: number; rel: number };
  private readonly activeAlarms = new Map<string, VendorAlarm>();
  /** Per `context:handle`, in arrival order: wave blocks waiting for the object's static attributes. */
  private readonly held = new Map<string, HeldObject>();
  /** Receive time of the message being decoded (held blocks keep it). */
  private rxMs: number | undefined;
  readonly device: DeviceInfo = {};
  readonly errors: Record<string, number> = {};
  readonly messages: Record<string, number> = {};

  /** Decodes one message; malformed input throws (ShortRead/UnknownMessage) for the caller to count. */
  decode(buf: Buffer, rxMs?: number): DecodedMessage {
    this.rxMs = rxMs;
    const out: DecodedMessage = { events: [], numerics: [], waves: [], alarms: [] };
    const m = parseMessage(buf);
    if (m.kind === 'session') {
      this.countMsg(m.spdu);
      const ev = { AC: 'associated', RF: 'refused', DN: 'released', FN: 'release-request', AB: 'aborted', CN: 'associate-request' } as const;
      out.events.push({ kind: ev[m.spdu] });
      if (m.spdu === 'AB' || m.spdu === 'DN' || m.spdu === 'CN') this.resetAssociation();
      return out;
    }
    if (m.kind === 'connect-indication') {
      this.countMsg('connect-indication');
      const attrs = this.readEventAttrs(m.body, NOTI.CONNECT_INDIC);
      out.events.push({ kind: 'connect-indication', model: attrs?.model?.model, announce: connectInfo(attrs, this.device) });
      return out;
    }
    this.countMsg(m.ro);
    if (m.ro === 'ROER') {
      out.events.push({ kind: 'roer', invokeId: m.invokeId, errorValue: m.errorValue ?? -1 });
      this.linked.delete(m.invokeId);
      return out;
    }
    if (m.ro === 'ROIV') return this.invoke(m, out);
    if (m.command === CMD.CONFIRMED_ACTION) return this.actionResult(m, out);
    if (m.command === CMD.GET) out.events.push({ kind: 'get-result', invokeId: m.invokeId });
    else if (m.command === CMD.CONFIRMED_SET) out.events.push({ kind: 'set-result', invokeId: m.invokeId });
    return out;
  }

  private invoke(m: DataMsg, out: DecodedMessage): DecodedMessage {
    if (m.command !== CMD.CONFIRMED_EVENT_REPORT && m.command !== CMD.EVENT_REPORT) {
      out.events.push({ kind: 'request', invokeId: m.invokeId, command: m.command });
      return out;
    }
    const r = m.body;
    r.u16();
    r.u16();
    r.u16(); // managed object
    const eventTime = r.u32();
    const eventType = r.u16();
    const info = r.sub(r.u16('event info length'));
    if (eventType === NOTI.MDS_CREAT) {
      info.u16();
      info.u16();
      info.u16(); // MdsCreateInfo.managed_object
      const a = readAttributeList(info, {}, () => this.count('attribute'));
      this.learnDevice(a);
      if (a.timeAbs != null && a.timeRel !== undefined) this.anchor = { abs: a.timeAbs, rel: a.timeRel };
      out.events.push({ kind: 'mds-create', invokeId: m.invokeId, eventTime });
    }
    return out;
  }

  private readEventAttrs(r: Reader, want: number): ObjAttrs | undefined {
    r.u16();
    r.u16(); // ro_type, length
    r.u16();
    r.u16();
    r.u16(); // invoke, command, length
    r.u16();
    r.u16();
    r.u16(); // managed object
    r.u32(); // event time
    if (r.u16() !== want) return undefined;
    const info = r.sub(r.u16());
    const a = readAttributeList(info, {}, () => this.count('attribute'));
    this.learnDevice(a);
    return a;
  }

  private learnDevice(a: ObjAttrs): void {
    if (a.model) {
      if (a.model.manufacturer) this.device.manufacturer = a.model.manufacturer;
      if (a.model.model) this.device.model = a.model.model;
    }
    for (const p of a.prodSpec ?? []) {
      if (p.type === 4 && p.text && !this.device.firmware) this.device.firmware = p.text.trim();
      if (p.type === 1 && p.text && !this.device.serial) this.device.serial = p.text.trim();
    }
    if (a.bedLabel) this.device.bedLabel = a.bedLabel;
  }

  private actionResult(m: DataMsg, out: DecodedMessage): DecodedMessage {
    const r = m.body;
    r.u16();
    r.u16();
    r.u16(); // managed object
    const actionType = r.u16();
    const body = r.sub(r.u16('action length'));
    if (actionType !== ACT.POLL_MDIB_DATA && actionType !== ACT.POLL_MDIB_DATA_EXT) return out;
    const part = this.readPoll(body, actionType === ACT.POLL_MDIB_DATA_EXT);
    const parts = this.linked.get(m.invokeId) ?? [];
    parts.push(part);
    if (m.ro === 'RORLS') {
      if (parts.length > 1 && m.linked && m.linked.count !== parts.length) this.count('linked-gap');
      if (parts.length >= MAX_LINKED_PARTS) this.count('linked-overflow');
      else {
        if (!this.linked.has(m.invokeId) && this.linked.size >= MAX_PENDING_REPLIES) {
          const oldest = this.linked.keys().next().value as number;
          this.linked.delete(oldest); // a reply whose RORS never came
          this.count('linked-evicted');
        }
        this.linked.set(m.invokeId, parts);
        return out;
      }
    }
    this.linked.delete(m.invokeId);
    for (const p of parts) this.emitPoll(p, out);
    out.events.push({ kind: 'poll-result', invokeId: m.invokeId, pollNumber: part.pollNumber, objType: part.objType, parts: parts.length });
    return out;
  }

  private readPoll(r: Reader, ext: boolean): PollPart {
    const pollNumber = r.u16();
    if (ext) r.u16(); // sequence_no
    const relTime = r.u32();
    const absTime = decodeAbsTime(r.bytes(8));
    r.u16(); // partition
    const objType = r.u16();
    r.u16(); // attribute group
    const objects: PollPart['objects'] = [];
    const nCtx = r.u16();
    r.u16();
    for (let i = 0; i < nCtx; i++) {
      const context = r.u16();
      const nObs = r.u16();
      r.u16();
      for (let k = 0; k < nObs; k++) {
        const handle = r.u16();
        objects.push({ context, handle, attrs: readAttributeList(r, {}, () => this.count('attribute')) });
      }
    }
    if (absTime !== null && !this.anchor) this.anchor = { abs: absTime, rel: relTime };
    return { relTime, absTime, objType, pollNumber, objects };
  }

  /** Device epoch ms of a relative time, when the monitor's clock is anchored. */
  relToDevice(rel: number): number | undefined {
    if (!this.anchor) return undefined;
    const diff = (rel - this.anchor.rel) | 0; // signed: ±74 h around the anchor
    return this.anchor.abs + diff / TICKS_PER_MS;
  }

  /** The anchor (abs ms, rel ticks), once known. */
  clockAnchor(): { abs: number; rel: number } | undefined {
    return this.anchor;
  }

  private emitPoll(p: PollPart, out: DecodedMessage): void {
    this.expireHeld(p.relTime);
    for (const o of p.objects) {
      const key = `${o.context}:${o.handle}`;
      const c = this.cache.get(key) ?? {};
      const a = o.attrs;
      for (const k of ['type', 'label', 'labelString', 'unitCode', 'saSpec', 'scale', 'samplePeriod'] as const) {
        if (a[k] !== undefined) (c as Record<string, unknown>)[k] = a[k];
      }
      if (!this.cache.has(key)) {
        if (this.cache.size >= MAX_OBJECTS) {
          this.cache.clear(); // a monitor has a few hundred objects; more is garbage
          this.count('object-cache-reset');
        }
        this.cache.set(key, c);
      }
      const rel = a.tsRel ?? p.relTime;
      const tDevice = a.tsAbs ?? this.relToDevice(rel);
      const label = c.labelString;
      const nus: NuObs[] = [...(a.nu ? [a.nu] : []), ...(a.cmpd ?? [])];
      for (const nu of nus) out.numerics.push(this.numeric(nu, o.context, o.handle, label, tDevice));
      const sas: SaObs[] = [...(a.sa ? [a.sa] : []), ...(a.saCmpd ?? [])];
      if (hasWaveSpec(c)) {
        this.releaseHeld(key, c, label, out); // older blocks first, then this reply's
        for (const sa of sas) out.waves.push(this.wave(sa, o.context, o.handle, c, label, tDevice));
      } else for (const sa of sas) this.hold(key, o.context, o.handle, { sa, rel, tsAbs: a.tsAbs, rxMs: this.rxMs, samples: Math.ceil(sa.samples.length / 2) });
      if (a.physAlerts || a.techAlerts) this.alerts([...(a.physAlerts ?? []), ...(a.techAlerts ?? [])], tDevice, out);
    }
  }

  private numeric(nu: NuObs, context: number, handle: number, label: string | undefined, tDevice: number | undefined): VendorNumeric {
    const flags = stateFlags(nu.state);
    let value = nu.value.value;
    if (nu.value.special) {
      value = null;
      const f: Flag = nu.value.special === '+inf' ? 'over-range' : nu.value.special === '-inf' ? 'under-range' : 'invalid';
      if (!flags.includes(f)) flags.push(f);
    }
    if (nu.state & 0xf000) value = null;
    const n: VendorNumeric = { physioId: nu.physioId, context, handle, value, exponent: nu.value.exponent, unitCode: nu.unitCode, state: nu.state, flags };
    if (label !== undefined) n.label = label;
    if (tDevice !== undefined) n.tDevice = tDevice;
    return n;
  }

  /** Holds a block of an object whose static attributes are not known yet; drops the oldest beyond the bounds. */
  private hold(key: string, context: number, handle: number, b: HeldWave): void {
    let h = this.held.get(key);
    if (!h) {
      if (this.held.size >= HELD_WAVE_MAX_OBJECTS) {
        const oldest = this.held.keys().next().value as string;
        this.dropHeld(oldest, this.held.get(oldest)!.blocks.length, 'wave-held-overflow');
      }
      h = { context, handle, blocks: [], samples: 0 };
      this.held.set(key, h);
    }
    h.blocks.push(b);
    h.samples += b.samples;
    let n = 0;
    for (let over = h.samples - HELD_WAVE_MAX_SAMPLES; over > 0 && n < h.blocks.length; n++) over -= h.blocks[n].samples;
    if (n) this.dropHeld(key, n, 'wave-held-overflow'); // dropHeld keeps h.samples
  }

  /** Drops held blocks older than HELD_WAVE_MAX_AGE_MS before `rel` (signed tick difference: a reply replayed out of order is not "old"). */
  private expireHeld(rel: number): void {
    for (const [key, h] of this.held) {
      let n = 0;
      while (n < h.blocks.length && ((rel - h.blocks[n].rel) | 0) > HELD_WAVE_MAX_AGE_MS * TICKS_PER_MS) n++;
      if (n) this.dropHeld(key, n, 'wave-held-expired');
    }
  }

  /** Drops the `n` oldest held blocks of `key`, counting each under `reason`. */
  private dropHeld(key: string, n: number, reason: string): void {
    const h = this.held.get(key);
    if (!h) return;
    for (const b of h.blocks.splice(0, n)) {
      h.samples -= b.samples;
      this.count(reason);
    }
    if (!h.blocks.length) this.held.delete(key);
  }

  /** The static attributes of `key` are known: its held blocks are emitted, oldest first, each with its own time. */
  private releaseHeld(key: string, c: WaveSpecAttrs, label: string | undefined, out: DecodedMessage): void {
    const h = this.held.get(key);
    if (!h) return;
    this.held.delete(key);
    for (const b of h.blocks) {
      const w = this.wave(b.sa, h.context, h.handle, c, label, b.tsAbs ?? this.relToDevice(b.rel));
      w.held = { rxMs: b.rxMs };
      out.waves.push(w);
    }
  }

  /** Wave blocks currently held (all objects), for stats and tests. */
  heldWaveBlocks(): number {
    let n = 0;
    for (const h of this.held.values()) n += h.blocks.length;
    return n;
  }

  private wave(sa: SaObs, context: number, handle: number, c: WaveSpecAttrs, label: string | undefined, t0Device: number | undefined): VendorWave {
    const bytesPer = Math.max(1, Math.ceil(c.saSpec.sampleSize / 8));
    const mask = c.saSpec.significantBits >= 32 ? 0xffffffff : (1 << c.saSpec.significantBits) - 1;
    const flags = stateFlags(sa.state);
    const invalid = (sa.state & 0xf000) !== 0;
    const ints: (number | null)[] = [];
    for (let i = 0; i + bytesPer <= sa.samples.length; i += bytesPer) {
      const raw = bytesPer === 2 ? sa.samples.readUInt16BE(i) : bytesPer === 1 ? sa.samples[i] : sa.samples.readUIntBE(i, Math.min(bytesPer, 6));
      ints.push(invalid ? null : raw & mask);
    }
    const w: VendorWave = { physioId: sa.physioId, context, handle, ints, rateHz: 8000 / c.samplePeriod, state: sa.state, flags };
    const s = c.scale;
    if (s && s.lowerAbs.value !== null && s.upperAbs.value !== null && s.upperScaled !== s.lowerScaled) {
      const scale = (s.upperAbs.value - s.lowerAbs.value) / (s.upperScaled - s.lowerScaled);
      w.scale = Number(scale.toPrecision(12));
      w.offset = Number((s.lowerAbs.value - s.lowerScaled * scale).toPrecision(12));
    } else flags.push('uncalibrated');
    if (c.unitCode !== undefined) w.unitCode = c.unitCode;
    if (label !== undefined) w.label = label;
    if (t0Device !== undefined) w.t0Device = t0Device;
    return w;
  }

  /** An alert list is the full current set: new entries start, missing ones end. */
  private alerts(list: AlertEntry[], tDevice: number | undefined, out: DecodedMessage): void {
    const seen = new Set<string>();
    for (const e of list) {
      if (!ALERT_TYPE[e.type]) continue; // NO_ALERT
      const key = `${e.source}:${e.code}:${e.handle}`;
      seen.add(key);
      if (this.activeAlarms.has(key)) continue;
      const a: VendorAlarm = {
        code: e.code,
        source: e.source,
        type: e.type,
        state: e.state,
        text: e.label ?? `alert 0x${e.code.toString(16)}`,
        phase: 'start',
      };
      if (e.text !== undefined) a.textId = e.text;
      if (tDevice !== undefined) a.tDevice = tDevice;
      this.activeAlarms.set(key, a);
      out.alarms.push(a);
    }
    for (const [key, a] of this.activeAlarms) {
      if (seen.has(key)) continue;
      this.activeAlarms.delete(key);
      const end: VendorAlarm = { ...a, phase: 'end' };
      if (tDevice !== undefined) end.tDevice = tDevice;
      else delete end.tDevice;
      out.alarms.push(end);
    }
  }

  /** Forget association state (a new association may renumber handles); held wave blocks are dropped and counted. */
  resetAssociation(): void {
    for (const key of [...this.held.keys()]) this.dropHeld(key, this.held.get(key)!.blocks.length, 'wave-held-association-ended');
    this.cache.clear();
    this.linked.clear();
  }

  count(kind: string): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
  }

  private countMsg(kind: string): void {
    this.messages[kind] = (this.messages[kind] ?? 0) + 1;
  }
}
