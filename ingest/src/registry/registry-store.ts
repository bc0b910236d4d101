/** The registry boundary (sites, rooms, beds, gateways, devices). Implementation: sqlite-registry.ts. */
export interface Site { id: string; name: string }
export interface Room { id: string; siteId: string; name: string }
export interface Bed { id: string; roomId: string; siteId: string; name: string }
export interface Gateway {
  id: string;
  bedId: string;
  lastSeen: number | null;
  online: boolean | null;
  status: Record<string, unknown> | null;
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
}
/** A gateway's broker account for an external broker's password/ACL files (`orlink mqtt-auth`). */
export interface MqttCredential { location: GatewayLocation; mosquittoHash: string | null }
/** Where a gateway publishes: the topic segments after the prefix. */
export interface GatewayLocation { site: string; room: string; bed: string; gatewayId: string }

export interface RegistryStore {
  createSite(s: Site): Site;
  listSites(): Site[];
  createRoom(r: Room): Room;
  listRooms(siteId?: string): Room[];
  createBed(b: { id: string; roomId: string; name: string }): Bed;
  getBed(id: string): Bed | null;
  listBeds(roomId?: string): Bed[];
  /** hashes the password with scrypt; the clear password is never stored */
  createGateway(g: { id: string; bedId: string; password: string }): Promise<Gateway>;
  getGateway(id: string): Gateway | null;
  listGateways(): Gateway[];
  verifyGateway(id: string, password: string): Promise<boolean>;
  /** replaces a gateway's credential (scrypt and Mosquitto hash); false when unknown */
  setGatewayPassword?(id: string, password: string): Promise<boolean>;
  /** every gateway with its topic location and Mosquitto `$7$` hash (null: set before migration 4) */
  listMqttCredentials?(): MqttCredential[];
  locateGateway(id: string): GatewayLocation | null;
  /** status message: last seen, online/offline, status JSON */
  updateGatewayStatus(id: string, at: number, online: boolean | null, status: Record<string, unknown> | null): void;
  createDevice(d: Partial<Device> & { id: string }): Device;
  getDevice(id: string): Device | null;
  listDevices(filter?: { bedId?: string; gatewayId?: string }): Device[];
}
