/** Nonin pulse oximeters, serial data formats 2, 7 and 8. See README.md. */
import type { DeviceProtocol, ProtocolDecoder } from '../protocol.js';
import { NoninSession } from './session.js';
import { NoninStreamDecoder, PROTOCOL_NAME } from './stream-decoder.js';

export const nonin: DeviceProtocol<ProtocolDecoder> = {
  name: PROTOCOL_NAME,
  serialDefaults: { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false },
  createDecoder: (opts) => new NoninStreamDecoder(opts),
  createSession: (opts) => new NoninSession(opts),
};

export { NoninStreamDecoder, noninProfiles, profileFormat, profileForFormat, type NoninDecoderOptions } from './stream-decoder.js';
export { AutoFormat, DETECT_BUDGET } from './auto-format.js';
export { ProofTracker, PROOF_FRAMES_8, PROOF_SPAN, type Proof } from './detect.js';
export { NoninFormatDecoder } from './format-decoder.js';
export { GW_ERR_NONIN, NoninError } from './errors.js';
export { NoninSession } from './session.js';
export { NoninFramer } from './framer.js';
export { NoninDecoder, DEFAULT_STATUS_POLICY, STATUS_BITS } from './decoder.js';
export * from './frame.js';
export { encodePacket, encodeSecond, type NoninValues } from './encode.js';
