/** RegistryStore on the ingest sqlite database. Conflicts and missing parents raise coded errors. */
import { IngestError } from '../errors.js';
import type { Db } from './database.js';
import { hashPassword, mosquittoHash, verifyPassword } from './password.js';
import type { Bed, Device, Gateway, GatewayLocation, MqttCredential, RegistryStore, Room, Site } from './registry-store.js';

interface GatewayRow { id: string; bed_id: string; credential_hash: string; last_seen: number | null; online: number | null; status_json: string | null }
interface DeviceRow {
  id: string; gateway_id: string | null; bed_id: string | null; vendor: string | null; model: string | null; serial: string | null;
  firmware: string | null; profile: string | null; transport: string | null; asset_tag: string | null;
}

const toGateway = (r: GatewayRow): Gateway => ({
  id: r.id, bedId: r.bed_id, lastSeen: r.last_seen, online: r.online === null ? null : r.online === 1,
  status: r.status_json ? (JSON.parse(r.status_json) as Record<string, unknown>) : null,
});

const toDevice = (r: DeviceRow): Device => ({
  id: r.id, gatewayId: r.gateway_id, bedId: r.bed_id, vendor: r.vendor, model: r.model, serial: r.serial,
  firmware: r.firmware, profile: r.profile, transport: r.transport, assetTag: r.asset_tag,
});

const BED_SQL = 'SELECT b.id, b.room_id AS roomId, r.site_id AS siteId, b.name FROM beds b JOIN rooms r ON r.id = b.room_id';

export class SqliteRegistry implements RegistryStore {
  constructor(private readonly db: Db) {}

  private insert(sql: string, args: unknown[], what: string): void {
    try {
      this.db.prepare(sql).run(...args);
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (code.startsWith('SQLITE_CONSTRAINT_PRIMARYKEY') || code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new IngestError('ING_ERR_CONFLICT', 'data', `${what} already exists`, { cause: err });
      }
      if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw new IngestError('ING_ERR_NOT_FOUND', 'data', `${what}: parent not found`, { cause: err });
      throw err;
    }
  }

  createSite(s: Site): Site {
    this.insert('INSERT INTO sites (id, name, created_at) VALUES (?, ?, ?)', [s.id, s.name, Date.now()], `site ${s.id}`);
    return { id: s.id, name: s.name };
  }

  listSites(): Site[] {
    return this.db.prepare('SELECT id, name FROM sites ORDER BY id').all() as Site[];
  }

  createRoom(r: Room): Room {
    this.insert('INSERT INTO rooms (id, site_id, name, created_at) VALUES (?, ?, ?, ?)', [r.id, r.siteId, r.name, Date.now()], `room ${r.id}`);
    return { id: r.id, siteId: r.siteId, name: r.name };
  }

  listRooms(siteId?: string): Room[] {
    const sql = 'SELECT id, site_id AS siteId, name FROM rooms';
    return (siteId ? this.db.prepare(`${sql} WHERE site_id = ? ORDER BY id`).all(siteId) : this.db.prepare(`${sql} ORDER BY id`).all()) as Room[];
  }

  createBed(b: { id: string; roomId: string; name: string }): Bed {
    this.insert('INSERT INTO beds (id, room_id, name, created_at) VALUES (?, ?, ?, ?)', [b.id, b.roomId, b.name, Date.now()], `bed ${b.id}`);
    return this.getBed(b.id) as Bed;
  }

  getBed(id: string): Bed | null {
    return (this.db.prepare(`${BED_SQL} WHERE b.id = ?`).get(id) as Bed | undefined) ?? null;
  }

  listBeds(roomId?: string): Bed[] {
    return (roomId ? this.db.prepare(`${BED_SQL} WHERE b.room_id = ? ORDER BY b.id`).all(roomId) : this.db.prepare(`${BED_SQL} ORDER BY b.id`).all()) as Bed[];
  }

  async createGateway(g: { id: string; bedId: string; password: string }): Promise<Gateway> {
    const [hash, mqtt] = await Promise.all([hashPassword(g.password), mosquittoHash(g.password)]);
    this.insert('INSERT INTO gateways (id, bed_id, credential_hash, mqtt_hash, created_at) VALUES (?, ?, ?, ?, ?)', [g.id, g.bedId, hash, mqtt, Date.now()], `gateway ${g.id}`);
    return this.getGateway(g.id) as Gateway;
  }

  async setGatewayPassword(id: string, password: string): Promise<boolean> {
    const [hash, mqtt] = await Promise.all([hashPassword(password), mosquittoHash(password)]);
    return this.db.prepare('UPDATE gateways SET credential_hash = ?, mqtt_hash = ? WHERE id = ?').run(hash, mqtt, id).changes === 1;
  }

  listMqttCredentials(): MqttCredential[] {
    const rows = this.db.prepare(
      'SELECT g.id AS gatewayId, b.id AS bed, r.id AS room, r.site_id AS site, g.mqtt_hash AS mqttHash FROM gateways g JOIN beds b ON b.id = g.bed_id JOIN rooms r ON r.id = b.room_id ORDER BY g.id',
    ).all() as (GatewayLocation & { mqttHash: string | null })[];
    return rows.map(({ mqttHash, ...location }) => ({ location, mosquittoHash: mqttHash }));
  }

  getGateway(id: string): Gateway | null {
    const r = this.db.prepare('SELECT * FROM gateways WHERE id = ?').get(id) as GatewayRow | undefined;
    return r ? toGateway(r) : null;
  }

  listGateways(): Gateway[] {
    return (this.db.prepare('SELECT * FROM gateways ORDER BY id').all() as GatewayRow[]).map(toGateway);
  }

  async verifyGateway(id: string, password: string): Promise<boolean> {
    const r = this.db.prepare('SELECT credential_hash FROM gateways WHERE id = ?').get(id) as { credential_hash: string } | undefined;
    if (!r) return false;
    return verifyPassword(password, r.credential_hash);
  }

  locateGateway(id: string): GatewayLocation | null {
    const r = this.db.prepare(
      'SELECT g.id AS gatewayId, b.id AS bed, r.id AS room, r.site_id AS site FROM gateways g JOIN beds b ON b.id = g.bed_id JOIN rooms r ON r.id = b.room_id WHERE g.id = ?',
    ).get(id) as GatewayLocation | undefined;
    return r ?? null;
  }

  updateGatewayStatus(id: string, at: number, online: boolean | null, status: Record<string, unknown> | null): void {
    this.db.prepare('UPDATE gateways SET last_seen = MAX(COALESCE(last_seen, 0), ?), online = COALESCE(?, online), status_json = COALESCE(?, status_json) WHERE id = ?')
      .run(at, online === null ? null : online ? 1 : 0, status ? JSON.stringify(status) : null, id);
  }

  createDevice(d: Partial<Device> & { id: string }): Device {
    this.insert(
      'INSERT INTO devices (id, gateway_id, bed_id, vendor, model, serial, firmware, profile, transport, asset_tag, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [d.id, d.gatewayId ?? null, d.bedId ?? null, d.vendor ?? null, d.model ?? null, d.serial ?? null, d.firmware ?? null,
        d.profile ?? null, d.transport ?? null, d.assetTag ?? null, Date.now()], `device ${d.id}`,
    );
    return this.getDevice(d.id) as Device;
  }

  getDevice(id: string): Device | null {
    const r = this.db.prepare('SELECT * FROM devices WHERE id = ?').get(id) as DeviceRow | undefined;
    return r ? toDevice(r) : null;
  }

  listDevices(filter: { bedId?: string; gatewayId?: string } = {}): Device[] {
    const where: string[] = [];
    const args: string[] = [];
    if (filter.bedId) { where.push('bed_id = ?'); args.push(filter.bedId); }
    if (filter.gatewayId) { where.push('gateway_id = ?'); args.push(filter.gatewayId); }
    const sql = `SELECT * FROM devices${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
    return (this.db.prepare(sql).all(...args) as DeviceRow[]).map(toDevice);
  }
}
