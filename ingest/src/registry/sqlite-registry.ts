/**
 * RegistryStore on the ingest sqlite database. Conflicts and missing parents raise coded errors.
 * Every change of a binding or credential bumps `revision()` and is told to the `onChange`
 * listeners (the embedded broker closes sessions, the ingest binding cache reloads).
 */
import { IngestError } from '../errors.js';
import type { DeviceConnection } from '../../../schemas/src/gateway-config-doc.js';
import type { Db } from './database.js';
import { hashPassword, mosquittoHash, verifyPassword } from './password.js';
import { DEVICE_COLUMNS, mismatchesOf, toDevice, toGateway, type DeviceRow, type GatewayRow } from './registry-rows.js';
import type {
  Bed,
  BedLocation,
  Changes,
  Device,
  DeviceBinding,
  DevicePatch,
  Gateway,
  GatewayBinding,
  GatewayLocation,
  IdentityMismatch,
  MqttCredential,
  RegistryChange,
  RegistryStore,
  ReportedIdentity,
  Room,
  Site,
} from './registry-store.js';

const BED_SQL = 'SELECT b.id, b.room_id AS roomId, r.site_id AS siteId, b.name FROM beds b JOIN rooms r ON r.id = b.room_id';
const LOCATION_SQL =
  'SELECT g.id AS gatewayId, b.id AS bed, r.id AS room, r.site_id AS site FROM gateways g JOIN beds b ON b.id = g.bed_id JOIN rooms r ON r.id = b.room_id';
/** a credential no password verifies against (revoked) */
const REVOKED = '!revoked';

const conflict = (message: string) => new IngestError('ING_ERR_CONFLICT', 'data', message);
const missing = (what: string) => new IngestError('ING_ERR_NOT_FOUND', 'data', `${what} not found`);

export class SqliteRegistry implements RegistryStore {
  private rev = 0;
  private readonly listeners = new Set<(c: RegistryChange) => void>();

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

  private emit(c: RegistryChange): void {
    this.rev++;
    for (const l of this.listeners) {
      try {
        l(c);
      } catch {
        /* a listener's failure must not undo a committed change; listeners log their own */
      }
    }
  }

  onChange(listener: (c: RegistryChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  revision(): string {
    return `${this.rev}:${this.db.pragma('data_version', { simple: true }) as number}`;
  }

  /** UPDATE of the given fields that differ from the stored row; the changed fields before/after */
  private patch(table: string, id: string, columns: Record<string, string>, p: Record<string, unknown>): Changes | null {
    const row = this.db.prepare(`SELECT * FROM ${table} WHERE id = ?`).get(id) as Record<string, unknown> | undefined;
    if (!row) return null;
    const before: Record<string, unknown> = {};
    const after: Record<string, unknown> = {};
    for (const [field, column] of Object.entries(columns)) {
      const v = p[field];
      if (v === undefined || v === row[column]) continue;
      before[field] = row[column];
      after[field] = v;
    }
    const fields = Object.keys(after);
    if (fields.length) {
      this.db.prepare(`UPDATE ${table} SET ${fields.map((f) => `${columns[f]} = ?`).join(', ')} WHERE id = ?`).run(...fields.map((f) => after[f]), id);
    }
    return { before, after };
  }

  // ---- sites, rooms, beds ----------------------------------------------------------------------

  createSite(s: Site): Site {
    this.insert('INSERT INTO sites (id, name, created_at) VALUES (?, ?, ?)', [s.id, s.name, Date.now()], `site ${s.id}`);
    this.emit({ entity: 'site', id: s.id, change: 'created' });
    return { id: s.id, name: s.name };
  }

  listSites(): Site[] {
    return this.db.prepare('SELECT id, name FROM sites ORDER BY id').all() as Site[];
  }

  createRoom(r: Room): Room {
    this.insert('INSERT INTO rooms (id, site_id, name, created_at) VALUES (?, ?, ?, ?)', [r.id, r.siteId, r.name, Date.now()], `room ${r.id}`);
    this.emit({ entity: 'room', id: r.id, change: 'created' });
    return { id: r.id, siteId: r.siteId, name: r.name };
  }

  listRooms(siteId?: string): Room[] {
    const sql = 'SELECT id, site_id AS siteId, name FROM rooms';
    return (siteId ? this.db.prepare(`${sql} WHERE site_id = ? ORDER BY id`).all(siteId) : this.db.prepare(`${sql} ORDER BY id`).all()) as Room[];
  }

  createBed(b: { id: string; roomId: string; name: string }): Bed {
    this.insert('INSERT INTO beds (id, room_id, name, created_at) VALUES (?, ?, ?, ?)', [b.id, b.roomId, b.name, Date.now()], `bed ${b.id}`);
    this.emit({ entity: 'bed', id: b.id, change: 'created' });
    return this.getBed(b.id) as Bed;
  }

  getBed(id: string): Bed | null {
    return (this.db.prepare(`${BED_SQL} WHERE b.id = ?`).get(id) as Bed | undefined) ?? null;
  }

  listBeds(roomId?: string): Bed[] {
    return (roomId ? this.db.prepare(`${BED_SQL} WHERE b.room_id = ? ORDER BY b.id`).all(roomId) : this.db.prepare(`${BED_SQL} ORDER BY b.id`).all()) as Bed[];
  }

  private rename(entity: 'site' | 'room' | 'bed', table: string, id: string, p: { name?: string }): Changes | null {
    const c = this.patch(table, id, { name: 'name' }, p);
    if (c && Object.keys(c.after).length) this.emit({ entity, id, change: 'updated' });
    return c;
  }

  updateSite(id: string, p: { name?: string }): Changes | null {
    return this.rename('site', 'sites', id, p);
  }
  updateRoom(id: string, p: { name?: string }): Changes | null {
    return this.rename('room', 'rooms', id, p);
  }
  updateBed(id: string, p: { name?: string }): Changes | null {
    return this.rename('bed', 'beds', id, p);
  }

  // ---- gateways --------------------------------------------------------------------------------

  async createGateway(g: { id: string; bedId: string; password: string; notes?: string | null }): Promise<Gateway> {
    const [hash, mqtt] = await Promise.all([hashPassword(g.password), mosquittoHash(g.password)]);
    this.insert(
      'INSERT INTO gateways (id, bed_id, credential_hash, mqtt_hash, notes, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      [g.id, g.bedId, hash, mqtt, g.notes ?? null, Date.now()],
      `gateway ${g.id}`,
    );
    this.emit({ entity: 'gateway', id: g.id, change: 'created' });
    return this.getGateway(g.id) as Gateway;
  }

  private gatewayRow(id: string): GatewayRow | null {
    return (this.db.prepare('SELECT * FROM gateways WHERE id = ?').get(id) as GatewayRow | undefined) ?? null;
  }

  private activeGateway(id: string, doing: string): GatewayRow | null {
    const row = this.gatewayRow(id);
    if (row?.retired_at != null) throw conflict(`gateway ${id} is retired: cannot ${doing}`);
    return row;
  }

  async setGatewayPassword(id: string, password: string): Promise<boolean> {
    if (!this.activeGateway(id, 'set its password')) return false;
    const [hash, mqtt] = await Promise.all([hashPassword(password), mosquittoHash(password)]);
    // the row may have been retired while hashing: checked again in the same statement
    const n = this.db
      .prepare('UPDATE gateways SET credential_hash = ?, mqtt_hash = ?, password_revoked_at = NULL WHERE id = ? AND retired_at IS NULL')
      .run(hash, mqtt, id).changes;
    if (n !== 1) {
      this.activeGateway(id, 'set its password');
      return false;
    }
    this.emit({ entity: 'gateway', id, change: 'password-set' });
    return true;
  }

  revokeGatewayPassword(id: string, at = Date.now()): boolean {
    if (!this.activeGateway(id, 'revoke its password')) return false;
    this.db
      .prepare('UPDATE gateways SET credential_hash = ?, mqtt_hash = NULL, password_revoked_at = COALESCE(password_revoked_at, ?) WHERE id = ?')
      .run(REVOKED, at, id);
    this.emit({ entity: 'gateway', id, change: 'password-revoked' });
    return true;
  }

  updateGateway(id: string, p: { notes?: string | null }): Changes | null {
    const c = this.patch('gateways', id, { notes: 'notes' }, p);
    if (c && Object.keys(c.after).length) this.emit({ entity: 'gateway', id, change: 'updated' });
    return c;
  }

  moveGateway(id: string, bedId: string): Changes | null {
    const row = this.activeGateway(id, 'move it');
    if (!row) return null;
    if (!this.getBed(bedId)) throw missing(`bed ${bedId}`);
    if (row.bed_id === bedId) return { before: {}, after: {} };
    const from = this.locateGateway(id) as GatewayLocation;
    this.db.prepare('UPDATE gateways SET bed_id = ? WHERE id = ?').run(bedId, id);
    const to = this.locateGateway(id) as GatewayLocation;
    this.emit({ entity: 'gateway', id, change: 'moved', from, to });
    return { before: { bedId: row.bed_id, location: from }, after: { bedId, location: to } };
  }

  retireGateway(id: string, reason: string | null, at = Date.now()): Gateway | null {
    const row = this.activeGateway(id, 'retire it again');
    if (!row) return null;
    const location = this.locateGateway(id) as GatewayLocation;
    this.db.prepare('UPDATE gateways SET retired_at = ?, retired_reason = ? WHERE id = ?').run(at, reason, id);
    this.emit({ entity: 'gateway', id, change: 'retired', location });
    return this.getGateway(id);
  }

  listMqttCredentials(): MqttCredential[] {
    const rows = this.db
      .prepare(
        `SELECT g.id AS gatewayId, b.id AS bed, r.id AS room, r.site_id AS site, g.mqtt_hash AS mqttHash FROM gateways g
       JOIN beds b ON b.id = g.bed_id JOIN rooms r ON r.id = b.room_id WHERE g.retired_at IS NULL AND g.password_revoked_at IS NULL ORDER BY g.id`,
      )
      .all() as (GatewayLocation & { mqttHash: string | null })[];
    return rows.map(({ mqttHash, ...location }) => ({ location, mosquittoHash: mqttHash }));
  }

  getGateway(id: string): Gateway | null {
    const r = this.gatewayRow(id);
    return r ? toGateway(r) : null;
  }

  listGateways(): Gateway[] {
    return (this.db.prepare('SELECT * FROM gateways ORDER BY id').all() as GatewayRow[]).map(toGateway);
  }

  async verifyGateway(id: string, password: string): Promise<boolean> {
    const r = this.gatewayRow(id);
    if (!r || r.retired_at != null || r.password_revoked_at != null) return false;
    return verifyPassword(password, r.credential_hash);
  }

  locateGateway(id: string): GatewayLocation | null {
    return (this.db.prepare(`${LOCATION_SQL} WHERE g.id = ?`).get(id) as GatewayLocation | undefined) ?? null;
  }

  gatewayBinding(id: string): GatewayBinding | null {
    const location = this.locateGateway(id);
    if (!location) return null;
    const r = this.db.prepare('SELECT retired_at FROM gateways WHERE id = ?').get(id) as { retired_at: number | null };
    return { location, retiredAt: r.retired_at };
  }

  updateGatewayStatus(id: string, at: number, online: boolean | null, status: Record<string, unknown> | null): void {
    this.db
      .prepare(
        'UPDATE gateways SET last_seen = MAX(COALESCE(last_seen, 0), ?), online = COALESCE(?, online), status_json = COALESCE(?, status_json) WHERE id = ?',
      )
      .run(at, online === null ? null : online ? 1 : 0, status ? JSON.stringify(status) : null, id);
  }

  // ---- devices ---------------------------------------------------------------------------------

  createDevice(d: Partial<Device> & { id: string }): Device {
    if (d.gatewayId && this.gatewayRow(d.gatewayId)?.retired_at != null) throw conflict(`gateway ${d.gatewayId} is retired: cannot bind a device to it`);
    this.insert(
      'INSERT INTO devices (id, gateway_id, bed_id, vendor, model, serial, firmware, profile, transport, asset_tag, notes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        d.id,
        d.gatewayId ?? null,
        d.bedId ?? null,
        d.vendor ?? null,
        d.model ?? null,
        d.serial ?? null,
        d.firmware ?? null,
        d.profile ?? null,
        d.transport ?? null,
        d.assetTag ?? null,
        d.notes ?? null,
        Date.now(),
      ],
      `device ${d.id}`,
    );
    this.emit({ entity: 'device', id: d.id, change: 'created' });
    return this.getDevice(d.id) as Device;
  }

  private deviceRow(id: string): DeviceRow | null {
    return (this.db.prepare('SELECT * FROM devices WHERE id = ?').get(id) as DeviceRow | undefined) ?? null;
  }

  getDevice(id: string): Device | null {
    const r = this.deviceRow(id);
    return r ? toDevice(r) : null;
  }

  listDevices(filter: { bedId?: string; gatewayId?: string; mismatch?: boolean } = {}): Device[] {
    const where: string[] = [];
    const args: string[] = [];
    if (filter.bedId) {
      where.push('bed_id = ?');
      args.push(filter.bedId);
    }
    if (filter.gatewayId) {
      where.push('gateway_id = ?');
      args.push(filter.gatewayId);
    }
    if (filter.mismatch !== undefined) where.push(filter.mismatch ? 'identity_mismatch IS NOT NULL' : 'identity_mismatch IS NULL');
    const sql = `SELECT * FROM devices${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
    return (this.db.prepare(sql).all(...args) as DeviceRow[]).map(toDevice);
  }

  private storeMismatch(id: string, m: IdentityMismatch[]): void {
    this.db.prepare('UPDATE devices SET identity_mismatch = ? WHERE id = ?').run(m.length ? JSON.stringify(m) : null, id);
  }

  updateDevice(id: string, p: DevicePatch): Changes | null {
    const c = this.patch('devices', id, DEVICE_COLUMNS, p as Record<string, unknown>);
    if (!c || !Object.keys(c.after).length) return c;
    if (['serial', 'model', 'firmware'].some((f) => f in c.after)) {
      // the registry changed: the differences are those of the last report against the new values
      const row = this.deviceRow(id) as DeviceRow;
      const d = toDevice(row);
      this.storeMismatch(id, mismatchesOf(row, d.reportedIdentity, d.identityMismatch, Date.now()));
    }
    this.emit({ entity: 'device', id, change: 'updated' });
    return c;
  }

  moveDevice(id: string, to: { bedId?: string | null; gatewayId?: string | null }): Changes | null {
    const row = this.deviceRow(id);
    if (!row) return null;
    if (row.retired_at != null) throw conflict(`device ${id} is retired: cannot move it`);
    if (to.bedId && !this.getBed(to.bedId)) throw missing(`bed ${to.bedId}`);
    if (to.gatewayId) {
      const g = this.gatewayRow(to.gatewayId);
      if (!g) throw missing(`gateway ${to.gatewayId}`);
      if (g.retired_at != null) throw conflict(`gateway ${to.gatewayId} is retired: cannot bind a device to it`);
    }
    const c = this.patch('devices', id, { bedId: 'bed_id', gatewayId: 'gateway_id' }, to);
    if (c && Object.keys(c.after).length) this.emit({ entity: 'device', id, change: 'moved' });
    return c;
  }

  retireDevice(id: string, reason: string, at = Date.now()): Device | null {
    const row = this.deviceRow(id);
    if (!row) return null;
    if (row.retired_at != null) throw conflict(`device ${id} is already retired`);
    this.db.prepare('UPDATE devices SET retired_at = ?, retired_reason = ? WHERE id = ?').run(at, reason, id);
    this.emit({ entity: 'device', id, change: 'retired' });
    return this.getDevice(id);
  }

  setDeviceConnection(id: string, connection: DeviceConnection | null): Changes | null {
    const row = this.deviceRow(id);
    if (!row) return null;
    if (row.retired_at != null) throw conflict(`device ${id} is retired: cannot configure its connection`);
    const text = connection === null ? null : JSON.stringify(connection);
    if (text === row.connection) return { before: {}, after: {} };
    this.db.prepare('UPDATE devices SET connection = ? WHERE id = ?').run(text, id);
    this.emit({ entity: 'device', id, change: 'updated' });
    return { before: { connection: row.connection === null ? null : JSON.parse(row.connection) }, after: { connection } };
  }

  deviceBinding(id: string): DeviceBinding | null {
    const r = this.db
      .prepare(
        `SELECT d.id, d.gateway_id AS gatewayId, d.bed_id AS bed, r.id AS room, r.site_id AS site, d.retired_at AS retiredAt, d.retired_reason AS retiredReason
       FROM devices d LEFT JOIN beds b ON b.id = d.bed_id LEFT JOIN rooms r ON r.id = b.room_id WHERE d.id = ?`,
      )
      .get(id) as (Omit<DeviceBinding, 'bed'> & { bed: string | null; room: string | null; site: string | null }) | undefined;
    if (!r) return null;
    const bed: BedLocation | null = r.bed && r.room && r.site ? { site: r.site, room: r.room, bed: r.bed } : null;
    return { id: r.id, gatewayId: r.gatewayId, bed, retiredAt: r.retiredAt, retiredReason: r.retiredReason };
  }

  reportDeviceIdentity(id: string, reported: ReportedIdentity): { mismatch: IdentityMismatch[]; added: IdentityMismatch[] } | null {
    const row = this.deviceRow(id);
    if (!row) return null;
    const previous = toDevice(row).identityMismatch;
    const mismatch = mismatchesOf(row, reported, previous, reported.at);
    this.db.prepare('UPDATE devices SET reported_identity = ? WHERE id = ?').run(JSON.stringify(reported), id);
    this.storeMismatch(id, mismatch);
    return { mismatch, added: mismatch.filter((m) => !previous.some((p) => p.field === m.field && p.since === m.since)) };
  }

  countIdentityMismatches(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM devices WHERE identity_mismatch IS NOT NULL AND retired_at IS NULL').get() as { n: number }).n;
  }
}
