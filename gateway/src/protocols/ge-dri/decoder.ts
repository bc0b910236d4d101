/**
 * DRI record → vendor observations (vendor terms only; the profile maps them to MDC/UCUM).
 * Handles PHDB (all four classes, detected from cl_drilvl_subt), waveforms (contiguous per-channel
 * timing), alarms (assumed layout, see alarm.ts). Never throws on a bad record: problems are
 * returned in `errors` and counted by the caller.
 */
import { AlarmTracker, readAlarmSlots } from './alarm.js';
import { readHeader } from './header.js';
import { ECG_LEADS, PRESSURE_LABELS } from './labels.js';
import { GROUP_HEADER_SIZE, HEADER_SIZE, MAIN_TYPE, PHDB_SUBRECORD_SIZE, WAVES } from './layout.js';
import { decodePhdbSubrecord } from './phdb.js';
import type { DecodedRecord, VendorWave } from './vendor-types.js';
import { WaveClock } from './wave-clock.js';

export interface DriDecoderOptions {
  /** Sample rate per wave id when the profile overrides the WAVES table of layout.ts. */
  waveRates?: Record<number, number>;
  /** Clock disagreement (ms) after which a wave channel re-anchors. */
  waveReanchorMs?: number;
}

const INVP_IDS: Record<number, number> = { 4: 1, 5: 2, 6: 3, 7: 4, 16: 5, 17: 6 };

export class DriDecoder {
  private readonly clock: WaveClock;
  private readonly alarms = new AlarmTracker();

  constructor(private readonly opts: DriDecoderOptions = {}) {
    this.clock = new WaveClock(opts.waveReanchorMs ?? 1500);
  }

  decode(rec: Buffer): DecodedRecord | { error: string } {
    const header = readHeader(rec);
    if (!header) return { error: 'short-record' };
    if (header.len !== rec.length) return { error: 'length-mismatch' };
    const tDevice = header.time * 1000;
    const out: DecodedRecord = { header, type: 'unknown', numerics: [], waves: [], alarms: [], errors: [] };
    if (header.mainType === MAIN_TYPE.phdb) {
      out.type = 'phdb';
      for (const sr of header.subrecords) {
        const base = HEADER_SIZE + sr.offset;
        if (sr.offset < 0 || base + PHDB_SUBRECORD_SIZE > rec.length) {
          out.errors.push('subrecord-bounds');
          continue;
        }
        const sub = decodePhdbSubrecord(rec, base, tDevice);
        out.numerics.push(...sub.numerics);
      }
      const amb = out.numerics.find((n) => n.vendorCode === 'co2.amb_press');
      if (amb && amb.value !== null && amb.value > 300 && amb.value < 1100) out.ambPressMmHg = amb.value;
    } else if (header.mainType === MAIN_TYPE.wave) {
      out.type = 'wave';
      for (const sr of header.subrecords) this.decodeWave(rec, sr.offset, sr.type, header.recNbr, tDevice, out);
    } else if (header.mainType === MAIN_TYPE.alarm) {
      out.type = 'alarm';
      const sr = header.subrecords[0];
      const slots = sr ? readAlarmSlots(rec, HEADER_SIZE + sr.offset, rec.length) : null;
      if (!slots) out.errors.push('alarm-layout');
      else out.alarms = this.alarms.update(slots, tDevice);
    }
    return out;
  }

  private decodeWave(rec: Buffer, offset: number, waveId: number, recNbr: number, tDevice: number, out: DecodedRecord): void {
    const base = HEADER_SIZE + offset;
    if (offset < 0 || base + GROUP_HEADER_SIZE > rec.length) {
      out.errors.push('subrecord-bounds');
      return;
    }
    const n = rec.readInt16LE(base);
    if (n < 0 || base + GROUP_HEADER_SIZE + 2 * n > rec.length) {
      out.errors.push('wave-length');
      return;
    }
    const raw: number[] = new Array(n);
    for (let i = 0; i < n; i++) raw[i] = rec.readInt16LE(base + GROUP_HEADER_SIZE + 2 * i);
    const def = WAVES[waveId];
    const rateHz = this.opts.waveRates?.[waveId] ?? def?.rateHz;
    const labelCode = rec.readUInt16LE(base + 4);
    if (!rateHz) {
      out.errors.push('unknown-wave-rate');
      return;
    }
    const { t0, reanchored } = this.clock.place(waveId, tDevice, recNbr, n, rateHz);
    const w: VendorWave = {
      waveId,
      vendorCode: `wave.${def?.name ?? waveId}`,
      raw,
      status: rec.readUInt16LE(base + 2),
      labelCode,
      t0Device: t0,
      rateHz,
      reanchored,
    };
    const label = waveLabel(waveId, labelCode);
    if (label) w.label = label;
    out.waves.push(w);
  }
}

function waveLabel(waveId: number, labelCode: number): string | undefined {
  if (INVP_IDS[waveId] !== undefined) return PRESSURE_LABELS[labelCode];
  if (waveId >= 1 && waveId <= 3) return ECG_LEADS[labelCode & 0xf]; // ECG waves: label = lead code
  return undefined;
}
