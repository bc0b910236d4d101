export { VITALS, VITAL_KEYS, AGENTS, N2O_MAC, type VitalKey, type VitalDef, type Agent } from './canonical.js';
export { PhysiologyModel, type PhysiologyOptions, type VitalsSnapshot } from './vitals-model.js';
export { NumericTrend, S00001_SIGNALS, S00001_NUMERICS, type TrendOptions } from './trend.js';
export { RecordedLoop, makeLoop, robustRange } from './recorded-loop.js';
export { recording, defaultDataDir, type Recording, type RecordingName } from './recordings.js';
export { createWaveSource, expShape, type WaveKind, type WaveSource, type WaveContext } from './waveforms.js';
export { Rng, hashSeed } from './random.js';
