/**
 * Nonin frames → vendor readings (vendor terms only; the profile maps them).
 * #2/#7: 25-frame packets (1/3 s) located by the SYNC bit; a packet is used only when exactly 25
 * frames arrived between two SYNC frames (a lost frame would shift every DATA slot), otherwise it
 * is counted ('packet-short' / 'packet-long') and the next wave block is flagged 'discontinuity'.
 * DATA slots by frame number (README.md §Decoding): 1/2 HR, 3 SpO2, 4 firmware rev, 9 SpO2-D, 10 SpO2 fast,
 * 11 SpO2 beat-to-beat, 14/15 E-HR, 16 E-SpO2, 17 E-SpO2-D, 20/21 HR-D, 22/23 E-HR-D.
 * #8: one frame per second with STATUS, HR, SpO2. Missing markers (HR 511, SpO2 127) → null +
 * 'invalid'. STATUS bits OR-ed over the packet set flags (policy = profile params) and alarms.
 * Time: Nonin sends no clock; the frame counter at 75 Hz (1 Hz for #8) is the device clock, see
 * stream-decoder.ts.
 */
import type { AlarmObs, Flag } from '../../../../schemas/src/observation.js';
import { BitAlarmTracker, type BitDef } from '../masimo/bit-alarms.js';
import { combineHr, FRAMES_PER_PACKET, HR_MISSING, SPO2_MISSING, STATUS, type NoninFrame, type Format8Frame } from './frame.js';

export interface NoninReading {
  vendorCode: string;
  value: number | null;
  flags: Flag[];
}

export interface NoninPacket {
  /** Frames since the stream's first SYNC (#2/#7) or frames since the first frame (#8). */
  frameIndex: number;
  readings: NoninReading[];
  alarms: AlarmObs[];
  pleth?: number[];
  firmware?: number;
  /** Frames were lost just before this packet. */
  gap: boolean;
}

export interface StatusPolicy {
  invalidMask: number;
  artifactMask: number;
  questionableMask: number;
  hrMode: '9bit' | '16bit';
  hrMissing: number;
  spo2Missing: number;
}

export const DEFAULT_STATUS_POLICY: StatusPolicy = {
  invalidMask: STATUS.SNSD | STATUS.SNSA,
  artifactMask: STATUS.ARTF,
  questionableMask: STATUS.OOT | STATUS.RPRF,
  hrMode: '9bit',
  hrMissing: HR_MISSING,
  spo2Missing: SPO2_MISSING,
};

export const STATUS_BITS: Record<number, BitDef> = {
  [STATUS.SNSD]: { text: 'Sensor disconnected', priority: 'medium', source: 'technical' },
  [STATUS.SNSA]: { text: 'Sensor alarm (unusable signal)', priority: 'medium', source: 'technical' },
  [STATUS.OOT]: { text: 'Out of track', priority: 'low', source: 'technical' },
  [STATUS.ARTF]: { text: 'Artifact', priority: 'low', source: 'technical' },
  [STATUS.RPRF]: { text: 'Low perfusion', priority: 'low', source: 'technical' },
};

/** Slots: [vendorCode, kind, frame of the (MSB) byte]. */
const SLOTS: [string, 'hr' | 'spo2', number][] = [
  ['HR', 'hr', 1],
  ['SPO2', 'spo2', 3],
  ['SPO2_D', 'spo2', 9],
  ['SPO2_FAST', 'spo2', 10],
  ['SPO2_BB', 'spo2', 11],
  ['EHR', 'hr', 14],
  ['ESPO2', 'spo2', 16],
  ['ESPO2_D', 'spo2', 17],
  ['HR_D', 'hr', 20],
  ['EHR_D', 'hr', 22],
];

export class NoninDecoder {
  private idx = 0; // frame number in the current packet (1..25), 0 = waiting for SYNC
  private data: number[] = [];
  private pleth: number[] = [];
  private status = 0;
  private packetStart = -1; // frame index of the current packet's first frame
  private framesSinceSync = 0;
  private gap = false;
  private f8Index = -1;
  private readonly alarms = new BitAlarmTracker(
    'STATUS',
    STATUS_BITS,
    { text: 'Nonin status', priority: 'low', source: 'technical' },
    STATUS.ALWAYS | STATUS.SYNC | STATUS.GPRF,
    2,
  );
  readonly errors: Record<string, number> = {};

  constructor(private readonly policy: StatusPolicy = DEFAULT_STATUS_POLICY) {}

  /** One #2/#7 frame; returns a packet when its 25th frame completes it. */
  frame(f: NoninFrame): NoninPacket | undefined {
    this.framesSinceSync++;
    if (f.status & STATUS.SYNC) {
      if (this.idx > 0) {
        this.count('packet-short');
        this.gap = true;
      }
      this.packetStart =
        this.packetStart < 0 ? 0 : this.packetStart + FRAMES_PER_PACKET * Math.max(1, Math.round((this.framesSinceSync - 1) / FRAMES_PER_PACKET));
      this.framesSinceSync = 1;
      this.idx = 1;
      this.data = [];
      this.pleth = [];
      this.status = 0;
    } else if (this.idx === 0) {
      this.count(this.packetStart < 0 ? 'before-sync' : 'unsynced');
      return undefined;
    } else if (++this.idx > FRAMES_PER_PACKET) {
      this.count('packet-long');
      this.gap = true;
      this.idx = 0;
      return undefined;
    }
    this.data[this.idx] = f.data;
    this.pleth.push(f.pleth);
    this.status |= f.status;
    if (this.idx < FRAMES_PER_PACKET) return undefined;
    this.idx = 0;
    const d = this.data;
    const readings = SLOTS.map(([code, kind, at]) =>
      kind === 'hr'
        ? this.reading(code, combineHr(d[at], d[at + 1], this.policy.hrMode), this.policy.hrMissing)
        : this.reading(code, d[at] & 0x7f, this.policy.spo2Missing),
    );
    const gap = this.gap;
    this.gap = false;
    return { frameIndex: this.packetStart, readings, alarms: this.alarms.update(this.status, 0), pleth: this.pleth, firmware: d[4], gap };
  }

  /** One #8 frame (one second). */
  frame8(f: Format8Frame): NoninPacket {
    this.status = f.status;
    this.f8Index++;
    const readings = [
      this.reading('HR', combineHr(f.hrMsb, f.hrLsb, '9bit'), this.policy.hrMissing),
      this.reading('SPO2', f.spo2 & 0x7f, this.policy.spo2Missing),
    ];
    return { frameIndex: this.f8Index, readings, alarms: this.alarms.update(f.status, 0), gap: false };
  }

  private reading(vendorCode: string, raw: number, missing: number): NoninReading {
    const p = this.policy;
    if (raw === missing || this.status & p.invalidMask) return { vendorCode, value: null, flags: ['invalid'] };
    const flags: Flag[] = [];
    if (this.status & p.artifactMask) flags.push('artifact');
    if (this.status & p.questionableMask) flags.push('questionable');
    return { vendorCode, value: raw, flags };
  }

  private count(kind: string): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
  }
}
