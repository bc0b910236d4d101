/**
 * Default link factory, by `transport.kind`: the vendor-neutral kinds (serial, tcp, tcp-server)
 * are built here; any other kind is looked up in the device's protocol (`DeviceProtocol.transports`,
 * e.g. `intellivue-lan` of the Philips protocol, a UdpLink of udp.ts with its default port).
 */
import type { AnyTransportConfig, SerialTransportConfig, TcpServerTransportConfig, TcpTransportConfig } from '../../../schemas/src/gateway-config.js';
import type { DeviceProtocol } from '../protocols/protocol.js';
import { profileLink } from '../profiles/link.js';
import { GatewayError, GW_ERR } from '../errors.js';
import type { Link, LinkContext, LinkFactory } from './link.js';
import { SerialLink, serialSettings } from './serial.js';
import { TcpLink } from './tcp.js';
import { TcpServerLink } from './tcp-server.js';
import { UdpLink } from './udp.js';

export type { Link, LinkFactory, LinkCloseInfo, LinkEvents, LinkContext } from './link.js';
export { SerialLink, TcpLink, TcpServerLink, UdpLink, serialSettings };
export { listSerialPorts } from './serial.js';

export const createLink: LinkFactory = (transport: AnyTransportConfig, protocol: DeviceProtocol, ctx?: LinkContext): Link => {
  switch (transport.kind) {
    case 'serial': {
      // unset settings: the device's profile's `link` (an explicit profile only: `auto` is known after identification), else serialDefaults
      const link = profileLink(protocol.name, ctx?.profileId, ctx?.profilesDir ?? protocol.profilesDir);
      return new SerialLink(serialSettings(transport as SerialTransportConfig, protocol.serialDefaults, link));
    }
    case 'tcp':
      return new TcpLink(transport as TcpTransportConfig);
    case 'tcp-server':
      return new TcpServerLink(transport as TcpServerTransportConfig, ctx);
    default: {
      const own = protocol.transports && Object.hasOwn(protocol.transports, transport.kind) ? protocol.transports[transport.kind] : undefined;
      // config load refuses such a device (config.ts, config-sync/runnable.ts): reached only by a programmatic caller
      if (!own) throw new GatewayError(GW_ERR.CONFIG, 'fatal', `transport kind '${transport.kind}' is not one of protocol '${protocol.name}'`);
      return own.create(transport, ctx);
    }
  }
};
