/** Public API of the simulators area (what tests and `orlink demo` use). */
export { GeDriSimulator, type GeDriSimulatorOptions, type SimStats } from './ge-dri/simulator.js';
export type { Produced, ProducedNumeric, ProducedWave } from './ge-dri/truth.js';
export { ManualClock, realClock, type SimClock } from './ge-dri/clock.js';
export { faultPreset, FAULT_NAMES, type FaultOptions, type FaultName } from './ge-dri/faults.js';
export { TestHost } from './ge-dri/test-host.js';
export { openPtyPair, openSerialLink, closeSerialLink, TcpDeviceServer, memoryLinkPair, type PtyPair } from './link/index.js';
export { serveSerial, type SerialService } from './serve-serial.js';
export { PhysiologyModel, NumericTrend, type PhysiologyOptions, type VitalKey } from './physiology/index.js';
export { SimError, SIM_ERR } from './errors.js';
export { run } from './main.js';
export { GeDriReplay, loadCapture, captureBytes } from './ge-dri/replay.js';
export { parseScenario, loadScenario, type Scenario } from './scenario.js';
