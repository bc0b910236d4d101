/**
 * Realtime cycles → wave blocks per stream. Stream n (1-based) is the n-th code the host enabled
 * (multiplier > 0) with ESC T; scale and offset come from the device's own ESC S configuration
 * (physical = bin / maxbin · (max − min) + min), or from the profile when the configuration was
 * not seen. A block closes when it holds `blockSamples`, when a sample arrives off its stream's
 * cadence (a gap), or when flush() is called (the decoder flushes at every 7-bit frame), so the
 * blocks depend only on the bytes, never on how they were chunked.
 */
import type { Flag, WaveObs } from '../../../../schemas/src/observation.js';
import { intToSample } from '../../../../schemas/src/observation.js';
import type { Profile } from '../../../../schemas/src/profile.js';
import { UNMAPPED_UNIT } from '../../profiles/map.js';
import type { RtChannelConfig, RtSelection } from './realtime.js';

export const rtVendorCode = (code: number): string => `rt.${code.toString(16).toUpperCase().padStart(2, '0')}`;

interface Block {
  code: number;
  ints: number[];
  t0: number;
  lastCycle: number;
  step: number;
  flags: Flag[];
}

export class WaveAssembler {
  private config = new Map<number, RtChannelConfig>();
  private selection: RtSelection[] = [];
  private readonly blocks = new Map<number, Block>();
  private readonly unmappedCounts: Record<string, number> = {};
  unassigned = 0;

  constructor(
    private profile: Profile,
    private readonly blockSamples = 25,
  ) {}

  setProfile(p: Profile): void {
    this.profile = p;
  }

  setConfig(channels: RtChannelConfig[]): void {
    this.config = new Map(channels.map((c) => [c.code, c]));
  }

  setSelection(sel: RtSelection[], out: WaveObs[]): void {
    this.flush(out);
    this.selection = sel.filter((s) => s.multiplier > 0);
  }

  /** Base cycle length in ms (the shortest interval of the enabled channels; 20 ms default). */
  cycleMs(): number {
    const us = this.selection.map((s) => this.channel(s.code)?.intervalUs).filter((x): x is number => x !== undefined);
    return us.length ? Math.min(...us) / 1000 : Number(this.profile.params?.rtIntervalUs ?? 20000) / 1000;
  }

  /** One cycle: stream → bin, at cycle index `cycle` whose first sample time is `t`. */
  cycle(values: Map<number, number>, cycle: number, t: number, out: WaveObs[], flags: Flag[] = []): void {
    for (const [stream, bin] of values) {
      const sel = this.selection[stream - 1];
      if (!sel) {
        this.unassigned++;
        continue;
      }
      let b = this.blocks.get(stream);
      if (b && (b.code !== sel.code || cycle - b.lastCycle !== b.step || b.ints.length >= this.blockSamples)) {
        this.emit(b, out);
        b = undefined;
      }
      if (!b) {
        b = { code: sel.code, ints: [], t0: t, lastCycle: cycle - sel.multiplier, step: sel.multiplier, flags: [...flags] };
        this.blocks.set(stream, b);
      }
      b.ints.push(bin);
      b.lastCycle = cycle;
    }
  }

  flush(out: WaveObs[]): void {
    for (const b of this.blocks.values()) this.emit(b, out);
    this.blocks.clear();
  }

  unmapped(): Record<string, number> {
    return { ...this.unmappedCounts };
  }

  private channel(code: number): RtChannelConfig | undefined {
    const c = this.config.get(code);
    if (c) return c;
    const m = this.profile.waves?.[rtVendorCode(code)];
    if (!m) return undefined;
    const maxBin = 4095;
    return { code, intervalUs: m.rateHz ? 1e6 / m.rateHz : 20000, min: m.offset ?? 0, max: (m.offset ?? 0) + m.scale * maxBin, maxBin };
  }

  private emit(b: Block, out: WaveObs[]): void {
    if (!b.ints.length) return;
    const vc = rtVendorCode(b.code);
    const m = this.profile.waves?.[vc];
    const ch = this.channel(b.code);
    const flags = [...b.flags];
    const scale = ch ? (ch.max - ch.min) / ch.maxBin : 1;
    const offset = ch ? ch.min : 0;
    if (!m) {
      this.unmappedCounts[vc] = (this.unmappedCounts[vc] ?? 0) + 1;
      flags.push('unmapped');
    } else if (m.uncalibrated) flags.push('uncalibrated');
    const intervalUs = (ch?.intervalUs ?? 20000) * b.step;
    const w: WaveObs = {
      kind: 'wave',
      mdc: m?.mdc ?? null,
      code: m ? m.code : null,
      unit: m?.unit ?? UNMAPPED_UNIT,
      t0: b.t0,
      rateHz: Number((1e6 / intervalUs).toPrecision(12)),
      samples: b.ints.map((i) => intToSample(i, scale, offset)),
      scale,
      offset,
      vendorCode: vc,
    };
    if (flags.length) w.flags = flags;
    out.push(w);
    b.ints = [];
  }
}
