/**
 * Protocol registry: name → DeviceProtocol. A new protocol adds one line here. Drivers load lazily
 * so that `orlink decode --protocol X` loads only X.
 */
import type { DeviceProtocol } from './protocol.js';

const LOADERS: Record<string, () => Promise<DeviceProtocol>> = {
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
export async function loadProtocol(name: string): Promise<DeviceProtocol | undefined> {
  const load = LOADERS[name];
  return load ? load() : undefined;
}
