/**
 * Dräger MEDIBUS protocol driver (anaesthesia workstations Atlan, Perseus, Primus, Fabius, Zeus,
 * Apollo). See README.md.
 */
import type { DeviceProtocol, ProtocolDecoder } from '../protocol.js';
import { MedibusSession } from './session.js';
import { MedibusStreamDecoder, PROTOCOL_NAME } from './stream-decoder.js';

export const draegerMedibus: DeviceProtocol<ProtocolDecoder> = {
  name: PROTOCOL_NAME,
  serialDefaults: { baudRate: 9600, dataBits: 8, parity: 'even', stopBits: 1, rtscts: false },
  createDecoder: (opts) => new MedibusStreamDecoder(opts),
  createSession: (opts) => new MedibusSession(opts),
};

export { MedibusStreamDecoder, medibusProfiles, profileFor, PROTOCOL_NAME, VENDOR, type MedibusDecoderOptions } from './stream-decoder.js';
export { MedibusSession, resolveSessionSettings, type MedibusSessionSettings } from './session.js';
export { MedibusError, GW_ERR_MEDIBUS } from './errors.js';
export { MedibusFramer, MAX_FRAME_BYTES, type FramerEvent } from './framer.js';
export { CMD, CR, ESC, SOH, ETX, NAK, checksumHex, encodeCommand, encodeResponse, unframe, type Frame } from './frame.js';
export * from './messages.js';
export {
  parseRtConfig,
  encodeRtConfig,
  parseRtSelection,
  encodeRtSelection,
  encodeRtEnable,
  encodeRtValue,
  RtParser,
  type RtChannelConfig,
  type RtSelection,
  type RtEvent,
} from './realtime.js';
export { rtVendorCode } from './wave-assembler.js';
