/**
 * Case events over REST (docs/api.md "Events"): POST/GET /cases/:id/events, PATCH/DELETE
 * /cases/:id/events/:eventId. Changes: admin and recorder (a site-limited token only for cases of its
 * site, and only onto beds of its site); reads also viewer. Deleted events are listed only to admin
 * with `?includeDeleted=1`. The rules (time inside the case window, PACU moves, soft delete, audit)
 * live in events/event-store.ts.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { allow, caseParam } from '../auth/roles.js';
import { forbidden } from '../auth/auth-hook.js';
import { IngestError } from '../errors.js';
import { CorrectEventRequest, CreateEventRequest, EventBody, EventParams } from '../events/event-schemas.js';
import { EventStore, type EventCorrection, type NewEvent } from '../events/event-store.js';
import type { Services } from '../services.js';
import { CaseParams } from './case-schemas.js';
import { actorOf, ErrorBody } from './common.js';

const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };

export function eventRoutes(app: FastifyInstance, s: Services): void {
  const tags = ['cases'];
  const events = new EventStore(s.db, s.cases, s.audit);
  const ids = (req: { params: unknown }) => req.params as { id: string; eventId: string };
  app.post(
    '/cases/:id/events',
    {
      config: allow(['admin', 'recorder'], (req) => ({ cases: [ids(req).id], beds: [(req.body as { bed?: string }).bed] })),
      schema: {
        tags,
        summary: 'add an event to a case (t inside the case window)',
        description:
          '`pacu-in` or `in-room` with a `bed` the case is not on moves the case to that bed at `t`, in the same transaction; ' +
          'if the move is refused (409, or 400) the event is refused with the same answer.',
        params: CaseParams,
        body: CreateEventRequest,
        response: { 201: EventBody, ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(events.add(ids(req).id, req.body as NewEvent, actorOf(req))),
  );
  app.get(
    '/cases/:id/events',
    {
      config: allow(['admin', 'recorder', 'viewer'], caseParam),
      schema: {
        tags,
        summary: 'the events of a case, ordered by t',
        params: CaseParams,
        querystring: Type.Object({
          includeDeleted: Type.Optional(Type.Union([Type.Literal('1'), Type.Literal('0')], { description: 'admin only: also the deleted events' })),
        }),
        response: { 200: Type.Array(EventBody), 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => {
      const { id } = ids(req);
      const includeDeleted = (req.query as { includeDeleted?: string }).includeDeleted === '1';
      if (includeDeleted && req.auth?.role !== 'admin') throw forbidden('only admin tokens list deleted events');
      if (!s.cases.get(id)) throw new IngestError('ING_ERR_NOT_FOUND', 'data', `case ${id} not found`);
      return events.list(id, { includeDeleted });
    },
  );
  app.patch(
    '/cases/:id/events/:eventId',
    {
      config: allow(['admin', 'recorder'], caseParam),
      schema: {
        tags,
        summary: 'correct an event: t, text, data (null removes text or data)',
        description:
          "kind and bed cannot be corrected (delete the event and add another); the t of an event that bound the case to a bed is that binding's (409).",
        params: EventParams,
        body: CorrectEventRequest,
        response: { 200: EventBody, ...errors },
      },
    },
    async (req) => {
      const { id, eventId } = ids(req);
      const b = req.body as EventCorrection & { kind?: string; bed?: string };
      if (b.kind !== undefined || b.bed !== undefined)
        throw new IngestError('ING_ERR_BAD_REQUEST', 'data', 'kind and bed of an event cannot be corrected: delete it and add another');
      return events.correct(id, eventId, { t: b.t, text: b.text, data: b.data }, actorOf(req));
    },
  );
  app.delete(
    '/cases/:id/events/:eventId',
    {
      config: allow(['admin', 'recorder'], caseParam),
      schema: {
        tags,
        summary: 'delete an event (kept, marked deleted, for the audit trail; a move it caused stays)',
        params: EventParams,
        response: { 200: EventBody, ...errors },
      },
    },
    async (req) => {
      const { id, eventId } = ids(req);
      return events.delete(id, eventId, actorOf(req));
    },
  );
}
