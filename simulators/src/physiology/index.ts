export { VITALS, VITAL_KEYS, AGENTS, N2O_MAC, type VitalKey, type VitalDef, type Agent } from './canonical.js';
export { PhysiologyModel, type PhysiologyOptions, type VitalsSnapshot } from './vitals-model.js';
export { EventTimeline, checkEvents, type PhysioEvent, type InductionEvent, type DesaturationEvent } from './events.js';
export { NumericTrend, S00001_SIGNALS, S00001_NUMERICS, type TrendOptions } from './trend.js';
export { RecordedLoop, makeLoop, robustRange } from './recorded-loop.js';
export { recording, configuredDataDir, requireDataDir, PHYSIONET_ENV, type Recording, type RecordingName } from './recordings.js';
export { createWaveSource, expShape, SYNTHETIC_ECG_LEADS, type WaveKind, type WaveSource, type WaveContext } from './waveforms.js';
export { Rhythm, rhythmOf, HRV, RESP_COUPLING, type Beat, type Breath } from './rhythm.js';
export { SyntheticEcg, ecgTiming } from './synthetic-ecg.js';
export { SyntheticArterial, SyntheticPleth, PULSE_DELAY_MS } from './synthetic-pulse.js';
export { SyntheticResp, lungVolume } from './synthetic-resp.js';
export { ECG_LEADS, leadAxis, waveAmplitudes, type EcgLead } from './ecg-leads.js';
export { Rng, hashSeed, hashUnit, hashNoise } from './random.js';
export {
  ArtifactInjector,
  artifactSchedule,
  ARTIFACT_KINDS,
  ARTIFACT_RECOVERY_S,
  type ArtifactKind,
  type ArtifactSpec,
  type ArtifactSpan,
} from './artifacts.js';
