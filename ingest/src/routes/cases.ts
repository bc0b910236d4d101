/**
 * Cases (POST /cases, GET/PATCH /cases/:id, POST /cases/:id/close|move, timeline) and
 * GET /beds/:bed/latest. The wrong-patient rules live in the case store; every change is audited
 * there, in the change's transaction, under the request's actor. Changes: admin and recorder;
 * reads also viewer, whose responses never carry `externalIds` (auth/identifiers.ts audits every
 * response that does). A token limited to a site touches only that site's beds and cases.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { IngestConfig } from '../../../schemas/src/ingest-config.js';
import { identifierGuard } from '../auth/identifiers.js';
import { allow, bedParam, caseParam } from '../auth/roles.js';
import type { Replaces } from '../cases/case-store.js';
import { timelineEvents } from '../events/timeline-events.js';
import type { Services } from '../services.js';
import { CaseBody, CaseParams, CloseCaseRequest, CorrectCaseRequest, CreateCaseRequest, LatestBody, MoveCaseRequest, TimelineBody } from './case-schemas.js';
import { caseListRoutes } from './case-list.js';
import { actorOf, EpochMs, ErrorBody, Id, notFound } from './common.js';
import { caseTimeline, CURSOR_PATTERN, PAGE_LIMIT, RESOLUTIONS, type Resolution } from './timeline.js';

const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };

export function caseRoutes(app: FastifyInstance, s: Services, config: IngestConfig): void {
  const tags = ['cases'];
  const ids = identifierGuard(s.audit);
  caseListRoutes(app, s);
  type WithReplaces = { bed?: string; replaces?: Replaces };
  app.post(
    '/cases',
    {
      config: allow(['admin', 'recorder'], (req) => {
        const b = req.body as WithReplaces;
        return { beds: [b.bed], cases: [b.replaces?.caseId] };
      }),
      preSerialization: ids.case,
      schema: {
        tags,
        summary: 'open a case on a bed (start defaults to now; with end it is recorded closed)',
        description:
          'Refused (409) when the bed has an open case or the window overlaps another case on the bed, unless `replaces` ' +
          'names the open case: it is closed where the new case starts, in the same transaction.',
        body: CreateCaseRequest,
        response: { 201: CaseBody, ...errors },
      },
    },
    async (req, reply) => {
      const b = req.body as { bed: string; start?: number; end?: number; externalIds?: Record<string, string>; replaces?: Replaces };
      const c = s.cases.create({ bedId: b.bed, start: b.start, end: b.end, externalIds: b.externalIds, replaces: b.replaces }, actorOf(req));
      return reply.status(201).send(c);
    },
  );
  app.get(
    '/cases/:id',
    {
      config: allow(['admin', 'recorder', 'viewer'], caseParam),
      preSerialization: ids.case,
      schema: { tags, params: CaseParams, response: { 200: CaseBody, 404: ErrorBody } },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      return s.cases.get(id) ?? Promise.reject(notFound(`case ${id}`));
    },
  );
  app.patch(
    '/cases/:id',
    {
      config: allow(['admin', 'recorder'], caseParam),
      preSerialization: ids.case,
      schema: {
        tags,
        summary: 'correct the case window (start; end of a closed case)',
        description:
          'Re-binds the first binding from `start` and the last to `end`; checked for overlaps like a new case. Stored data is not touched: it is found by bed and time.',
        params: CaseParams,
        body: CorrectCaseRequest,
        response: { 200: CaseBody, ...errors },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      return s.cases.correct(id, req.body as { start?: number; end?: number }, actorOf(req));
    },
  );
  app.post(
    '/cases/:id/close',
    {
      config: allow(['admin', 'recorder'], caseParam),
      preSerialization: ids.case,
      schema: { tags, summary: 'close an open case (end defaults to now)', params: CaseParams, body: CloseCaseRequest, response: { 200: CaseBody, ...errors } },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      return s.cases.close(id, (req.body as { end?: number } | undefined)?.end, actorOf(req));
    },
  );
  app.post(
    '/cases/:id/move',
    {
      config: allow(['admin', 'recorder'], (req) => {
        const b = req.body as WithReplaces;
        return { cases: [(req.params as { id: string }).id, b.replaces?.caseId], beds: [b.bed] };
      }),
      preSerialization: ids.case,
      schema: {
        tags,
        summary: 'the case moves with its patient to another bed from `at` (default now)',
        description:
          'Its earlier data stays bound to the earlier bed. Refused (409) when the target bed has an open case (unless `replaces` closes it) or the window overlaps.',
        params: CaseParams,
        body: MoveCaseRequest,
        response: { 200: CaseBody, ...errors },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const b = req.body as { bed: string; at?: number; replaces?: Replaces };
      return s.cases.move(id, { bedId: b.bed, at: b.at, replaces: b.replaces }, actorOf(req));
    },
  );
  app.get(
    '/cases/:id/timeline',
    {
      config: allow(['admin', 'recorder', 'viewer'], caseParam),
      preSerialization: ids.timeline,
      schema: {
        tags,
        summary: 'numerics, waves (windows ≤ timeline.maxWaveWindowMs only), alarms and settings of the case beds, each over its binding',
        params: CaseParams,
        querystring: Type.Object({
          from: Type.Optional(EpochMs),
          to: Type.Optional(EpochMs),
          params: Type.Optional(Type.String({ maxLength: 4000, description: 'comma-separated MDC ids (or vendor codes of unmapped parameters)' })),
          limit: Type.Integer({
            minimum: 1,
            maximum: PAGE_LIMIT.max,
            default: PAGE_LIMIT.default,
            description: 'most items of one kind (numeric points, wave blocks, alarms, settings) per page',
          }),
          cursor: Type.Optional(
            Type.String({ pattern: CURSOR_PATTERN, description: 'nextCursor of the previous page (with the same from, to, params, limit)' }),
          ),
          resolution: Type.Union(
            (Object.keys(RESOLUTIONS) as Resolution[]).map((r) => Type.Literal(r)),
            { default: 'raw', description: 'numerics raw, or means per 1 s / 1 min / 5 min computed by the database (docs/api.md "Timeline")' },
          ),
        }),
        response: { 200: TimelineBody, 400: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
      // the schema documents the response; large point and sample arrays serialize faster with JSON.stringify
      serializerCompiler: () => (data) => JSON.stringify(data),
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const q = req.query as { from?: number; to?: number; params?: string; limit: number; cursor?: string; resolution: Resolution };
      const c = s.cases.get(id);
      if (!c) throw notFound(`case ${id}`);
      const tl = await caseTimeline(c, s.series, {
        from: q.from,
        to: q.to,
        params: q.params
          ?.split(',')
          .map((p) => p.trim())
          .filter(Boolean),
        maxWaveWindowMs: config.timeline.maxWaveWindowMs,
        maxWindowMs: config.timeline.maxWindowMs,
        now: Date.now(),
        limit: q.limit,
        cursor: q.cursor,
        resolution: q.resolution,
      }).then((page) => ({ ...page, events: timelineEvents(s, c.id, page, q.cursor) }));
      if (tl.nextCursor === undefined) return tl;
      // the next page: the same window pinned (an open case's `to` would move), from the cursor on
      const next = new URLSearchParams({
        from: String(tl.from),
        to: String(tl.to),
        ...(q.params ? { params: q.params } : {}),
        limit: String(q.limit),
        cursor: tl.nextCursor,
        ...(q.resolution !== 'raw' ? { resolution: q.resolution } : {}),
      });
      return { ...tl, next: `${req.url.split('?')[0]}?${next}` };
    },
  );
  app.get(
    '/beds/:bed/latest',
    {
      config: allow(['admin', 'recorder', 'viewer'], bedParam),
      schema: {
        tags: ['live'],
        summary: 'latest value of each numeric parameter of the bed within the look-back window',
        description: "Each reading carries the case bound to the bed at the reading's own time; `caseId`/`caseSince` tell the case bound now and since when.",
        params: Type.Object({ bed: Id }),
        querystring: Type.Object({ windowMs: Type.Integer({ minimum: 1000, maximum: 86_400_000, default: 600_000 }) }),
        response: { 200: LatestBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (req) => {
      const { bed } = req.params as { bed: string };
      const { windowMs } = req.query as { windowMs: number };
      if (!s.registry.getBed(bed)) throw notFound(`bed ${bed}`);
      const now = Date.now();
      // the newest point of each series only (one per device, parameter, vendor channel), not the window
      const newest = await s.series.latestNumerics({ bed, from: now - windowMs, to: now + 60_000 });
      const latest = new Map<string, (typeof newest)[number]>();
      for (const n of newest) latest.set(`${n.device}\u0000${n.mdc ?? n.vendorCode}`, n);
      const current = s.cases.bindingAt(bed, now);
      return {
        bed,
        caseId: current?.caseId ?? null,
        caseSince: current?.since ?? null,
        t: now,
        numerics: [...latest.values()].map((n) => ({
          mdc: n.mdc,
          code: n.code,
          vendorCode: n.vendorCode,
          device: n.device,
          t: n.t,
          value: n.value,
          unit: n.unit,
          ...(n.flags ? { flags: n.flags } : {}),
          caseId: s.cases.caseIdAt(bed, n.t),
        })),
      };
    },
  );
}
