/**
 * Gateway status documents for tests that need "a gateway's status" without running a gateway:
 * built with the gateway's own pieces (gateway/src/status/gateway-status.ts: device entries, last
 * will/goodbye) and typed by the contract (schemas/src/gateway-status.ts), so they cannot drift from
 * what a gateway sends. Tests that must show the real thing end to end start a gateway instead
 * (test/contract/gateway-status.test.ts).
 */
import type { GatewayStatusOffline, GatewayStatusOnline, OutboxStatus } from '../../schemas/src/gateway-status.js';
import type { DeviceSessionStatus } from '../../gateway/src/session/device-session.js';
import { deviceStatusDoc, gatewayVersion, offlineStatus, STATUS_SCHEMA } from '../../gateway/src/status/gateway-status.js';

export interface StatusIds {
  gatewayId: string;
  site: string;
  room: string;
  bed: string;
  bootId?: string;
}

export interface OnlineOptions {
  /** device sessions as the gateway sees them (default: one streaming monitor `mon1`) */
  devices?: DeviceSessionStatus[];
  /** outbox depth and counters (default: empty memory outbox) */
  outbox?: Partial<OutboxStatus>;
  t?: number;
}

export const streamingDevice = (id = 'mon1', over: Partial<DeviceSessionStatus> = {}): DeviceSessionStatus => ({
  id,
  protocol: 'ge-dri',
  link: 'streaming',
  frames: 10,
  errors: 0,
  errorsByKind: {},
  observations: 30,
  reconnects: 0,
  watchdogTrips: 0,
  bytesRx: 4096,
  bytesTx: 64,
  ...over,
});

/** The full document (`online: true`) of a gateway at `ids`. */
export function onlineStatus(ids: StatusIds, o: OnlineOptions = {}): GatewayStatusOnline {
  const t = o.t ?? Date.now();
  return {
    schemaVersion: STATUS_SCHEMA,
    online: true,
    gatewayId: ids.gatewayId,
    site: ids.site,
    room: ids.room,
    bed: ids.bed,
    bootId: ids.bootId ?? 'boot-test',
    version: gatewayVersion(),
    startedAt: t - 60_000,
    t,
    devices: (o.devices ?? [streamingDevice()]).map((d) => deviceStatusDoc(d)),
    outbox: {
      kind: 'memory',
      records: 0,
      bytes: 0,
      appended: 0,
      acked: 0,
      droppedRecords: 0,
      droppedReadings: 0,
      droppedBytes: 0,
      rejectedTooLarge: 0,
      truncatedBytes: 0,
      corruptSegments: 0,
      ...o.outbox,
    },
    mqtt: { connected: true, connects: 1, published: 0, acked: 0, resent: 0 },
    batcher: { envelopes: 0, observations: 0, droppedObservations: 0, appendErrors: 0, splits: 0, clockJumps: 0 },
  };
}

/** The last will (`lwt`) or goodbye (`shutdown`) exactly as the gateway writes it. */
export function offlineStatusDoc(ids: StatusIds, reason: 'lwt' | 'shutdown' = 'lwt', t?: number): GatewayStatusOffline {
  return JSON.parse(offlineStatus({ ...ids, bootId: ids.bootId ?? 'boot-test' }, reason, t)) as GatewayStatusOffline;
}
