/**
 * The retained status document published on `.../{gatewayId}/status` (JSON). The LWT publishes
 * a minimal `{ online: false, ... }` for the same topic when the gateway dies without a goodbye.
 * Both shapes are typed from the contract in schemas/src/gateway-status.ts, which ingest checks.
 */
import { readFileSync } from 'node:fs';
import { identityDifferences, type IdentityDifference } from '../../../schemas/src/device-identity.js';
import type { DeviceExpect } from '../../../schemas/src/gateway-config.js';
import {
  STATUS_SCHEMA_VERSION,
  type DeviceStatusDoc,
  type GatewayStatusOffline,
  type GatewayStatusOnline,
  type PublisherStats,
} from '../../../schemas/src/gateway-status.js';
import type { DeviceSessionStatus } from '../session/device-session.js';

// the document's shape is the contract in schemas/src/gateway-status.ts (JSON Schema: schemas/json/)
export const STATUS_SCHEMA = STATUS_SCHEMA_VERSION;
export type { DeviceStatusDoc, PublisherStats };
export type GatewayStatus = GatewayStatusOnline;

let cachedVersion: string | undefined;
export function gatewayVersion(): string {
  if (cachedVersion) return cachedVersion;
  try {
    cachedVersion = String(JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version);
  } catch {
    cachedVersion = '0.0.0';
  }
  return cachedVersion;
}

/** The device's `expect` block against what it reports (empty when nothing is expected or reported). */
export function identityMismatchOf(s: Pick<DeviceSessionStatus, 'identity'>, expect?: DeviceExpect): IdentityDifference[] {
  return expect && s.identity ? identityDifferences(expect, s.identity) : [];
}

export function deviceStatusDoc(s: DeviceSessionStatus, expect?: DeviceExpect): DeviceStatusDoc {
  const d: DeviceStatusDoc = {
    id: s.id,
    protocol: s.protocol,
    link: s.link,
    frames: s.frames,
    errors: s.errors,
    errorsByKind: s.errorsByKind,
    reconnects: s.reconnects,
    watchdogTrips: s.watchdogTrips,
    bytesRx: s.bytesRx,
    bytesTx: s.bytesTx,
  };
  if (s.linkDescription) d.linkDescription = s.linkDescription;
  if (s.profile) d.profile = s.profile;
  if (s.identity?.vendor) d.vendor = s.identity.vendor;
  if (s.identity?.model) d.model = s.identity.model;
  if (s.identity?.firmware) d.firmware = s.identity.firmware;
  if (s.identity?.serial) d.serial = s.identity.serial;
  if (s.clockOffsetMs !== undefined) d.clockOffsetMs = s.clockOffsetMs;
  if (s.lastFrameAt !== undefined) d.lastFrameAt = s.lastFrameAt;
  if (s.lastError) d.lastError = s.lastError;
  const mismatch = identityMismatchOf(s, expect);
  if (mismatch.length) d.identityMismatch = mismatch;
  return d;
}

/** Payload of the MQTT last will (and of the goodbye on a clean stop). */
export function offlineStatus(
  ids: { gatewayId: string; site: string; room: string; bed: string; bootId: string },
  reason: 'lwt' | 'shutdown',
  t?: number,
): string {
  const doc: GatewayStatusOffline = { schemaVersion: STATUS_SCHEMA, online: false, reason, ...ids, version: gatewayVersion(), ...(t ? { t } : {}) };
  return JSON.stringify(doc);
}
