/**
 * IntelliVue Connect Indications (UDP, port 24005 on a real network; monitors announce to
 * multicast 224.0.23.63 or a subnet broadcast): one datagram → model, serial, SW revision, IP/MAC
 * and the Data Export port. Pure parsing; the listening socket is gateway/src/discovery/.
 */
import type { DiscoverySpec } from '../protocol.js';
import { IntelliVueDecoder } from './decoder.js';
import type { ConnectInfo } from './vendor-types.js';

export const CONNECT_INDICATION_PORT = 24005;

/** One datagram → what the monitor announces, or undefined (not a Connect Indication). */
export function parseConnectIndication(datagram: Buffer): ConnectInfo | undefined {
  try {
    const ev = new IntelliVueDecoder().decode(datagram).events.find((e) => e.kind === 'connect-indication');
    return ev?.kind === 'connect-indication' ? ev.announce : undefined;
  } catch {
    return undefined;
  }
}

export const connectIndications: DiscoverySpec<ConnectInfo> = {
  port: CONNECT_INDICATION_PORT,
  parse: parseConnectIndication,
  key: (a, from) => `${from}|${a.serial ?? a.mac ?? ''}`,
};
