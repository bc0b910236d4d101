/**
 * Can this gateway run these devices? What the document schema cannot know: the protocol driver
 * exists here, the driver accepts the protocol options, a transport kind the protocol declares
 * (DeviceProtocol.transports) is one of it and valid, a listener's TLS files are readable.
 * Resolved drivers are added to `protocols`. One message per problem.
 */
import { NEUTRAL_TRANSPORT_KINDS, transportProblems, type DeviceConfig } from '../../../schemas/src/gateway-config.js';
import { protocolTransportSchemas } from '../transports/declared.js';
import type { DeviceProtocol } from '../protocols/protocol.js';
import { sessionOptions } from '../session/device-session.js';
import { tcpServerTlsProblems } from '../transports/tcp-server.js';

export async function runnableProblems(
  devices: readonly DeviceConfig[],
  protocols: Map<string, DeviceProtocol>,
  resolve: (name: string) => Promise<DeviceProtocol>,
): Promise<string[]> {
  const problems: string[] = [];
  for (const [i, d] of devices.entries()) {
    let proto = protocols.get(d.protocol);
    if (!proto) {
      try {
        proto = await resolve(d.protocol);
        protocols.set(d.protocol, proto);
      } catch (err) {
        problems.push(`/devices/${i}/protocol (${d.id}): ${(err as Error).message}`);
        continue;
      }
    }
    try {
      proto.createSession(sessionOptions(d));
    } catch (err) {
      problems.push(`/devices/${i}/options (${d.id}): ${(err as Error).message}`);
    }
    // a kind beside the neutral ones must be one the device's protocol declares (the resolved one: a protocol
    // given to startGateway is not in the registry), valid against its schema
    if (!NEUTRAL_TRANSPORT_KINDS.includes(d.transport.kind)) {
      problems.push(...transportProblems(d.transport, `/devices/${i}/transport`, d.protocol, protocolTransportSchemas(proto.transports)));
    }
    // paths in a document are absolute (ingest refuses relative ones): the base is only a fallback
    if (d.transport.kind === 'tcp-server') problems.push(...tcpServerTlsProblems(d.transport.tls, `/devices/${i}/transport/tls`, '/'));
  }
  return problems;
}
