/**
 * GET /cases/:id/chart — the anesthesia-record chart of a case: one value per parameter per grid
 * point with the rule that chose it and the readings rejected as artifacts (docs/chart.md; logic in
 * chart/). Reads: admin, recorder, viewer (a token limited to a site: that site's cases only). The
 * answer carries no patient identifier (the case id only).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { IngestConfig } from '../../../schemas/src/ingest-config.js';
import { allow, caseParam } from '../auth/roles.js';
import { caseChart, GRIDS, type Grid } from '../chart/chart.js';
import type { Services } from '../services.js';
import { CaseParams } from './case-schemas.js';
import { EpochMs, ErrorBody, notFound } from './common.js';

const Nullable = <T extends ReturnType<typeof Type.Number>>(s: T) => Type.Union([s, Type.Null()]);
const REASONS = ['invalid', 'flagged', 'impossible', 'art-flush', 'art-zero', 'spo2-dropout', 'spo2-motion', 'ecg-cautery'] as const;

export const ChartBody = Type.Object({
  caseId: Type.String(),
  grid: Type.String(),
  gridMs: Type.Integer(),
  from: EpochMs,
  to: EpochMs,
  series: Type.Array(
    Type.Object({
      mdc: Type.Union([Type.String(), Type.Null()]),
      code: Type.Union([Type.Integer(), Type.Null()]),
      vendorCode: Type.String(),
      unit: Type.String(),
      device: Type.String(),
      label: Type.Optional(Type.String()),
      family: Type.Union(['nibp', 'art', 'spo2', 'ecg-hr', 'generic'].map((f) => Type.Literal(f))),
      points: Type.Array(
        Type.Object({
          t: Type.Integer({ description: 'grid point; its window is [t − gridMs/2, t + gridMs/2)' }),
          value: Nullable(Type.Number()),
          rule: Type.Union([Type.Literal('median'), Type.Literal('nibp-last'), Type.Literal('none')]),
          n: Type.Integer({ description: 'accepted readings the value comes from' }),
          at: Type.Optional(Type.Integer({ description: 'nibp-last: time of the cuff measurement' })),
          rejected: Type.Optional(
            Type.Array(
              Type.Object({
                t: Type.Integer(),
                value: Nullable(Type.Number()),
                reason: Type.Union(REASONS.map((r) => Type.Literal(r))),
              }),
              { description: 'readings of the window rejected as artifacts (at most 200 listed)' },
            ),
          ),
          rejectedCount: Type.Optional(Type.Integer()),
        }),
      ),
    }),
  ),
});

export function chartRoutes(app: FastifyInstance, s: Services, config: IngestConfig): void {
  app.get(
    '/cases/:id/chart',
    {
      config: allow(['admin', 'recorder', 'viewer'], caseParam),
      schema: {
        tags: ['cases'],
        summary: 'anesthesia-record chart: one value per parameter per grid point, artifacts rejected (docs/chart.md)',
        params: CaseParams,
        querystring: Type.Object({
          grid: Type.Union(
            (Object.keys(GRIDS) as Grid[]).map((g) => Type.Literal(g)),
            { default: '5m' },
          ),
          from: Type.Optional(EpochMs),
          to: Type.Optional(EpochMs),
          params: Type.Optional(Type.String({ maxLength: 4000, description: 'comma-separated MDC ids (or vendor codes of unmapped parameters)' })),
        }),
        response: { 200: ChartBody, 400: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const q = req.query as { grid: Grid; from?: number; to?: number; params?: string };
      const c = s.cases.get(id);
      if (!c) throw notFound(`case ${id}`);
      return caseChart(c, s.series, {
        grid: q.grid,
        from: q.from,
        to: q.to,
        params: q.params
          ?.split(',')
          .map((p) => p.trim())
          .filter(Boolean),
        now: Date.now(),
        maxWindowMs: config.timeline.maxWindowMs,
      });
    },
  );
}
