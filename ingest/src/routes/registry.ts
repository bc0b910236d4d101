/**
 * Registry for biomedical engineers: sites, rooms, beds, gateways (with password), devices —
 * create, list, get here; update, move, retire and credentials in registry-lifecycle.ts. Writes are
 * for admin and biomed; sites, rooms and beds are also read by recorders (they open cases on beds)
 * and viewers, gateways and devices by viewers. Every change is audited; responses go through the
 * schemas of registry-schemas.ts (no hash can leak).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { allow } from '../auth/roles.js';
import type { Device } from '../registry/registry-store.js';
import type { Services } from '../services.js';
import { actorOf, Id, notFound } from './common.js';
import { registryLifecycleRoutes } from './registry-lifecycle.js';
import {
  BedBody,
  CreateBed,
  CreateDevice,
  CreateGateway,
  CreateRoom,
  CreateSite,
  DeviceBody,
  DeviceQuery,
  Errors,
  GatewayBody,
  IdParams,
  RoomBody,
  SiteBody,
} from './registry-schemas.js';

export function registryRoutes(app: FastifyInstance, s: Services): void {
  const r = s.registry;
  const tags = ['registry'];
  const created = (req: Parameters<typeof actorOf>[0], entity: string, id: string, after: Record<string, unknown>) =>
    s.audit.record(actorOf(req), 'registry.create', entity, id, { after });
  const tx = <T>(fn: () => T): T => s.db.transaction(fn)();

  app.post('/sites', { config: allow(['admin', 'biomed']), schema: { tags, body: CreateSite, response: { 201: SiteBody, ...Errors } } }, async (req, reply) => {
    const b = req.body as { id: string; name: string };
    return reply.status(201).send(
      tx(() => {
        const site = r.createSite(b);
        created(req, 'site', b.id, b);
        return site;
      }),
    );
  });
  app.get('/sites', { config: allow(['admin', 'biomed', 'recorder', 'viewer']), schema: { tags, response: { 200: Type.Array(SiteBody) } } }, async () =>
    r.listSites(),
  );

  app.post('/rooms', { config: allow(['admin', 'biomed']), schema: { tags, body: CreateRoom, response: { 201: RoomBody, ...Errors } } }, async (req, reply) => {
    const b = req.body as { id: string; siteId: string; name: string };
    return reply.status(201).send(
      tx(() => {
        const room = r.createRoom(b);
        created(req, 'room', b.id, b);
        return room;
      }),
    );
  });
  app.get(
    '/rooms',
    {
      config: allow(['admin', 'biomed', 'recorder', 'viewer']),
      schema: { tags, querystring: Type.Object({ siteId: Type.Optional(Id) }), response: { 200: Type.Array(RoomBody) } },
    },
    async (req) => r.listRooms((req.query as { siteId?: string }).siteId),
  );

  app.post('/beds', { config: allow(['admin', 'biomed']), schema: { tags, body: CreateBed, response: { 201: BedBody, ...Errors } } }, async (req, reply) => {
    const b = req.body as { id: string; roomId: string; name: string };
    return reply.status(201).send(
      tx(() => {
        const bed = r.createBed(b);
        created(req, 'bed', b.id, b);
        return bed;
      }),
    );
  });
  app.get(
    '/beds',
    {
      config: allow(['admin', 'biomed', 'recorder', 'viewer']),
      schema: { tags, querystring: Type.Object({ roomId: Type.Optional(Id) }), response: { 200: Type.Array(BedBody) } },
    },
    async (req) => r.listBeds((req.query as { roomId?: string }).roomId),
  );
  app.get(
    '/beds/:bed',
    { config: allow(['admin', 'biomed', 'recorder', 'viewer']), schema: { tags, params: Type.Object({ bed: Id }), response: { 200: BedBody, ...Errors } } },
    async (req) => {
      const { bed } = req.params as { bed: string };
      return r.getBed(bed) ?? Promise.reject(notFound(`bed ${bed}`));
    },
  );

  app.post(
    '/gateways',
    {
      config: allow(['admin', 'biomed']),
      schema: {
        tags,
        summary: 'register a gateway; the password is stored as a scrypt hash and is its MQTT password (username = id)',
        body: CreateGateway,
        response: { 201: GatewayBody, ...Errors },
      },
    },
    async (req, reply) => {
      const b = req.body as { id: string; bedId: string; password: string; notes?: string };
      if (!r.getBed(b.bedId)) throw notFound(`bed ${b.bedId}`);
      const g = await r.createGateway(b);
      created(req, 'gateway', b.id, { bedId: b.bedId, notes: b.notes ?? null }); // never the password
      return reply.status(201).send(g);
    },
  );
  app.get('/gateways', { config: allow(['admin', 'biomed', 'viewer']), schema: { tags, response: { 200: Type.Array(GatewayBody) } } }, async () =>
    r.listGateways(),
  );
  app.get(
    '/gateways/:id',
    { config: allow(['admin', 'biomed', 'viewer']), schema: { tags, params: IdParams, response: { 200: GatewayBody, ...Errors } } },
    async (req) => {
      const { id } = req.params as { id: string };
      return r.getGateway(id) ?? Promise.reject(notFound(`gateway ${id}`));
    },
  );

  app.post(
    '/devices',
    { config: allow(['admin', 'biomed']), schema: { tags, body: CreateDevice, response: { 201: DeviceBody, ...Errors } } },
    async (req, reply) => {
      const b = req.body as Partial<Device> & { id: string };
      return reply.status(201).send(
        tx(() => {
          const d = r.createDevice(b);
          created(req, 'device', b.id, b);
          return d;
        }),
      );
    },
  );
  app.get(
    '/devices',
    {
      config: allow(['admin', 'biomed', 'viewer']),
      schema: { tags, querystring: DeviceQuery, response: { 200: Type.Array(DeviceBody) } },
    },
    async (req) => r.listDevices(req.query as { bedId?: string; gatewayId?: string; mismatch?: boolean }),
  );
  app.get(
    '/devices/:id',
    { config: allow(['admin', 'biomed', 'viewer']), schema: { tags, params: IdParams, response: { 200: DeviceBody, ...Errors } } },
    async (req) => {
      const { id } = req.params as { id: string };
      return r.getDevice(id) ?? Promise.reject(notFound(`device ${id}`));
    },
  );

  registryLifecycleRoutes(app, s);
}
