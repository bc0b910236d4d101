/** What a simulated oximeter put on the wire, in canonical terms (the e2e tests' ground truth). */
export interface OxiProducedNumeric {
  kind: 'numeric';
  mdc: string | null;
  value: number; // the value as printed/encoded (after the wire's quantisation)
  unit: string;
  t: number; // device clock ms (Masimo: the line's time; Nonin: frame clock of the simulator)
  vendorCode: string; // token key (Masimo) or slot name (Nonin), as the gateway's decoder names it
}

export interface OxiProducedWave {
  kind: 'wave';
  mdc: string | null;
  unit: string;
  t0: number;
  rateHz: number;
  samples: number[];
  vendorCode: string;
}

export interface OxiProducedAlarm {
  kind: 'alarm';
  text: string;
  phase: 'start' | 'end';
  t: number;
  vendorCode: string;
}

export type OxiProduced = OxiProducedNumeric | OxiProducedWave | OxiProducedAlarm;
