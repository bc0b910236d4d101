/** Decoder output before profile mapping: vendor codes, vendor units, device-relative time. */
import type { Flag } from '../../../../schemas/src/observation.js';

export interface VendorNumeric {
  physioId: number;
  context: number;
  handle: number;
  value: number | null;
  /** FLOAT exponent (resolution). */
  exponent: number;
  unitCode: number;
  state: number;
  flags: Flag[];
  label?: string;
  /** Device time, epoch ms, when the monitor's clock is known. */
  tDevice?: number;
}

export interface VendorWave {
  physioId: number;
  context: number;
  handle: number;
  /** Raw samples masked to the significant bits; null when the array is invalid. */
  ints: (number | null)[];
  rateHz: number;
  /** physical = int * scale + offset; undefined when uncalibrated (raw device units). */
  scale?: number;
  offset?: number;
  unitCode?: number;
  state: number;
  flags: Flag[];
  label?: string;
  t0Device?: number;
  /**
   * Set on a block that arrived before its object's static attributes and was held until they came
   * (decoder.ts, HELD_WAVE_*): `rxMs` is when the block itself was received.
   */
  held?: { rxMs: number | undefined };
}

export interface VendorAlarm {
  code: number;
  source: number;
  type: number;
  state: number;
  textId?: number;
  text: string;
  tDevice?: number;
  phase: 'start' | 'end';
}

export type SessionEvent =
  | { kind: 'associated' }
  | { kind: 'refused' }
  | { kind: 'released' }
  | { kind: 'release-request' }
  | { kind: 'aborted' }
  | { kind: 'associate-request' }
  | { kind: 'mds-create'; invokeId: number; eventTime: number }
  | { kind: 'connect-indication'; model?: string; announce?: ConnectInfo }
  | { kind: 'roer'; invokeId: number; errorValue: number }
  | { kind: 'poll-result'; invokeId: number; pollNumber: number; objType: number; parts: number }
  | { kind: 'get-result'; invokeId: number }
  | { kind: 'set-result'; invokeId: number }
  | { kind: 'request'; invokeId: number; command: number };

/** What a Connect Indication tells about the monitor (README §Discovery). */
export interface ConnectInfo {
  model?: string;
  serial?: string;
  firmware?: string;
  ip?: string;
  mac?: string;
  /** UDP port of the Data Export protocol (AP_ID_DATA_OUT over TP_ID_UDP), normally 24105. */
  dataExportPort?: number;
  wireless?: boolean;
}

export interface DecodedMessage {
  events: SessionEvent[];
  numerics: VendorNumeric[];
  waves: VendorWave[];
  alarms: VendorAlarm[];
}
