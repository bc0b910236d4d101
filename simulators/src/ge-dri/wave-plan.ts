/**
 * Waveform requests → a stream plan: which waves (≤ 8, ≤ 600 samples/s in total), the record
 * interval (1000/500/250 ms by total rate, lengthened until every channel gets a whole number of
 * samples), and per-wave sources, labels and canonical ids.
 */
import { createWaveSource, type PhysiologyModel, type WaveKind, type WaveSource } from '../physiology/index.js';
import { WAVES } from './codec.js';

export const MAX_WAVES = 8;
export const MAX_SAMPLES_PER_S = 600;

interface WaveSpec {
  kind: WaveKind | null;
  mdc: string;
  label?: number;
}

/**
 * Per DRI wave id: the source kind (null = no such measurement: channel sent as −32767), MDC id
 * (as firmware-profiles/ge maps it, lead/site from the label), label code.
 */
export const WAVE_SPECS: Record<number, WaveSpec> = {
  1: { kind: 'ecg1', mdc: 'MDC_ECG_ELEC_POTL_V', label: 7 },
  2: { kind: 'ecg2', mdc: 'MDC_ECG_ELEC_POTL_II', label: 2 },
  3: { kind: 'ecg3', mdc: 'MDC_ECG_ELEC_POTL_V', label: 7 },
  4: { kind: 'art', mdc: 'MDC_PRESS_BLD_ART', label: 1 },
  5: { kind: 'cvp', mdc: 'MDC_PRESS_BLD_VEN_CENT', label: 2 },
  6: { kind: null, mdc: 'MDC_PRESS_BLD' },
  7: { kind: null, mdc: 'MDC_PRESS_BLD' },
  16: { kind: null, mdc: 'MDC_PRESS_BLD' },
  17: { kind: null, mdc: 'MDC_PRESS_BLD' },
  8: { kind: 'pleth', mdc: 'MDC_PULS_OXIM_PLETH' },
  9: { kind: 'co2', mdc: 'MDC_CONC_AWAY_CO2' },
  10: { kind: 'o2', mdc: 'MDC_CONC_AWAY_O2' },
  11: { kind: 'n2o', mdc: 'MDC_CONC_AWAY_N2O' },
  12: { kind: 'aa', mdc: 'MDC_CONC_AWAY_AGENT' },
  13: { kind: 'awp', mdc: 'MDC_PRESS_AWAY' },
  14: { kind: 'flow', mdc: 'MDC_FLOW_AWAY' },
  15: { kind: 'resp', mdc: 'MDC_IMPED_TTHOR' },
  18: { kind: 'eeg', mdc: 'MDC_X_GE_EEG1_WAVE' },
  19: { kind: 'eeg', mdc: 'MDC_X_GE_EEG2_WAVE' },
  20: { kind: 'eeg', mdc: 'MDC_X_GE_EEG3_WAVE' },
  21: { kind: 'eeg', mdc: 'MDC_X_GE_EEG4_WAVE' },
  23: { kind: 'vol', mdc: 'MDC_VOL_AWAY' },
  32: { kind: 'eeg', mdc: 'MDC_X_GE_ENTROPY_EEG_WAVE' },
};

export interface PlannedWave {
  waveId: number;
  rateHz: number;
  divisor: number;
  unit: string;
  mdc: string;
  label: number;
  perRecord: number; // samples per record = rate × interval
  source: WaveSource | null; // null: the channel carries −32767 (no such measurement)
}

export interface WavePlan {
  intervalMs: number;
  waves: PlannedWave[];
  rejected: { waveId: number; reason: 'unknown' | 'limit' | 'duplicate' }[];
}

/** Record interval for a total rate: ≤ 200/s → 1000 ms, ≤ 400/s → 500 ms, else 250 ms; longer if a channel would get a fraction. */
export function chooseInterval(rates: number[]): number {
  const total = rates.reduce((a, b) => a + b, 0);
  const preferred = total > 400 ? 250 : total > 200 ? 500 : 1000;
  for (const ms of [250, 500, 1000]) {
    if (ms < preferred) continue;
    if (rates.every((r) => Number.isInteger((r * ms) / 1000))) return ms;
  }
  return 1000;
}

export function planWaves(waveIds: number[], ctx: { model: PhysiologyModel; seed: number; dataDir?: string }): WavePlan {
  const rejected: WavePlan['rejected'] = [];
  const chosen: number[] = [];
  let total = 0;
  for (const id of waveIds) {
    const def = WAVES[id];
    if (!def || !WAVE_SPECS[id]) {
      rejected.push({ waveId: id, reason: 'unknown' });
      continue;
    }
    if (chosen.includes(id)) {
      rejected.push({ waveId: id, reason: 'duplicate' });
      continue;
    }
    if (chosen.length >= MAX_WAVES || total + def.rateHz > MAX_SAMPLES_PER_S) {
      rejected.push({ waveId: id, reason: 'limit' });
      continue;
    }
    chosen.push(id);
    total += def.rateHz;
  }
  const intervalMs = chooseInterval(chosen.map((id) => WAVES[id]!.rateHz));
  const waves = chosen.map((id, i): PlannedWave => {
    const def = WAVES[id]!;
    const spec = WAVE_SPECS[id]!;
    return {
      waveId: id,
      rateHz: def.rateHz,
      divisor: def.divisor,
      unit: def.unit,
      mdc: spec.mdc,
      label: spec.label ?? 0,
      perRecord: (def.rateHz * intervalMs) / 1000,
      source: spec.kind
        ? createWaveSource(spec.kind, def.rateHz, { model: ctx.model, seed: ctx.seed, channel: i, ...(ctx.dataDir ? { dataDir: ctx.dataDir } : {}) })
        : null,
    };
  });
  return { intervalMs, waves, rejected };
}
