/**
 * The transport kinds every registered protocol declares (`DeviceProtocol.transports`), read once
 * when this module loads (it loads every protocol of gateway/src/protocols/registry.ts), so that the
 * synchronous config load (gateway/src/config.ts) and the registry document check
 * (schemas/src/gateway-config-doc.ts, registered below) can check a device's transport against its
 * protocol. Imported by the gateway's config: `orlink decode` does not pay for it.
 */
import type { TSchema } from '@sinclair/typebox';
import type { ProtocolTransport } from '../protocols/protocol.js';
import { registerProtocolTransports } from '../../../schemas/src/gateway-config.js';
import { loadProtocol, protocolNames } from '../protocols/registry.js';

const DECLARED: ReadonlyMap<string, Readonly<Record<string, ProtocolTransport>>> = new Map(
  await Promise.all(protocolNames().map(async (name) => [name, (await loadProtocol(name))?.transports ?? {}] as const)),
);

// the shared config checks (schemas/src/gateway-config.ts) of this process: the registry document too
registerProtocolTransports((name) => protocolTransportSchemas(declaredTransports(name)));

/** The kinds protocol `name` declares ({} for a protocol that declares none or is not registered). */
export function declaredTransports(name: string): Readonly<Record<string, ProtocolTransport>> {
  return DECLARED.get(name) ?? {};
}

/** Their schemas, by kind: what the config checks take (transportProblems, schemas/src/gateway-config.ts). */
export function protocolTransportSchemas(transports: Readonly<Record<string, ProtocolTransport>> | undefined): Record<string, TSchema> {
  return Object.fromEntries(Object.entries(transports ?? {}).map(([kind, t]) => [kind, t.schema]));
}
