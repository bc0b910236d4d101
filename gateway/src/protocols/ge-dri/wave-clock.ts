/**
 * Per-channel sample clock for DRI waveform records. r_time has 1 s resolution, so consecutive
 * blocks are placed back to back: t0 = anchor + samplesSoFar / rate. The channel re-anchors on the
 * device clock when the record number skips (a lost record) or when the running clock and r_time
 * disagree by more than `toleranceMs`.
 */
export interface WaveClockResult {
  t0: number;
  reanchored: boolean;
}

interface Channel {
  anchor: number;
  samples: number;
  rateHz: number;
  lastNbr: number;
}

export class WaveClock {
  private readonly channels = new Map<number, Channel>();

  constructor(private readonly toleranceMs = 1500) {}

  place(waveId: number, deviceMs: number, recNbr: number, count: number, rateHz: number): WaveClockResult {
    const ch = this.channels.get(waveId);
    let reanchored = false;
    let t0: number;
    if (!ch || ch.rateHz !== rateHz) {
      t0 = deviceMs;
      this.channels.set(waveId, { anchor: deviceMs, samples: count, rateHz, lastNbr: recNbr });
      return { t0, reanchored: ch !== undefined };
    }
    const expected = ch.anchor + (ch.samples * 1000) / rateHz;
    const gap = ((ch.lastNbr + 1) & 0xff) !== recNbr;
    if (gap || Math.abs(expected - deviceMs) > this.toleranceMs) {
      ch.anchor = deviceMs;
      ch.samples = 0;
      reanchored = true;
      t0 = deviceMs;
    } else t0 = expected;
    ch.samples += count;
    ch.lastNbr = recNbr;
    return { t0: Math.round(t0 * 1000) / 1000, reanchored };
  }

  reset(): void {
    this.channels.clear();
  }
}
