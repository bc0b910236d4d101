/**
 * Mindray PDS discovery: monitors broadcast an MLLP-wrapped ADT^A01 "connect indication"
 * (MSH-10 = 101) on UDP (4600; central/gateway 4679) whose PV1-3 carries the monitor's IP and
 * TCP port. `parseConnectIndication` reads one datagram; pure parsing, the listening socket is
 * gateway/src/discovery/ (`firstAnnouncement(pdsAnnouncements, …)`).
 */
import type { DiscoverySpec } from '../protocol.js';
import { comp, comps, parseHl7 } from './hl7.js';
import { MllpFramer } from './mllp.js';

export interface PdsAnnouncement {
  host: string;
  port: number;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export function parseConnectIndication(datagram: Uint8Array): PdsAnnouncement | undefined {
  const framer = new MllpFramer({ maxBytes: 8192 });
  const payloads = framer.push(datagram);
  for (const p of payloads.length ? payloads : [Buffer.from(datagram)]) {
    try {
      const m = parseHl7(p);
      if (comp(m, m.segments[0], 9) !== 'ADT') continue;
      const pv1 = m.segments.find((s) => s.id === 'PV1');
      // PV1-3 components/subcomponents: take the first IPv4 address and the port after it.
      const parts = comps(m, pv1, 3)
        .flatMap((c) => c.split(m.seps.subcomponent))
        .filter(Boolean);
      const i = parts.findIndex((x) => IPV4.test(x));
      const port = Number(parts[i + 1]);
      if (i >= 0 && Number.isInteger(port) && port > 0 && port < 65536) return { host: parts[i], port };
    } catch {
      // not HL7: ignored (counted by the caller as 'bad-announcement' if it wants)
    }
  }
  return undefined;
}

export const PDS_DISCOVERY_PORT = 4600;

export const pdsAnnouncements: DiscoverySpec<PdsAnnouncement> = {
  port: PDS_DISCOVERY_PORT,
  parse: parseConnectIndication,
  key: (a) => `${a.host}:${a.port}`,
};
