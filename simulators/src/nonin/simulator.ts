/**
 * Simulated Nonin oximeter in data format #2, #7 (75 frames/s, 25-frame packets every 1/3 s, the
 * synthetic pleth at 75 Hz, or with a recordings directory the real PLETH recording resampled to
 * 75 Hz) or #8 (one 4-byte frame per second), encoded with the
 * gateway's own codec. Accepts the select-format command (STX 70 02 xx fmt ETX → ACK and switch;
 * anything else framed by STX…ETX → NAK). Packets are sent at their end, aligned to whole device
 * seconds; truth carries the simulator's own frame-clock time (the device sends no clock).
 * Faults: garbage (bytes 0x02–0x7F between packets: never a frame start), checksum (one corrupted
 * frame: the packet is lost, no truth), missing (markers 127/511 in every 5th packet), sensor-off
 * (SNSD + missing markers for durationMs of every everyMs; alarm start/end).
 */
import {
  ACK,
  encodePacket,
  encodeSecond,
  NAK,
  noninProfiles,
  parseSelectFormat,
  STATUS,
  STX,
  ETX,
  type DataFormat,
  type NoninValues,
} from '../../../gateway/src/protocols/nonin/index.js';
import { matchProfile } from '../../../gateway/src/profiles/match.js';
import type { Profile } from '../../../schemas/src/profile.js';
import {
  configuredDataDir,
  createWaveSource,
  NumericTrend,
  PhysiologyModel,
  RecordedLoop,
  recording,
  requireDataDir,
  robustRange,
  Rng,
  type PhysiologyOptions,
  type WaveSource,
} from '../physiology/index.js';
import { OxiDeviceBase, type DeviceBaseOptions } from '../masimo/device-base.js';
import type { OxiProduced } from '../masimo/truth.js';

export const NONIN_FAULTS = ['garbage', 'checksum', 'missing', 'sensor-off'] as const;

export interface NoninFaults {
  garbageEveryPackets?: number;
  badChecksumEveryPackets?: number;
  missingEveryPackets?: number;
  sensorOff?: { everyMs: number; durationMs: number };
}

export function noninFaultPreset(names: string[]): NoninFaults {
  const f: NoninFaults = {};
  if (names.includes('garbage')) f.garbageEveryPackets = 10;
  if (names.includes('checksum')) f.badChecksumEveryPackets = 13;
  if (names.includes('missing')) f.missingEveryPackets = 5;
  if (names.includes('sensor-off')) f.sensorOff = { everyMs: 30_000, durationMs: 5_000 };
  return f;
}

export const FORMAT_PROFILE: Record<DataFormat, string> = { 2: 'nonin/oem-iii/format2', 7: 'nonin/onyx-ii-9560/format7', 8: 'nonin/wristox2-3150/format8' };

export interface NoninSimulatorOptions extends DeviceBaseOptions {
  format?: DataFormat;
  seed?: number;
  firmware?: number;
  faults?: NoninFaults;
  physiology?: PhysiologyModel | PhysiologyOptions;
  /** With recordings: drive HR/SpO2 with the real s00001 numerics (default true). */
  realNumerics?: boolean;
  /** PhysioNet recordings directory (default: $ORLINK_PHYSIONET_DIR, else synthetic); missing → SIM_ERR_DATA_DIR. */
  dataDir?: string;
}

export class NoninSimulator extends OxiDeviceBase {
  private fmt: DataFormat;
  private profile: Profile;
  private readonly physio: PhysiologyModel;
  private readonly rng: Rng;
  /** The recorded loop (with a recordings directory), else the synthetic pleth (0..100). */
  private readonly pleth: { loop: RecordedLoop } | { source: WaveSource };
  private readonly plethRange: { lo: number; hi: number };
  private lastStatus = 0;
  private cmd: number[] = [];
  readonly commands: Record<string, number> = {};

  constructor(private readonly o: NoninSimulatorOptions = {}) {
    const fmt = o.format ?? 2;
    super(o, fmt === 8 ? 1000 : 1000 / 3, false);
    this.fmt = fmt;
    this.profile = matchProfile(noninProfiles(), { protocol: 'nonin' }, FORMAT_PROFILE[fmt]);
    const seed = o.seed ?? 1;
    const dataDir = configuredDataDir(o.dataDir);
    if (dataDir !== undefined) requireDataDir(dataDir);
    if (o.physiology instanceof PhysiologyModel) this.physio = o.physiology;
    else
      this.physio = new PhysiologyModel({
        seed,
        trend: o.realNumerics !== false && dataDir !== undefined ? NumericTrend.load(dataDir, { startMinute: 620 }) : null,
        ...(o.physiology ?? {}),
      });
    this.rng = Rng.keyed(seed, 'nonin');
    if (dataDir !== undefined) {
      const r = recording('pleth', dataDir);
      const loop = new RecordedLoop(r.samples, r.fs, 75);
      this.pleth = { loop };
      this.plethRange = robustRange(loop.loop);
    } else {
      this.pleth = { source: createWaveSource('pleth', 75, { model: this.physio, seed }) };
      this.plethRange = { lo: 0, hi: 100 };
    }
  }

  get format(): DataFormat {
    return this.fmt;
  }

  protected override receive(chunk: Buffer): void {
    for (const b of chunk) {
      if (!this.cmd.length && b !== STX) continue;
      this.cmd.push(b);
      if (b !== ETX && this.cmd.length < 16) continue;
      const want = parseSelectFormat(Buffer.from(this.cmd));
      this.cmd = [];
      if (want === 2 || want === 7 || want === 8) {
        this.count(this.commands, `select-${want}`);
        this.write(Buffer.of(ACK));
        if (want !== this.fmt) {
          this.fmt = want;
          this.profile = matchProfile(noninProfiles(), { protocol: 'nonin' }, FORMAT_PROFILE[want]);
          this.periodMs = want === 8 ? 1000 : 1000 / 3;
          this.realign();
        }
      } else {
        this.count(this.commands, 'rejected');
        this.write(Buffer.of(NAK));
      }
    }
  }

  protected period(tDevice: number, i: number): { bytes: Buffer; truth: OxiProduced[] } {
    const f = this.o.faults ?? {};
    const v = this.physio.at(tDevice).values;
    const periodMs = this.fmt === 8 ? 1000 : 1000 / 3;
    const off = f.sensorOff !== undefined && (i * periodMs) % f.sensorOff.everyMs >= f.sensorOff.everyMs - f.sensorOff.durationMs;
    const missing = off || (f.missingEveryPackets !== undefined && i % f.missingEveryPackets === f.missingEveryPackets - 1);
    if (off) this.count(this.s.faults, 'sensor-off');
    else if (missing) this.count(this.s.faults, 'missing');
    const hr = v.pulseRate === null ? null : Math.round(v.pulseRate);
    const spo2 = v.spo2 === null ? null : Math.round(v.spo2);
    const jig = (x: number | null, lo: number, hi: number): number | null => (x === null ? null : Math.min(hi, Math.max(lo, x + this.rng.int(-1, 2))));
    const vals: NoninValues = missing
      ? {}
      : {
          HR: hr,
          SPO2: spo2,
          SPO2_D: spo2,
          SPO2_FAST: jig(spo2, 0, 100),
          SPO2_BB: jig(spo2, 0, 100),
          EHR: jig(hr, 0, 300),
          ESPO2: spo2,
          ESPO2_D: spo2,
          HR_D: hr,
          EHR_D: jig(hr, 0, 300),
        };
    const status = STATUS.ALWAYS | (off ? STATUS.SNSD : STATUS.GPRF);
    let bytes: Buffer;
    let samples: number[] = [];
    if (this.fmt === 8) bytes = encodeSecond({ HR: vals.HR, SPO2: vals.SPO2 }, status);
    else {
      const max = this.fmt === 2 ? 255 : 65535;
      const x = 'loop' in this.pleth ? this.pleth.loop.next(25) : this.pleth.source.next(25, tDevice);
      const { lo, hi } = this.plethRange;
      samples = off
        ? new Array<number>(25).fill(0)
        : Array.from(x, (s) => Math.max(0, Math.min(max, Math.round(((s - lo) / (hi - lo || 1)) * max * 0.9 + max * 0.05))));
      bytes = encodePacket(this.fmt, vals, samples, status, this.o.firmware ?? 0x30);
    }
    const truth: OxiProduced[] = [];
    const corrupt = f.badChecksumEveryPackets !== undefined && i % f.badChecksumEveryPackets === f.badChecksumEveryPackets - 1;
    if (corrupt) {
      this.count(this.s.faults, 'checksum');
      if (this.fmt === 8)
        bytes[1] |= 0x80; // no checksum in #8: an impossible HR byte
      else bytes[5 * 4 + 3] ^= 0x01; // frame 5's DATA: its checksum fails
    } else {
      for (const [code, value] of Object.entries(this.fmt === 8 ? { HR: vals.HR, SPO2: vals.SPO2 } : vals)) {
        if (value === null || value === undefined) continue;
        const m = this.profile.numerics[code];
        truth.push({ kind: 'numeric', mdc: m?.mdc ?? null, unit: m?.unit ?? '{vendor}', value, t: tDevice, vendorCode: code });
      }
      const w = this.profile.waves?.PLETH;
      if (this.fmt !== 8) truth.push({ kind: 'wave', mdc: w?.mdc ?? null, unit: w?.unit ?? '{vendor}', t0: tDevice, rateHz: 75, samples, vendorCode: 'PLETH' });
      if ((status ^ this.lastStatus) & STATUS.SNSD && (this.lastStatus !== 0 || off)) {
        truth.push({ kind: 'alarm', text: 'Sensor disconnected', phase: off ? 'start' : 'end', t: tDevice, vendorCode: 'STATUS.0x40' });
      }
      this.lastStatus = status;
    }
    if (f.garbageEveryPackets !== undefined && i % f.garbageEveryPackets === f.garbageEveryPackets - 1) {
      const g = Buffer.alloc(7);
      for (let k = 0; k < g.length; k++) g[k] = this.rng.int(0x02, 0x80);
      bytes = Buffer.concat([g, bytes]);
      this.count(this.s.faults, 'garbage');
    }
    return { bytes, truth };
  }
}
