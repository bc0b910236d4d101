/**
 * Wave sources that play the real PhysioNet recordings (the `--data-dir` option): seamless loops
 * resampled to the device rate; the ART loop is rescaled to span the model's dia..sys, PLETH is
 * the recording ×100. Kinds with no recording return null (the caller synthesises them).
 */
import { RecordedLoop, robustRange } from './recorded-loop.js';
import { recording, type RecordingName } from './recordings.js';
import type { WaveContext, WaveKind, WaveSource } from './waveforms.js';

class ScaledLoop implements WaveSource {
  readonly rateHz: number;
  constructor(
    private readonly loop: RecordedLoop,
    private readonly map: (x: Float64Array, t0Ms: number) => Float64Array,
  ) {
    this.rateHz = loop.rateHz;
  }
  next(n: number, t0Ms: number): Float64Array {
    return this.map(this.loop.next(n), t0Ms);
  }
}

function loopOf(name: RecordingName, rateHz: number, dataDir: string): RecordedLoop {
  const r = recording(name, dataDir);
  return new RecordedLoop(r.samples, r.fs, rateHz);
}

export function recordedWaveSource(kind: WaveKind, rateHz: number, ctx: WaveContext, dataDir: string): WaveSource | null {
  switch (kind) {
    case 'ecg1':
      return new ScaledLoop(loopOf('ecgMcl1', rateHz, dataDir), (x) => x);
    case 'ecg2':
      return new ScaledLoop(loopOf('ecgII', rateHz, dataDir), (x) => x);
    case 'ecg3':
      return new ScaledLoop(loopOf('ecgV', rateHz, dataDir), (x) => x);
    case 'resp':
      return new ScaledLoop(loopOf('resp', rateHz, dataDir), (x) => x);
    case 'pleth':
      return new ScaledLoop(loopOf('pleth', rateHz, dataDir), (x) => x.map((v) => v * 100));
    case 'art': {
      const loop = loopOf('abp', rateHz, dataDir);
      const { lo, hi } = robustRange(loop.loop);
      return new ScaledLoop(loop, (x, t0) => {
        const v = ctx.model.at(t0).values;
        const sys = v.artSys ?? 120;
        const dia = v.artDia ?? 70;
        return x.map((s) => dia + ((s - lo) / (hi - lo)) * (sys - dia));
      });
    }
    default:
      return null;
  }
}
