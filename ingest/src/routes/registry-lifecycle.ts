/**
 * Registry lifecycle (docs/api.md): update (PATCH), move, retire, gateway password rotation and
 * revocation. The registry binding is authoritative (docs/decisions.md): a move changes where the
 * next readings are stored, and the embedded broker closes the sessions a credential or location
 * change invalidates (it listens to the registry's change events). Each change is audited with
 * the changed fields before/after — never a password. Admin and biomed tokens only.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { allow } from '../auth/roles.js';
import { connectionProblems, type DeviceConnection } from '../../../schemas/src/gateway-config-doc.js';
import { IngestError } from '../errors.js';
import type { Changes, DevicePatch } from '../registry/registry-store.js';
import type { Services } from '../services.js';
import { actorOf, notFound } from './common.js';
import {
  BedBody,
  DEVICE_PATCH_FIELDS,
  DeviceBody,
  DeviceConnectionBody,
  DeviceMoveBody,
  DevicePatchBody,
  DeviceRetireBody,
  Errors,
  GatewayBody,
  GatewayMoveBody,
  GatewayPatchBody,
  GatewayRetireBody,
  IdParams,
  NamePatch,
  PasswordBody,
  RoomBody,
  SiteBody,
} from './registry-schemas.js';

type Entity = 'site' | 'room' | 'bed' | 'gateway' | 'device';

const badRequest = (message: string) => new IngestError('ING_ERR_BAD_REQUEST', 'data', message);
const idOf = (req: FastifyRequest) => (req.params as { id: string }).id;
const changed = (c: Changes) => Object.keys(c.after).length > 0;

export function registryLifecycleRoutes(app: FastifyInstance, s: Services): void {
  const r = s.registry;
  const tags = ['registry'];
  const tx = <T>(fn: () => T): T => s.db.transaction(fn)();
  const audit = (req: FastifyRequest, action: string, entity: Entity, id: string, detail: Record<string, unknown>) =>
    s.audit.record(actorOf(req), action, entity, id, detail);
  /** apply a change; 404 when the entity is unknown; audited when something changed */
  const change = (req: FastifyRequest, action: string, entity: Entity, fn: (id: string) => Changes | null): void => {
    const id = idOf(req);
    tx(() => {
      const c = fn(id);
      if (!c) throw notFound(`${entity} ${id}`);
      if (changed(c)) audit(req, action, entity, id, { ...c });
    });
  };

  // ---- update ----------------------------------------------------------------------------------
  const rename = (
    path: string,
    entity: 'site' | 'room' | 'bed',
    response: typeof SiteBody | typeof RoomBody | typeof BedBody,
    update: (id: string, p: { name?: string }) => Changes | null,
    get: (id: string) => unknown,
  ) => {
    app.patch(
      path,
      {
        config: allow(['admin', 'biomed']),
        schema: { tags, summary: `rename a ${entity}`, params: IdParams, body: NamePatch, response: { 200: response, ...Errors } },
      },
      async (req) => {
        change(req, 'registry.update', entity, (id) => update(id, req.body as { name: string }));
        return get(idOf(req));
      },
    );
  };
  rename(
    '/sites/:id',
    'site',
    SiteBody,
    (id, p) => r.updateSite(id, p),
    (id) => r.listSites().find((x) => x.id === id),
  );
  rename(
    '/rooms/:id',
    'room',
    RoomBody,
    (id, p) => r.updateRoom(id, p),
    (id) => r.listRooms().find((x) => x.id === id),
  );
  rename(
    '/beds/:id',
    'bed',
    BedBody,
    (id, p) => r.updateBed(id, p),
    (id) => r.getBed(id),
  );

  app.patch(
    '/devices/:id',
    {
      config: allow(['admin', 'biomed']),
      schema: {
        tags,
        summary: 'change registered device fields (null clears one)',
        params: IdParams,
        body: DevicePatchBody,
        response: { 200: DeviceBody, ...Errors },
      },
    },
    async (req) => {
      const p = req.body as DevicePatch;
      if (!DEVICE_PATCH_FIELDS.some((f) => p[f] !== undefined)) {
        throw badRequest(`nothing to change: give one of ${DEVICE_PATCH_FIELDS.join(', ')} (bed and gateway: POST /devices/:id/move)`);
      }
      change(req, 'registry.update', 'device', (id) => r.updateDevice(id, p));
      return r.getDevice(idOf(req));
    },
  );

  app.patch(
    '/gateways/:id',
    {
      config: allow(['admin', 'biomed']),
      schema: { tags, summary: "change a gateway's notes", params: IdParams, body: GatewayPatchBody, response: { 200: GatewayBody, ...Errors } },
    },
    async (req) => {
      const p = req.body as { notes?: string | null };
      if (p.notes === undefined) throw badRequest('nothing to change: give notes (bed: POST /gateways/:id/move, password: POST /gateways/:id/password)');
      change(req, 'registry.update', 'gateway', (id) => r.updateGateway(id, p));
      return r.getGateway(idOf(req));
    },
  );

  // ---- connection (what the device's gateway runs; published on its config topic) ----------------
  app.put(
    '/devices/:id/connection',
    {
      config: allow(['admin', 'biomed']),
      schema: {
        tags,
        summary: "set what the device's gateway runs for it (protocol, transport, options); the gateway applies it without a restart",
        params: IdParams,
        body: DeviceConnectionBody,
        response: { 200: DeviceBody, ...Errors },
      },
    },
    async (req) => {
      const id = idOf(req);
      const d = r.getDevice(id);
      if (!d) throw notFound(`device ${id}`);
      const problems = connectionProblems(req.body, id, d.profile);
      if (problems.length) throw badRequest(`invalid connection: ${problems.join('; ')}`);
      change(req, 'registry.update', 'device', (x) => r.setDeviceConnection(x, req.body as DeviceConnection));
      return r.getDevice(id);
    },
  );

  app.delete(
    '/devices/:id/connection',
    {
      config: allow(['admin', 'biomed']),
      schema: { tags, summary: "clear the device's connection: its gateway stops its session", params: IdParams, response: { 200: DeviceBody, ...Errors } },
    },
    async (req) => {
      change(req, 'registry.update', 'device', (x) => r.setDeviceConnection(x, null));
      return r.getDevice(idOf(req));
    },
  );

  // ---- move ------------------------------------------------------------------------------------
  app.post(
    '/devices/:id/move',
    {
      config: allow(['admin', 'biomed']),
      schema: {
        tags,
        summary: 'bind a device to another bed and/or gateway; its next readings are stored under the new bed',
        params: IdParams,
        body: DeviceMoveBody,
        response: { 200: DeviceBody, ...Errors },
      },
    },
    async (req) => {
      const to = req.body as { bedId?: string | null; gatewayId?: string | null };
      if (to.bedId === undefined && to.gatewayId === undefined) throw badRequest('give bedId and/or gatewayId (null unbinds)');
      change(req, 'registry.move', 'device', (id) => r.moveDevice(id, to));
      return r.getDevice(idOf(req));
    },
  );

  app.post(
    '/gateways/:id/move',
    {
      config: allow(['admin', 'biomed']),
      schema: {
        tags,
        summary: 'move a gateway to another bed: its topic location changes and its MQTT session is closed',
        params: IdParams,
        body: GatewayMoveBody,
        response: { 200: GatewayBody, ...Errors },
      },
    },
    async (req) => {
      change(req, 'registry.move', 'gateway', (id) => r.moveGateway(id, (req.body as { bedId: string }).bedId));
      return r.getGateway(idOf(req));
    },
  );

  // ---- retire ----------------------------------------------------------------------------------
  app.post(
    '/devices/:id/retire',
    {
      config: allow(['admin', 'biomed']),
      schema: {
        tags,
        summary: 'retire a device: kept for history, its readings are refused',
        params: IdParams,
        body: DeviceRetireBody,
        response: { 200: DeviceBody, ...Errors },
      },
    },
    async (req) => {
      const id = idOf(req);
      const { reason } = req.body as { reason: string };
      return tx(() => {
        const d = r.retireDevice(id, reason);
        if (!d) throw notFound(`device ${id}`);
        audit(req, 'registry.retire', 'device', id, { reason });
        return d;
      });
    },
  );

  app.post(
    '/gateways/:id/retire',
    {
      config: allow(['admin', 'biomed']),
      schema: {
        tags,
        summary: 'retire a gateway: kept for history, it can no longer log in (its session is closed)',
        params: IdParams,
        body: GatewayRetireBody,
        response: { 200: GatewayBody, ...Errors },
      },
      // the reason is optional, and so is the body
      preValidation: async (req) => {
        if (req.body === undefined || req.body === null) req.body = {};
      },
    },
    async (req) => {
      const id = idOf(req);
      const reason = (req.body as { reason?: string } | undefined)?.reason ?? null;
      return tx(() => {
        const g = r.retireGateway(id, reason);
        if (!g) throw notFound(`gateway ${id}`);
        audit(req, 'registry.retire', 'gateway', id, { reason });
        return g;
      });
    },
  );

  // ---- credentials -----------------------------------------------------------------------------
  app.post(
    '/gateways/:id/password',
    {
      config: allow(['admin', 'biomed']),
      schema: {
        tags,
        summary: 'set a new MQTT password: the old one stops working at once and the open session is closed',
        params: IdParams,
        body: PasswordBody,
        response: { 200: GatewayBody, ...Errors },
      },
    },
    async (req) => {
      const id = idOf(req);
      if (!(await r.setGatewayPassword(id, (req.body as { password: string }).password))) throw notFound(`gateway ${id}`);
      audit(req, 'gateway.password-rotated', 'gateway', id, {});
      return r.getGateway(id);
    },
  );

  app.post(
    '/gateways/:id/revoke',
    {
      config: allow(['admin', 'biomed']),
      schema: {
        tags,
        summary: 'revoke the MQTT password: no password works until a new one is set; the open session is closed',
        params: IdParams,
        response: { 200: GatewayBody, ...Errors },
      },
    },
    async (req) => {
      const id = idOf(req);
      return tx(() => {
        if (!r.revokeGatewayPassword(id)) throw notFound(`gateway ${id}`);
        audit(req, 'gateway.password-revoked', 'gateway', id, {});
        return r.getGateway(id);
      });
    },
  );
}
