/**
 * Can this gateway run these devices? What the document schema cannot know: the protocol driver
 * exists here, the driver accepts the protocol options, a listener's TLS files are readable.
 * Resolved drivers are added to `protocols`. One message per problem.
 */
import type { DeviceConfig } from '../../../schemas/src/gateway-config.js';
import type { DeviceProtocol } from '../protocols/protocol.js';
import { sessionOptions } from '../session/device-session.js';
import { tcpServerTlsProblems } from '../transports/tcp-server.js';

export async function runnableProblems(
  devices: readonly DeviceConfig[], protocols: Map<string, DeviceProtocol>, resolve: (name: string) => Promise<DeviceProtocol>,
): Promise<string[]> {
  const problems: string[] = [];
  for (const [i, d] of devices.entries()) {
    let proto = protocols.get(d.protocol);
    if (!proto) {
      try { proto = await resolve(d.protocol); protocols.set(d.protocol, proto); } catch (err) {
        problems.push(`/devices/${i}/protocol (${d.id}): ${(err as Error).message}`);
        continue;
      }
    }
    try { proto.createSession(sessionOptions(d)); } catch (err) {
      problems.push(`/devices/${i}/options (${d.id}): ${(err as Error).message}`);
    }
    // paths in a document are absolute (ingest refuses relative ones): the base is only a fallback
    if (d.transport.kind === 'tcp-server') problems.push(...tcpServerTlsProblems(d.transport.tls, `/devices/${i}/transport/tls`, '/'));
  }
  return problems;
}
