/**
 * Simulated Masimo Radical-7 / Rad-8 / Radical-5 / Root in ASCII 1 mode: one line per second at
 * whole device seconds, in the chosen model's key set and number shapes, encoded with the
 * gateway's own line codec (the decoder's inverse). SpO2 and pulse rate come from the shared
 * physiology model (real s00001 numerics when a recordings directory is configured), the rainbow
 * parameters from seeded walks.
 * Every value that goes out readable is emitted as truth ('produced'), as printed.
 * Faults: garbage (a line of noise before every Nth line), dashes (every Nth line has no values),
 * sensor-off (EXC 0x020 with dashed values for durationMs of every everyMs; alarm start/end).
 */
import { encodeLine, formatValue, masimoProfiles, parseValue } from '../../../gateway/src/protocols/masimo/index.js';
import { matchProfile } from '../../../gateway/src/profiles/match.js';
import type { Profile } from '../../../schemas/src/profile.js';
import { configuredDataDir, NumericTrend, PhysiologyModel, requireDataDir, Rng, type PhysiologyOptions } from '../physiology/index.js';
import { OxiDeviceBase, type DeviceBaseOptions } from './device-base.js';
import { ExtraVitals } from './extra-vitals.js';
import { MODEL_PROFILE, MODEL_TOKENS, type MasimoModel } from './models.js';
import type { OxiProduced } from './truth.js';

export interface MasimoFaults {
  garbageEveryLines?: number;
  dashesEveryLines?: number;
  sensorOff?: { everyMs: number; durationMs: number };
}

export const MASIMO_FAULTS = ['garbage', 'dashes', 'sensor-off'] as const;

export function masimoFaultPreset(names: string[]): MasimoFaults {
  const f: MasimoFaults = {};
  if (names.includes('garbage')) f.garbageEveryLines = 10;
  if (names.includes('dashes')) f.dashesEveryLines = 7;
  if (names.includes('sensor-off')) f.sensorOff = { everyMs: 30_000, durationMs: 5_000 };
  return f;
}

export interface MasimoSimulatorOptions extends DeviceBaseOptions {
  model?: MasimoModel;
  seed?: number;
  serial?: string;
  faults?: MasimoFaults;
  physiology?: PhysiologyModel | PhysiologyOptions;
  /** With recordings: drive SpO2/pulse rate with the real s00001 numerics (default true). */
  realNumerics?: boolean;
  /** PhysioNet recordings directory (default: $ORLINK_PHYSIONET_DIR, else synthetic only); missing → SIM_ERR_DATA_DIR. */
  dataDir?: string;
}

const EXC_NORMAL = 0x800;
const EXC_SENSOR_OFF = 0x020;

export class MasimoSimulator extends OxiDeviceBase {
  readonly model: MasimoModel;
  readonly profile: Profile;
  private readonly physio: PhysiologyModel;
  private readonly extras: ExtraVitals;
  private readonly rng: Rng;
  private lastExc = EXC_NORMAL;

  constructor(private readonly o: MasimoSimulatorOptions = {}) {
    super(o, 1000, true);
    this.model = o.model ?? 'radical7';
    const seed = o.seed ?? 1;
    this.profile = matchProfile(masimoProfiles(), { protocol: 'masimo' }, MODEL_PROFILE[this.model]);
    if (o.physiology instanceof PhysiologyModel) this.physio = o.physiology;
    else {
      const dataDir = configuredDataDir(o.dataDir);
      if (dataDir !== undefined) requireDataDir(dataDir);
      const trend = o.realNumerics !== false && dataDir !== undefined ? NumericTrend.load(dataDir, { startMinute: 620 }) : null;
      this.physio = new PhysiologyModel({ seed, trend, ...(o.physiology ?? {}) });
    }
    this.extras = new ExtraVitals(seed);
    this.rng = Rng.keyed(seed, 'masimo-faults');
  }

  protected period(tDevice: number, i: number): { bytes: Buffer; truth: OxiProduced[] } {
    const f = this.o.faults ?? {};
    const v = this.physio.at(tDevice).values;
    const x = this.extras.at(i);
    const off = f.sensorOff && (i * 1000) % f.sensorOff.everyMs >= f.sensorOff.everyMs - f.sensorOff.durationMs;
    const dashed = off || (f.dashesEveryLines !== undefined && i % f.dashesEveryLines === f.dashesEveryLines - 1);
    if (dashed) this.count(this.s.faults, off ? 'sensor-off' : 'dashes');
    const exc = off ? EXC_NORMAL | EXC_SENSOR_OFF : EXC_NORMAL;
    const src: Record<string, number | null> = {
      spo2: v.spo2,
      bpm: v.pulseRate,
      pi: x.pi,
      spco: x.spco,
      spmet: x.spmet,
      sphb: x.sphb,
      spoc: x.spoc,
      pvi: x.pvi,
      desat: 0,
      pidelta: x.pidelta,
      alarm: 0,
      exc,
      exc1: 0,
    };
    const tokens: [string, string][] = [];
    const truth: OxiProduced[] = [];
    for (const spec of MODEL_TOKENS[this.model]) {
      if (spec.key === 'SN') {
        tokens.push(['SN', this.o.serial ?? '0000012345']);
        continue;
      }
      if (spec.key === 'RESVD') {
        tokens.push(['RESVD', '---']);
        continue;
      }
      const raw = src[spec.source] ?? null;
      const text = formatValue(spec.fmt.hex ? raw : dashed ? null : raw, spec.fmt);
      tokens.push([spec.key, text]);
      if (spec.fmt.hex) continue;
      const pv = parseValue(text);
      const m = this.profile.numerics[spec.key];
      if (pv.kind === 'number')
        truth.push({ kind: 'numeric', mdc: m?.mdc ?? null, unit: m?.unit ?? '{vendor}', value: pv.value, t: tDevice, vendorCode: spec.key });
    }
    if ((exc ^ this.lastExc) & EXC_SENSOR_OFF) {
      truth.push({ kind: 'alarm', text: 'Sensor off patient', phase: exc & EXC_SENSOR_OFF ? 'start' : 'end', t: tDevice, vendorCode: 'EXC.0x020' });
    }
    this.lastExc = exc;
    let bytes = Buffer.from(encodeLine(tDevice, tokens), 'latin1');
    if (f.garbageEveryLines !== undefined && i % f.garbageEveryLines === f.garbageEveryLines - 1) {
      const g = Buffer.alloc(12);
      for (let k = 0; k < g.length; k++) g[k] = 0x80 + this.rng.int(0, 0x7f);
      bytes = Buffer.concat([g, Buffer.from('\r\n'), bytes]);
      this.count(this.s.faults, 'garbage');
    }
    return { bytes, truth };
  }
}
