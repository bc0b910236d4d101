/** The registry boundary (sites, rooms, beds, gateways, devices). Implementation: sqlite-registry.ts. */
import type { IdentityField } from '../../../schemas/src/device-identity.js';
import type { DeviceConnection } from '../../../schemas/src/gateway-config-doc.js';

export interface Site {
  id: string;
  name: string;
}
export interface Room {
  id: string;
  siteId: string;
  name: string;
}
export interface Bed {
  id: string;
  roomId: string;
  siteId: string;
  name: string;
}
export interface Gateway {
  id: string;
  bedId: string;
  notes: string | null;
  lastSeen: number | null;
  online: boolean | null;
  status: Record<string, unknown> | null;
  /** retired: kept for history, may no longer log in */
  retiredAt: number | null;
  retiredReason: string | null;
  /** the password was revoked: no password works until a new one is set */
  passwordRevokedAt: number | null;
}
/** What a device last reported about itself in its gateway's status (docs/api.md, identity check). */
export interface ReportedIdentity {
  vendor?: string;
  model?: string;
  serial?: string;
  firmware?: string;
  gatewayId: string;
  at: number;
}
/** One field where the device reports something else than the registry holds, since `since`. */
export interface IdentityMismatch {
  field: IdentityField;
  registered: string;
  reported: string;
  since: number;
}
export interface Device {
  id: string;
  gatewayId: string | null;
  bedId: string | null;
  vendor: string | null;
  model: string | null;
  serial: string | null;
  firmware: string | null;
  profile: string | null;
  transport: string | null;
  assetTag: string | null;
  notes: string | null;
  retiredAt: number | null;
  retiredReason: string | null;
  reportedIdentity: ReportedIdentity | null;
  identityMismatch: IdentityMismatch[];
  /** what its gateway runs for it (protocol, transport, options…; schemas/src/gateway-config-doc.ts); null: not configured */
  connection: DeviceConnection | null;
}
/** The fields `PATCH /devices/:id` may change; null clears a field. */
export type DevicePatch = Partial<Pick<Device, 'vendor' | 'model' | 'serial' | 'firmware' | 'profile' | 'transport' | 'assetTag' | 'notes'>>;
/** A gateway's broker account for an external broker's password/ACL files (`orlink mqtt-auth`). */
export interface MqttCredential {
  location: GatewayLocation;
  mosquittoHash: string | null;
}
/** Where a gateway publishes: the topic segments after the prefix. */
export interface GatewayLocation {
  site: string;
  room: string;
  bed: string;
  gatewayId: string;
}
/** Where readings are stored: the series tags of a bed. */
export interface BedLocation {
  site: string;
  room: string;
  bed: string;
}

/** What the ingest hot path needs to know about a gateway (cached by binding-cache.ts). */
export interface GatewayBinding {
  location: GatewayLocation;
  retiredAt: number | null;
}
/** What the ingest hot path needs to know about a registered device (cached by binding-cache.ts). */
export interface DeviceBinding {
  id: string;
  gatewayId: string | null;
  /** the device's own bed, null when it has none (its readings then go to the gateway's bed) */
  bed: BedLocation | null;
  retiredAt: number | null;
  retiredReason: string | null;
}

/** The result of an update: the changed fields only, before and after (for the audit log). */
export interface Changes {
  before: Record<string, unknown>;
  after: Record<string, unknown>;
}

/** Emitted after every change of the registry's bindings and credentials (not for status or identity reports). */
export type RegistryChange =
  | { entity: 'gateway'; id: string; change: 'moved'; from: GatewayLocation; to: GatewayLocation }
  | { entity: 'gateway'; id: string; change: 'retired'; location: GatewayLocation }
  | { entity: 'gateway'; id: string; change: 'created' | 'updated' | 'password-set' | 'password-revoked' }
  | { entity: 'site' | 'room' | 'bed' | 'device'; id: string; change: 'created' | 'updated' | 'moved' | 'retired' };

export interface RegistryStore {
  createSite(s: Site): Site;
  listSites(): Site[];
  createRoom(r: Room): Room;
  listRooms(siteId?: string): Room[];
  createBed(b: { id: string; roomId: string; name: string }): Bed;
  getBed(id: string): Bed | null;
  listBeds(roomId?: string): Bed[];
  /** names only; null when unknown */
  updateSite(id: string, p: { name?: string }): Changes | null;
  updateRoom(id: string, p: { name?: string }): Changes | null;
  updateBed(id: string, p: { name?: string }): Changes | null;

  /** hashes the password with scrypt; the clear password is never stored */
  createGateway(g: { id: string; bedId: string; password: string; notes?: string | null }): Promise<Gateway>;
  getGateway(id: string): Gateway | null;
  listGateways(): Gateway[];
  /** false for unknown, retired and revoked gateways */
  verifyGateway(id: string, password: string): Promise<boolean>;
  /** replaces a gateway's credential (scrypt and Mosquitto hash), ends a revocation; false when unknown */
  setGatewayPassword(id: string, password: string): Promise<boolean>;
  /** no password works until setGatewayPassword; false when unknown */
  revokeGatewayPassword(id: string, at?: number): boolean;
  updateGateway(id: string, p: { notes?: string | null }): Changes | null;
  /** to another bed (its topic location changes); null when unknown */
  moveGateway(id: string, bedId: string): Changes | null;
  retireGateway(id: string, reason: string | null, at?: number): Gateway | null;
  /** every active (not retired, not revoked) gateway with its topic location and Mosquitto `$7$` hash (null: set before migration 4) */
  listMqttCredentials(): MqttCredential[];
  locateGateway(id: string): GatewayLocation | null;
  gatewayBinding(id: string): GatewayBinding | null;
  /** status message: last seen, online/offline, status JSON */
  updateGatewayStatus(id: string, at: number, online: boolean | null, status: Record<string, unknown> | null): void;

  createDevice(d: Partial<Device> & { id: string }): Device;
  getDevice(id: string): Device | null;
  listDevices(filter?: { bedId?: string; gatewayId?: string; mismatch?: boolean }): Device[];
  updateDevice(id: string, p: DevicePatch): Changes | null;
  /** undefined keeps a binding, null removes it; null when unknown */
  moveDevice(id: string, to: { bedId?: string | null; gatewayId?: string | null }): Changes | null;
  retireDevice(id: string, reason: string, at?: number): Device | null;
  /** sets (null: clears) the device's connection, validated by the caller; null when unknown */
  setDeviceConnection(id: string, connection: DeviceConnection | null): Changes | null;
  deviceBinding(id: string): DeviceBinding | null;
  /**
   * what the device reported about itself; stores it and the fields that differ from the registry
   * (a mismatch that persists keeps its `since`). `added` are mismatches new with this report.
   */
  reportDeviceIdentity(id: string, reported: ReportedIdentity): { mismatch: IdentityMismatch[]; added: IdentityMismatch[] } | null;
  /** registered devices whose reported identity differs from the registry */
  countIdentityMismatches(): number;

  /** changes whenever a binding or credential changed, in this process or (sqlite) another connection */
  revision(): string;
  /** listener for changes made through this store; returns the unsubscribe function. Listeners must not throw. */
  onChange(listener: (c: RegistryChange) => void): () => void;
}
