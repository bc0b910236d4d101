/** What the simulated monitor put on the wire, in canonical terms (the e2e tests' ground truth). */
export interface ProducedNumeric {
  kind: 'numeric';
  mdc: string;
  value: number; // physical value after the wire's quantisation (raw / divisor)
  unit: string; // UCUM
  t: number; // device clock ms (r_time × 1000)
  vendorCode: string; // "<group>.<field>" as the gateway's decoder names it
}

export interface ProducedWave {
  kind: 'wave';
  vendorWaveId: number;
  mdc: string;
  unit: string;
  t0: number; // device clock ms of the first sample
  rateHz: number;
  samples: number[]; // physical, after quantisation (raw / divisor)
}

export type Produced = ProducedNumeric | ProducedWave;

/** raw / divisor without binary noise (the decoder's rounding: 12 significant digits). */
export function physical(raw: number, divisor: number): number {
  return divisor === 1 ? raw : Number((raw / divisor).toPrecision(12));
}
