/** Cases (POST /cases, GET /cases/:id, POST /cases/:id/close, timeline) and GET /beds/:bed/latest. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { IngestConfig } from '../../../schemas/src/ingest-config.js';
import type { Services } from '../services.js';
import { EpochMs, Id, notFound } from './common.js';
import { caseTimeline } from './timeline.js';

export function caseRoutes(app: FastifyInstance, s: Services, config: IngestConfig): void {
  const tags = ['cases'];
  app.post('/cases', {
    schema: {
      tags, summary: 'open a case on a bed (start defaults to now; with end it is created closed)',
      body: Type.Object({
        bed: Id, start: Type.Optional(EpochMs), end: Type.Optional(EpochMs),
        externalIds: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 200 }))),
      }, { additionalProperties: false }),
    },
  }, async (req, reply) => {
    const b = req.body as { bed: string; start?: number; end?: number; externalIds?: Record<string, string> };
    return reply.status(201).send(s.cases.create({ bedId: b.bed, start: b.start, end: b.end, externalIds: b.externalIds }));
  });
  app.get('/cases/:id', { schema: { tags, params: Type.Object({ id: Type.String({ maxLength: 64 }) }) } }, async (req) => {
    const { id } = req.params as { id: string };
    return s.cases.get(id) ?? Promise.reject(notFound(`case ${id}`));
  });
  app.post('/cases/:id/close', {
    schema: { tags, params: Type.Object({ id: Type.String({ maxLength: 64 }) }), body: Type.Optional(Type.Object({ end: Type.Optional(EpochMs) })) },
  }, async (req) => {
    const { id } = req.params as { id: string };
    return s.cases.close(id, (req.body as { end?: number } | undefined)?.end);
  });
  app.get('/cases/:id/timeline', {
    schema: {
      tags, summary: 'numerics, waves (windows ≤ timeline.maxWaveWindowMs only), alarms and settings of the case bed',
      params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
      querystring: Type.Object({
        from: Type.Optional(EpochMs), to: Type.Optional(EpochMs),
        params: Type.Optional(Type.String({ maxLength: 4000, description: 'comma-separated MDC ids (or vendor codes of unmapped parameters)' })),
      }),
    },
  }, async (req) => {
    const { id } = req.params as { id: string };
    const q = req.query as { from?: number; to?: number; params?: string };
    const c = s.cases.get(id);
    if (!c) throw notFound(`case ${id}`);
    return caseTimeline(c, s.series, {
      from: q.from, to: q.to, params: q.params?.split(',').map((p) => p.trim()).filter(Boolean),
      maxWaveWindowMs: config.timeline.maxWaveWindowMs, maxWindowMs: config.timeline.maxWindowMs, now: Date.now(),
    });
  });
  app.get('/beds/:bed/latest', {
    schema: {
      tags: ['live'], summary: 'latest value of each numeric parameter of the bed within the look-back window',
      params: Type.Object({ bed: Id }),
      querystring: Type.Object({ windowMs: Type.Integer({ minimum: 1000, maximum: 86_400_000, default: 600_000 }) }),
    },
  }, async (req) => {
    const { bed } = req.params as { bed: string };
    const { windowMs } = req.query as { windowMs: number };
    if (!s.registry.getBed(bed)) throw notFound(`bed ${bed}`);
    const now = Date.now();
    const res = await s.series.query({ bed, from: now - windowMs, to: now + 60_000, kinds: ['numeric'] });
    const latest = new Map<string, (typeof res.numerics)[number]>();
    for (const n of res.numerics) latest.set(`${n.device}\u0000${n.mdc ?? n.vendorCode}`, n);
    return {
      bed, caseId: s.cases.coveringCase(bed, now)?.id ?? null, t: now,
      numerics: [...latest.values()].map((n) => ({ mdc: n.mdc, code: n.code, vendorCode: n.vendorCode, device: n.device, t: n.t, value: n.value, unit: n.unit, ...(n.flags ? { flags: n.flags } : {}) })),
    };
  });
}
