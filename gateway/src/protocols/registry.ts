/**
 * Protocol registry: name → DeviceProtocol. A new protocol adds one line here. Drivers load lazily
 * so that `orlink decode --protocol X` loads only X.
 */
import type { DeviceProtocol, ProtocolDecoder, StreamDecoder } from './protocol.js';

const LOADERS: Record<string, () => Promise<DeviceProtocol<ProtocolDecoder>>> = {
  'ge-dri': async () => (await import('./ge-dri/index.js')).geDri,
  'draeger-medibus': async () => (await import('./draeger-medibus/index.js')).draegerMedibus,
  'philips-intellivue': async () => (await import('./philips-intellivue/index.js')).philipsIntelliVue,
  'hl7-mllp': async () => (await import('./hl7-mllp/index.js')).hl7Mllp,
  masimo: async () => (await import('./masimo/index.js')).masimo,
  nonin: async () => (await import('./nonin/index.js')).nonin,
};

export function protocolNames(): string[] {
  return Object.keys(LOADERS).sort();
}

/** undefined when no protocol of that name is registered. */
export async function loadProtocol(name: string): Promise<DeviceProtocol<ProtocolDecoder> | undefined> {
  const load = LOADERS[name];
  return load ? load() : undefined;
}

/**
 * `p` with `profilesDir` (the gateway config's) as the default of every decoder and session it
 * makes; `p` itself when no folder is configured (firmware-profiles/ of the package).
 */
export function withProfilesDir<D extends StreamDecoder>(p: DeviceProtocol<D>, profilesDir?: string): DeviceProtocol<D> {
  if (!profilesDir) return p;
  return {
    name: p.name,
    serialDefaults: p.serialDefaults,
    ...(p.discovery ? { discovery: p.discovery } : {}),
    ...(p.transports ? { transports: p.transports } : {}),
    profilesDir,
    createDecoder: (opts) => p.createDecoder({ profilesDir, ...opts }),
    createSession: (opts) => p.createSession({ profilesDir, ...opts }),
  };
}
