/**
 * The retained status document published on `.../{gatewayId}/status` (JSON). The LWT publishes
 * a minimal `{ online: false, ... }` for the same topic when the gateway dies without a goodbye.
 */
import { readFileSync } from 'node:fs';
import { identityDifferences, type IdentityDifference } from '../../../schemas/src/device-identity.js';
import type { LinkState } from '../../../schemas/src/envelope.js';
import type { DeviceExpect } from '../../../schemas/src/gateway-config.js';
import type { DeviceSessionStatus } from '../session/device-session.js';
import type { OutboxDepth, OutboxStats } from '../outbox/outbox.js';
import type { BatcherStats } from '../batch/batcher.js';

export const STATUS_SCHEMA = 1;

export interface DeviceStatusDoc {
  id: string;
  protocol: string;
  link: LinkState;
  linkDescription?: string;
  profile?: string;
  vendor?: string;
  model?: string;
  firmware?: string;
  serial?: string;
  clockOffsetMs?: number;
  frames: number;
  errors: number;
  errorsByKind: Record<string, number>;
  reconnects: number;
  watchdogTrips: number;
  bytesRx: number;
  bytesTx: number;
  lastFrameAt?: number;
  lastError?: string;
  /** the fields where the device reports something else than the config's `expect` (absent: none) */
  identityMismatch?: IdentityDifference[];
}

export interface PublisherStats {
  connected: boolean;
  connects: number;
  published: number;
  acked: number;
  resent: number;
  /** outbox records above mqtt.maxEnvelopeBytes dropped unsent (the broker would close the connection on each try) */
  droppedTooLarge?: number;
  lastPublishAt?: number;
  lastAckAt?: number;
  lastError?: string;
}

export interface GatewayStatus {
  schema: number;
  online: boolean;
  gatewayId: string;
  site: string;
  room: string;
  bed: string;
  version: string;
  bootId: string;
  startedAt: number;
  t: number;
  devices: DeviceStatusDoc[];
  outbox: OutboxDepth & OutboxStats & { kind: string };
  mqtt: PublisherStats;
  batcher: BatcherStats;
}

let cachedVersion: string | undefined;
export function gatewayVersion(): string {
  if (cachedVersion) return cachedVersion;
  try {
    cachedVersion = String(JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version);
  } catch { cachedVersion = '0.0.0'; }
  return cachedVersion;
}

/** The device's `expect` block against what it reports (empty when nothing is expected or reported). */
export function identityMismatchOf(s: Pick<DeviceSessionStatus, 'identity'>, expect?: DeviceExpect): IdentityDifference[] {
  return expect && s.identity ? identityDifferences(expect, s.identity) : [];
}

export function deviceStatusDoc(s: DeviceSessionStatus, expect?: DeviceExpect): DeviceStatusDoc {
  const d: DeviceStatusDoc = {
    id: s.id, protocol: s.protocol, link: s.link, frames: s.frames, errors: s.errors, errorsByKind: s.errorsByKind,
    reconnects: s.reconnects, watchdogTrips: s.watchdogTrips, bytesRx: s.bytesRx, bytesTx: s.bytesTx,
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
export function offlineStatus(ids: { gatewayId: string; site: string; room: string; bed: string; bootId: string }, reason: 'lwt' | 'shutdown', t?: number): string {
  return JSON.stringify({ schema: STATUS_SCHEMA, online: false, reason, ...ids, version: gatewayVersion(), ...(t ? { t } : {}) });
}
