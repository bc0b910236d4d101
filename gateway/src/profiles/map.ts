/**
 * Vendor reading → canonical observation (schemas/src/observation.ts) through a profile's mapping
 * table. Protocol-neutral: decoders hand in vendor codes, values already in the vendor's unit
 * (layout divisor applied), labels and flags. Units stay honest: a conversion that lacks its input
 * (CO2 % without ambient pressure) publishes the value in the unit it has. Unmapped codes are
 * emitted with mdc/code null, flag 'unmapped', unit '{vendor}', and counted — never dropped.
 */
import { intToSample, type Flag, type NumericObs, type WaveObs } from '../../../schemas/src/observation.js';
import type { NumericMap, Profile, WaveMap } from '../../../schemas/src/profile.js';

export interface VendorReading {
  vendorCode: string;
  value: number | null;
  label?: string;
  flags?: Flag[];
  t: number;
  tDevice?: number;
  /** Record context for conversions. */
  ambPressMmHg?: number;
}

export interface VendorWaveReading {
  vendorCode: string;
  /** Raw integers, null for an invalid sample. */
  ints: (number | null)[];
  rateHz: number;
  t0: number;
  label?: string;
  flags?: Flag[];
}

export const UNMAPPED_UNIT = '{vendor}';

function addFlag(flags: Flag[], f: Flag): void {
  if (!flags.includes(f)) flags.push(f);
}

const round = (v: number, digits: number): number => Number(v.toFixed(digits));

export class ProfileMapper {
  private readonly unmappedCounts: Record<string, number> = {};

  constructor(readonly profile: Profile) {}

  numeric(r: VendorReading): NumericObs {
    const m: NumericMap | undefined = this.profile.numerics[r.vendorCode];
    const flags: Flag[] = [...(r.flags ?? [])];
    const out: NumericObs = { kind: 'numeric', mdc: null, code: null, value: r.value, unit: UNMAPPED_UNIT, t: r.t, vendorCode: r.vendorCode };
    if (r.tDevice !== undefined) out.tDevice = r.tDevice;
    if (r.label !== undefined) out.label = r.label;
    if (!m) {
      this.countUnmapped(r.vendorCode);
      addFlag(flags, 'unmapped');
    } else {
      const variant = r.label !== undefined ? m.byLabel?.[r.label] : undefined;
      out.mdc = variant?.mdc ?? m.mdc;
      out.code = variant ? variant.code : m.code;
      out.unit = variant?.unit ?? m.unit;
      if (r.value !== null) {
        let v = r.value * (m.scale ?? 1) + (m.offset ?? 0);
        if (m.convert === 'pct-to-mmHg-ambient') {
          if (r.ambPressMmHg !== undefined) v = round((v * r.ambPressMmHg) / 100, 1);
          else out.unit = '%';
        }
        const bad = (m.valid?.min !== undefined && v < m.valid.min) || (m.valid?.max !== undefined && v > m.valid.max);
        if (bad) {
          out.value = null;
          addFlag(flags, 'invalid');
        } else out.value = Number(v.toPrecision(12));
      }
    }
    if (flags.length) out.flags = flags;
    return out;
  }

  wave(r: VendorWaveReading): WaveObs {
    const m: WaveMap | undefined = this.profile.waves?.[r.vendorCode];
    const flags: Flag[] = [...(r.flags ?? [])];
    const variant = m && r.label !== undefined ? m.byLabel?.[r.label] : undefined;
    const scale = m?.scale ?? 1;
    const offset = m?.offset ?? 0;
    if (!m) {
      this.countUnmapped(r.vendorCode);
      addFlag(flags, 'unmapped');
    } else if (m.uncalibrated) addFlag(flags, 'uncalibrated');
    const out: WaveObs = {
      kind: 'wave',
      mdc: m ? (variant?.mdc ?? m.mdc) : null,
      code: m ? (variant ? variant.code : m.code) : null,
      unit: m ? (variant?.unit ?? m.unit) : UNMAPPED_UNIT,
      t0: r.t0,
      rateHz: m?.rateHz ?? r.rateHz,
      samples: r.ints.map((i) => (i === null ? null : intToSample(i, scale, offset))),
      scale,
      offset,
      vendorCode: r.vendorCode,
    };
    if (r.label !== undefined) out.label = r.label;
    if (flags.length) out.flags = flags;
    return out;
  }

  /** Vendor codes seen without a mapping, with counts. */
  unmapped(): Record<string, number> {
    return { ...this.unmappedCounts };
  }

  private countUnmapped(code: string): void {
    this.unmappedCounts[code] = (this.unmappedCounts[code] ?? 0) + 1;
  }
}
