/** HL7 v2 ORU^R01 over MLLP (IHE PCD-01 and vendor variants) protocol driver. See README.md. */
import type { DeviceProtocol, ProtocolDecoder } from '../protocol.js';
import { pdsAnnouncements } from './pds-discovery.js';
import { Hl7Session } from './session.js';
import { Hl7StreamDecoder, PROTOCOL_NAME } from './stream-decoder.js';

export const hl7Mllp: DeviceProtocol<ProtocolDecoder> = {
  name: PROTOCOL_NAME,
  // Serial MLLP is rare (some central stations over RS-232); LAN is the normal transport.
  serialDefaults: { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false },
  createDecoder: (opts) => new Hl7StreamDecoder(opts),
  createSession: (opts) => new Hl7Session(opts),
  // Mindray PDS monitors announce themselves (UDP 4600)
  discovery: pdsAnnouncements,
};

export { Hl7StreamDecoder, hl7Profiles, PROTOCOL_NAME, type Hl7DecoderOptions } from './stream-decoder.js';
export { Hl7Session, resolveOptions } from './session.js';
export { Hl7Error, GW_ERR_HL7 } from './errors.js';
export { MllpFramer, mllpWrap, VT, FS, CR } from './mllp.js';
export {
  parseHl7,
  unescapeHl7,
  escapeHl7,
  comp,
  comps,
  segment,
  decodeText,
  Hl7ParseError,
  DEFAULT_SEPS,
  type Hl7Message,
  type Segment,
  type Separators,
} from './hl7.js';
export { parseHl7Time, formatHl7Time, formatHl7LocalTime, checkTimeZone } from './hl7-time.js';
export { ackCode, buildAck, type AckCode } from './ack.js';
export { decodeOru, codeKey, unitOf } from './oru.js';
export { hl7Settings, identifyProfile, GENERIC_PROFILE_ID, type Hl7Settings } from './settings.js';
export { parseConnectIndication, pdsAnnouncements, PDS_DISCOVERY_PORT, type PdsAnnouncement } from './pds-discovery.js';
