/** Registry CRUD for biomedical engineers: sites, rooms, beds, gateways (with password), devices. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';
import { Id, notFound } from './common.js';

const Name = Type.String({ minLength: 1, maxLength: 200 });
const Opt = (max = 200) => Type.Optional(Type.String({ maxLength: max }));

export function registryRoutes(app: FastifyInstance, s: Services): void {
  const r = s.registry;
  const tags = ['registry'];
  app.post('/sites', { schema: { tags, body: Type.Object({ id: Id, name: Name }, { additionalProperties: false }) } }, async (req, reply) =>
    reply.status(201).send(r.createSite(req.body as { id: string; name: string })));
  app.get('/sites', { schema: { tags } }, async () => r.listSites());

  app.post('/rooms', { schema: { tags, body: Type.Object({ id: Id, siteId: Id, name: Name }, { additionalProperties: false }) } }, async (req, reply) =>
    reply.status(201).send(r.createRoom(req.body as { id: string; siteId: string; name: string })));
  app.get('/rooms', { schema: { tags, querystring: Type.Object({ siteId: Type.Optional(Id) }) } }, async (req) =>
    r.listRooms((req.query as { siteId?: string }).siteId));

  app.post('/beds', { schema: { tags, body: Type.Object({ id: Id, roomId: Id, name: Name }, { additionalProperties: false }) } }, async (req, reply) =>
    reply.status(201).send(r.createBed(req.body as { id: string; roomId: string; name: string })));
  app.get('/beds', { schema: { tags, querystring: Type.Object({ roomId: Type.Optional(Id) }) } }, async (req) =>
    r.listBeds((req.query as { roomId?: string }).roomId));
  app.get('/beds/:bed', { schema: { tags, params: Type.Object({ bed: Id }) } }, async (req) => {
    const { bed } = req.params as { bed: string };
    return r.getBed(bed) ?? Promise.reject(notFound(`bed ${bed}`));
  });

  app.post('/gateways', {
    schema: {
      tags, summary: 'register a gateway; the password is stored as a scrypt hash and is its MQTT password (username = id)',
      body: Type.Object({ id: Id, bedId: Id, password: Type.String({ minLength: 8, maxLength: 200 }) }, { additionalProperties: false }),
    },
  }, async (req, reply) => {
    const b = req.body as { id: string; bedId: string; password: string };
    if (!r.getBed(b.bedId)) throw notFound(`bed ${b.bedId}`);
    return reply.status(201).send(await r.createGateway(b));
  });
  app.get('/gateways', { schema: { tags } }, async () => r.listGateways());
  app.get('/gateways/:id', { schema: { tags, params: Type.Object({ id: Id }) } }, async (req) => {
    const { id } = req.params as { id: string };
    return r.getGateway(id) ?? Promise.reject(notFound(`gateway ${id}`));
  });

  app.post('/devices', {
    schema: {
      tags,
      body: Type.Object({
        id: Id, gatewayId: Type.Optional(Id), bedId: Type.Optional(Id), vendor: Opt(), model: Opt(), serial: Opt(),
        firmware: Opt(), profile: Opt(), transport: Opt(), assetTag: Opt(),
      }, { additionalProperties: false }),
    },
  }, async (req, reply) => reply.status(201).send(r.createDevice(req.body as { id: string })));
  app.get('/devices', { schema: { tags, querystring: Type.Object({ bedId: Type.Optional(Id), gatewayId: Type.Optional(Id) }) } }, async (req) =>
    r.listDevices(req.query as { bedId?: string; gatewayId?: string }));
  app.get('/devices/:id', { schema: { tags, params: Type.Object({ id: Id }) } }, async (req) => {
    const { id } = req.params as { id: string };
    return r.getDevice(id) ?? Promise.reject(notFound(`device ${id}`));
  });
}
