/** Default link factory: a serial port or a TCP client, chosen by `transport.kind`. */
import type { TransportConfig } from '../../../schemas/src/gateway-config.js';
import type { DeviceProtocol } from '../protocols/protocol.js';
import type { Link, LinkContext, LinkFactory } from './link.js';
import { SerialLink, serialSettings } from './serial.js';
import { TcpLink } from './tcp.js';
import { TcpServerLink } from './tcp-server.js';
import { UdpLink } from './udp.js';

export type { Link, LinkFactory, LinkCloseInfo, LinkEvents, LinkContext } from './link.js';
export { SerialLink, TcpLink, TcpServerLink, UdpLink, serialSettings };
export { listSerialPorts } from './serial.js';

export const createLink: LinkFactory = (transport: TransportConfig, protocol: DeviceProtocol, ctx?: LinkContext): Link =>
  transport.kind === 'serial' ? new SerialLink(serialSettings(transport, protocol.serialDefaults))
    : transport.kind === 'tcp-server' ? new TcpServerLink(transport, ctx)
      : transport.kind === 'intellivue-lan' ? new UdpLink({ host: transport.host, port: transport.port ?? 24105, ...(transport.localPort !== undefined ? { localPort: transport.localPort } : {}) }) : new TcpLink(transport);
