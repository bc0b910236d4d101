/** Masimo Radical-7 / Rad-8 / Radical-5 / Root "ASCII 1" serial output driver. See README.md. */
import type { DeviceProtocol, ProtocolDecoder } from '../protocol.js';
import { MasimoSession } from './session.js';
import { MasimoStreamDecoder, PROTOCOL_NAME } from './stream-decoder.js';

export const masimo: DeviceProtocol<ProtocolDecoder> = {
  name: PROTOCOL_NAME,
  serialDefaults: { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false },
  createDecoder: (opts) => new MasimoStreamDecoder(opts),
  createSession: (opts) => new MasimoSession(opts),
};

export { MasimoStreamDecoder, masimoProfiles, type MasimoDecoderOptions } from './stream-decoder.js';
export { MasimoSession } from './session.js';
export { LineFramer, DEFAULT_MAX_LINE_BYTES } from './line-framer.js';
export { parseLine, parseValue, parseHex, encodeLine, formatValue, formatDeviceTime, type TokenFormat } from './line.js';
export { MasimoDecoder, modelFromKeys, EXC_BITS, EXC_SET_MODE, DEFAULT_POLICY } from './decoder.js';
export { BitAlarmTracker, type BitDef } from './bit-alarms.js';
