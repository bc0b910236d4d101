/** sqlite rows of the registry → the public objects, and the stored identity mismatch rule. */
import { identityDifferences } from '../../../schemas/src/device-identity.js';
import type { DeviceConnection } from '../../../schemas/src/gateway-config-doc.js';
import type { Device, Gateway, IdentityMismatch, ReportedIdentity } from './registry-store.js';

export interface GatewayRow {
  id: string;
  bed_id: string;
  credential_hash: string;
  mqtt_hash: string | null;
  last_seen: number | null;
  online: number | null;
  status_json: string | null;
  notes: string | null;
  retired_at: number | null;
  retired_reason: string | null;
  password_revoked_at: number | null;
}
export interface DeviceRow {
  id: string;
  gateway_id: string | null;
  bed_id: string | null;
  vendor: string | null;
  model: string | null;
  serial: string | null;
  firmware: string | null;
  profile: string | null;
  transport: string | null;
  asset_tag: string | null;
  notes: string | null;
  retired_at: number | null;
  retired_reason: string | null;
  reported_identity: string | null;
  identity_mismatch: string | null;
  connection: string | null;
}

const json = <T>(s: string | null, empty: T): T => (s ? (JSON.parse(s) as T) : empty);

/** never the credential columns */
export const toGateway = (r: GatewayRow): Gateway => ({
  id: r.id,
  bedId: r.bed_id,
  notes: r.notes,
  lastSeen: r.last_seen,
  online: r.online === null ? null : r.online === 1,
  status: json<Record<string, unknown> | null>(r.status_json, null),
  retiredAt: r.retired_at,
  retiredReason: r.retired_reason,
  passwordRevokedAt: r.password_revoked_at,
});

export const toDevice = (r: DeviceRow): Device => ({
  id: r.id,
  gatewayId: r.gateway_id,
  bedId: r.bed_id,
  vendor: r.vendor,
  model: r.model,
  serial: r.serial,
  firmware: r.firmware,
  profile: r.profile,
  transport: r.transport,
  assetTag: r.asset_tag,
  notes: r.notes,
  retiredAt: r.retired_at,
  retiredReason: r.retired_reason,
  reportedIdentity: json<ReportedIdentity | null>(r.reported_identity, null),
  identityMismatch: json<IdentityMismatch[]>(r.identity_mismatch, []),
  connection: json<DeviceConnection | null>(r.connection, null),
});

/** device field → column, for the fields PATCH may change */
export const DEVICE_COLUMNS: Record<string, string> = {
  vendor: 'vendor',
  model: 'model',
  serial: 'serial',
  firmware: 'firmware',
  profile: 'profile',
  transport: 'transport',
  assetTag: 'asset_tag',
  notes: 'notes',
};

/**
 * The fields where `reported` differs from the registered values. A mismatch already known with the
 * same registered and reported values keeps its `since`; a new one starts at `now`.
 */
export function mismatchesOf(
  registered: Pick<DeviceRow, 'serial' | 'model' | 'firmware'>,
  reported: ReportedIdentity | null,
  previous: IdentityMismatch[],
  now: number,
): IdentityMismatch[] {
  if (!reported) return [];
  return identityDifferences(registered, reported).map((d) => {
    const same = previous.find((p) => p.field === d.field && p.registered === d.expected && p.reported === d.reported);
    return { field: d.field, registered: d.expected, reported: d.reported, since: same?.since ?? now };
  });
}
