/**
 * GE Datex-Ohmeda S/5 / CARESCAPE Computer Interface (DRI) protocol driver. See README.md.
 */
import type { DeviceProtocol, ProtocolDecoder } from '../protocol.js';
import { GeDriSession } from './session.js';
import { GeDriStreamDecoder, PROTOCOL_NAME } from './stream-decoder.js';

export const geDri: DeviceProtocol<ProtocolDecoder> = {
  name: PROTOCOL_NAME,
  serialDefaults: { baudRate: 19200, dataBits: 8, parity: 'even', stopBits: 1, rtscts: true },
  createDecoder: (opts) => new GeDriStreamDecoder(opts),
  createSession: (opts) => new GeDriSession(opts),
};

export { GeDriStreamDecoder, type GeDriDecoderOptions } from './stream-decoder.js';
export { GeDriSession, resolveSettings, MAX_WAVE_SAMPLES_PER_S } from './session.js';
export { GeDriError, GW_ERR_GE_DRI } from './errors.js';
export { DriFramer } from './framer.js';
export { frameRecord, unframe } from './frame.js';
export { encodePhdbRecord, encodeWaveRecord, type GroupValues } from './encode.js';
export { encodePhdbRequest, encodeWaveRequest, parseRequest, type HostRequest } from './requests.js';
export { PHDB_LAYOUT, WAVES, WAVE_ID, INVALID_LIMIT, type PhdbClass } from './layout.js';
