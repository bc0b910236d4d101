/**
 * Cases from the HIS (docs/his.md, docs/api.md "Cases from the HIS"):
 * - GET /schedule: the surgery schedule (SIU). admin, recorder (a site-limited token sees its site
 *   only), viewer (without `externalIds`); a response that carries identifiers is audited
 *   (`schedule.read-identifiers`, ids of the entries, never the identifiers).
 * - POST /schedule/:id/arrive: the record system's `in-room` — the scheduled case's patient is on
 *   `bed` from `at`: their open case moves there or a case opens there, bound to the schedule.
 * - GET /his/messages: received messages (default: the rejected ones, kept for review). admin,
 *   biomed; the message text (patient data) only to admin with `raw=true`, audited.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { IngestConfig } from '../../../schemas/src/ingest-config.js';
import { parseHl7Time } from '../../../gateway/src/protocols/hl7-mllp/hl7-time.js';
import { forbidden } from '../auth/auth-hook.js';
import { identifierGuard } from '../auth/identifiers.js';
import { allow, NO_IDENTIFIER_ROLES } from '../auth/roles.js';
import { IngestError } from '../errors.js';
import { HisFeed } from '../his/his-feed.js';
import { SCHEDULE_STATES, ScheduleStore, type ScheduledCase, type ScheduleState } from '../his/schedule-store.js';
import type { Services } from '../services.js';
import { CaseBody, Nullable } from './case-schemas.js';
import { actorOf, EpochMs, ErrorBody, Id } from './common.js';

const State = Type.Union(SCHEDULE_STATES.map((s) => Type.Literal(s)));

export const ScheduleEntryBody = Type.Object({
  id: Type.String(),
  appointment: Type.String({ description: 'the HIS appointment id (SCH-2, else SCH-1)' }),
  externalIds: Type.Optional(
    Type.Record(Type.String(), Type.String(), { description: "the patient's identifiers (PID-3, visit): absent for viewer tokens; audited when present" }),
  ),
  siteId: Nullable(Type.String()),
  roomId: Nullable(Type.String()),
  bedId: Nullable(Type.String({ description: 'the bed the scheduled location maps to; the case opens where the patient arrives' })),
  plannedStart: Nullable(EpochMs),
  plannedEnd: Nullable(EpochMs),
  procedure: Nullable(Type.String()),
  surgeon: Nullable(Type.String()),
  anesthetist: Nullable(Type.String()),
  state: State,
  caseId: Nullable(Type.String({ description: 'the case bound on arrival' })),
  createdAt: EpochMs,
  updatedAt: EpochMs,
});

const HisMessageBody = Type.Object({
  id: Type.Integer(),
  receivedAt: EpochMs,
  peer: Nullable(Type.String()),
  sender: Nullable(Type.String()),
  controlId: Nullable(Type.String()),
  type: Nullable(Type.String()),
  status: Type.Union([Type.Literal('applied'), Type.Literal('rejected')]),
  ackCode: Type.String(),
  reason: Nullable(Type.String()),
  raw: Type.Optional(Type.String({ description: 'the message text (holds patient data): admin with raw=true only, audited' })),
});

/** `YYYY-MM-DD` in the zone → [start, end) in epoch ms */
function dayWindow(day: string, zone: string): [number, number] {
  const [y, m, d] = day.split('-').map(Number);
  const next = new Date(Date.UTC(y, m - 1, d + 1));
  const fmt = (dt: Date) => `${dt.getUTCFullYear()}${String(dt.getUTCMonth() + 1).padStart(2, '0')}${String(dt.getUTCDate()).padStart(2, '0')}`;
  if (fmt(new Date(Date.UTC(y, m - 1, d))) !== day.replaceAll('-', '')) throw new IngestError('ING_ERR_BAD_REQUEST', 'data', `day ${day}: not a date`);
  const from = parseHl7Time(fmt(new Date(Date.UTC(y, m - 1, d))), zone);
  const to = parseHl7Time(fmt(next), zone);
  if (from === undefined || to === undefined) throw new IngestError('ING_ERR_BAD_REQUEST', 'data', `day ${day}: not a date`);
  return [from, to];
}

export function hisRoutes(app: FastifyInstance, s: Services, config: IngestConfig): void {
  const tags = ['cases'];
  const store = new ScheduleStore(s.db);
  const feed = new HisFeed({ db: s.db, cases: s.cases, registry: s.registry, audit: s.audit, config: config.his, metrics: s.metrics });
  const ids = identifierGuard(s.audit);

  app.get(
    '/schedule',
    {
      config: allow(['admin', 'recorder', 'viewer']),
      schema: {
        tags,
        summary: 'the surgery schedule from the HIS (SIU), by planned start',
        querystring: Type.Object({
          site: Type.Optional(Id),
          room: Type.Optional(Id),
          day: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'planned start on this day, in his.timeZone' })),
          state: Type.Optional(State),
          limit: Type.Integer({ minimum: 1, maximum: 2000, default: 500 }),
        }),
        response: { 200: Type.Array(ScheduleEntryBody), 400: ErrorBody },
      },
    },
    async (req) => {
      const q = req.query as { site?: string; room?: string; day?: string; state?: ScheduleState; limit: number };
      const own = req.auth?.site ?? null;
      if (own && q.site && q.site !== own) throw forbidden(`this token is limited to site ${own}`);
      const window = q.day ? dayWindow(q.day, config.his.timeZone) : undefined;
      const list = store.list({ site: own ?? q.site, room: q.room, state: q.state, limit: q.limit, ...(window ? { from: window[0], to: window[1] } : {}) });
      if (!req.auth || NO_IDENTIFIER_ROLES.includes(req.auth.role)) {
        return list.map(({ externalIds: _withheld, ...rest }) => rest);
      }
      const withIds = list.filter((e) => Object.keys(e.externalIds).length);
      if (withIds.length)
        s.audit.record(actorOf(req), 'schedule.read-identifiers', 'schedule', 'list', { route: 'GET /schedule', entries: withIds.map((e) => e.id) });
      return list;
    },
  );

  app.post(
    '/schedule/:id/arrive',
    {
      config: allow(['admin', 'recorder'], (req) => ({
        beds: [(req.body as { bed?: string } | undefined)?.bed, store.get((req.params as { id: string }).id)?.bedId ?? undefined],
      })),
      schema: {
        tags,
        summary: "in-room: the scheduled case's patient is on `bed` from `at` (default now)",
        description:
          "The patient's open case moves to the bed (e.g. induction → OR) or a case opens there at `at`, bound to the scheduled case " +
          "(state in-progress). The bed's data from `at` on belongs to the case, also data stored before this call. 409 when the scheduled case " +
          'is not `scheduled` or the bed is taken (wrong-patient guard).',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        body: Type.Object({ bed: Id, at: Type.Optional(EpochMs) }, { additionalProperties: false }),
        response: { 200: Type.Object({ schedule: ScheduleEntryBody, case: CaseBody }), 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const b = req.body as { bed: string; at?: number };
      const r = feed.arrive(id, b.bed, b.at ?? Date.now(), actorOf(req));
      const kase = await ids.case(req, reply, r.case);
      const schedule: Partial<ScheduledCase> = { ...r.schedule };
      if (!req.auth || NO_IDENTIFIER_ROLES.includes(req.auth.role)) delete schedule.externalIds;
      return { schedule, case: kase };
    },
  );

  app.get(
    '/his/messages',
    {
      config: allow(['admin', 'biomed']),
      schema: {
        tags: ['ops'],
        summary: 'messages received from the HIS, newest first (default: the rejected ones, kept for review)',
        querystring: Type.Object({
          status: Type.Union([Type.Literal('applied'), Type.Literal('rejected')], { default: 'rejected' }),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }),
          raw: Type.Boolean({ default: false, description: 'include the message text (admin only; audited)' }),
        }),
        response: { 200: Type.Array(HisMessageBody), 403: ErrorBody },
      },
    },
    async (req) => {
      const q = req.query as { status: 'applied' | 'rejected'; limit: number; raw: boolean };
      if (q.raw && req.auth?.role !== 'admin') throw forbidden('only admin tokens may read the message text (raw=true)');
      const list = store.messages({ status: q.status, limit: q.limit, withRaw: q.raw });
      if (q.raw && list.length)
        s.audit.record(actorOf(req), 'his.read-messages', 'his-message', 'list', { route: 'GET /his/messages', messages: list.map((m) => m.id) });
      return list;
    },
  );
}
