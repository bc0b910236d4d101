/**
 * The `intellivue-lan` transport kind, declared by this protocol (DeviceProtocol.transports): Data
 * Export over UDP, one datagram = one message, sent to the monitor's port 24105 unless `port` says
 * otherwise. The socket is the vendor-neutral datagram link gateway/src/transports/udp.ts; only the
 * kind, its schema and the default port are Philips'.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { ProtocolTransport } from '../protocol.js';
import { UdpLink } from '../../transports/udp.js';

/** UDP port of Data Export on the monitor (PIPG; seen on real captures) */
export const INTELLIVUE_LAN_PORT = 24105;

export const IntelliVueLanTransportSchema = Type.Object(
  {
    kind: Type.Literal('intellivue-lan'),
    host: Type.String({ minLength: 1 }),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    /** Local UDP port to bind (default: any). */
    localPort: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  },
  { additionalProperties: false },
);

export type IntelliVueLanTransportConfig = Static<typeof IntelliVueLanTransportSchema>;

export const intelliVueLanTransport: ProtocolTransport = {
  schema: IntelliVueLanTransportSchema,
  create: (transport) => {
    const t = transport as IntelliVueLanTransportConfig;
    return new UdpLink({ host: t.host, port: t.port ?? INTELLIVUE_LAN_PORT, ...(t.localPort !== undefined ? { localPort: t.localPort } : {}) });
  },
};
