/**
 * Philips IntelliVue Data Export protocol driver (LAN UDP 24105 and MIB/RS-232). See README.md.
 */
import type { DeviceProtocol, ProtocolDecoder } from '../protocol.js';
import { connectIndications } from './discovery.js';
import { intelliVueLanTransport } from './transports.js';
import { IntelliVueSession } from './session.js';
import { IntelliVueStreamDecoder, PROTOCOL_NAME } from './stream-decoder.js';

export const philipsIntelliVue: DeviceProtocol<ProtocolDecoder> = {
  name: PROTOCOL_NAME,
  serialDefaults: { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false },
  createDecoder: (opts) => new IntelliVueStreamDecoder(opts),
  createSession: (opts) => new IntelliVueSession(opts),
  discovery: connectIndications,
  /** beside the neutral kinds (serial, tcp, tcp-server, udp): the monitor's LAN port */
  transports: { 'intellivue-lan': intelliVueLanTransport },
};

export { IntelliVueStreamDecoder, intelliVueProfiles, PROTOCOL_NAME, type Framing, type IntelliVueDecoderOptions } from './stream-decoder.js';
export { IntelliVueSession, resolveSettings, type IntelliVueSettings, type SessionState } from './session.js';
export { IntelliVueDecoder, stateFlags } from './decoder.js';
export { IntelliVueError, GW_ERR_INTELLIVUE } from './errors.js';
export { MibFramer } from './framer.js';
export { fcs16, frameMessage, frameBytes, stuff } from './fcs.js';
export { decodeFloat, encodeFloat } from './float.js';
export * from './requests.js';
export * from './nomenclature.js';
export { connectIndications, parseConnectIndication, CONNECT_INDICATION_PORT } from './discovery.js';
export type { ConnectInfo, SessionEvent } from './vendor-types.js';
export { intelliVueLanTransport, IntelliVueLanTransportSchema, INTELLIVUE_LAN_PORT, type IntelliVueLanTransportConfig } from './transports.js';
