/** What the simulated IntelliVue put on the wire, in canonical terms (ground truth for e2e tests). */
export interface ProducedNumeric {
  kind: 'numeric';
  vendorCode: string; // physio id as the gateway's profiles key it, "0x4182"
  value: number; // quantised to the FLOAT exponent sent
  unit: string; // UCUM of the unit code sent
  t: number; // device clock ms (at the wire's 125 µs resolution)
  demo: boolean;
}

export interface ProducedWave {
  kind: 'wave';
  vendorCode: string;
  unit: string;
  t0: number; // device clock ms of the first sample
  rateHz: number;
  samples: number[]; // physical values the decoder computes from the ints sent
}

export type Produced = ProducedNumeric | ProducedWave;

/** The association response (AARE) of the real MP20 capture (MPSimulator packets.py), unchanged. */
export const AARE = Buffer.from(
  '0ece0508130100160102800014020002c1be3180a0808001010000a280a003000001a58030808001008102510100003080800100810c2a8648ce14020100000002010000000061803080020101a0806180a180060c2a8648ce14020100000003010000a203020100a305a103020100be80288002010281488000000040000000000000000080000080000000000000000001002c000100288000000000000fa0000005b0000005b0ffffffff600000000001000cf00100088e0000000000000000000000000000000000000000000000',
  'hex',
);
