/**
 * Reports (docs/reports.md): GET /cases/:id/billing (billable monitoring time of a case; admin,
 * recorder — a site-limited recorder only for cases of its site) and GET /qc (the QC report over a
 * window; admin, viewer — aggregates and case ids only, no patient identifier; a site-limited viewer
 * only for its site). Both answer JSON, or CSV (RFC 4180, header row) with `format=csv`.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { forbidden } from '../auth/auth-hook.js';
import { allow, caseParam } from '../auth/roles.js';
import { EventStore } from '../events/event-store.js';
import { BILLING_CSV_HEADER, billingRows, computeBilling } from '../reports/billing.js';
import { toCsv } from '../reports/csv.js';
import { FAMILIES, QC_FAMILIES } from '../reports/families.js';
import { computeQc, QC_CSV_HEADER, qcRows, REQUIRED_EVENTS } from '../reports/qc.js';
import type { Services } from '../services.js';
import { CaseParams } from './case-schemas.js';
import { EpochMs, ErrorBody, Id, notFound } from './common.js';

const Format = Type.Union([Type.Literal('json'), Type.Literal('csv')], {
  default: 'json',
  description: 'json (default) or csv (text/csv, RFC 4180, header row)',
});
const lit = (xs: readonly string[]) => Type.Union(xs.map((x) => Type.Literal(x)));

const BillingBody = Type.Object({
  caseId: Type.String(),
  from: EpochMs,
  to: Type.Integer({ description: 'case end; for an open case the time of the report' }),
  open: Type.Boolean(),
  caseMinutes: Type.Integer(),
  families: Type.Array(
    Type.Object({
      family: lit(FAMILIES),
      monitoredMinutes: Type.Integer(),
      measurements: Type.Union([Type.Integer(), Type.Null()], { description: 'NIBP: cuff measurements (distinct times); null for other families' }),
    }),
  ),
  nibpTruncated: Type.Boolean(),
  rule: Type.String(),
});

const QcBody = Type.Object({
  from: EpochMs,
  to: EpochMs,
  site: Type.Union([Type.String(), Type.Null()]),
  cases: Type.Array(
    Type.Object({
      caseId: Type.String(),
      beds: Type.Array(Type.String()),
      start: EpochMs,
      end: Type.Union([EpochMs, Type.Null()]),
      anesthesia: Type.Object({
        from: Type.Integer(),
        to: Type.Integer(),
        minutes: Type.Integer(),
        startFrom: lit(['anesthesia-start', 'case']),
        endFrom: lit(['out-of-room', 'surgery-end', 'case']),
        fromEvents: Type.Boolean({ description: 'false: an event was missing and the case window stood in for it' }),
      }),
      families: Type.Array(Type.Object({ family: lit(QC_FAMILIES), monitored: Type.Boolean(), monitoredMinutes: Type.Integer(), share: Type.Number() })),
      hypothermia: Type.Array(Type.Object({ start: Type.Integer(), end: Type.Integer(), minutes: Type.Integer(), minTempC: Type.Number() })),
      minutesToIncision: Type.Union([Type.Number(), Type.Null()]),
      completeness: Type.Object({ present: Type.Array(lit(REQUIRED_EVENTS)), missing: Type.Array(lit(REQUIRED_EVENTS)), share: Type.Number() }),
    }),
  ),
  devices: Type.Array(
    Type.Object({
      device: Type.String(),
      beds: Type.Array(Type.String()),
      caseMinutes: Type.Integer(),
      minutesWithData: Type.Integer(),
      uptime: Type.Union([Type.Number(), Type.Null()]),
    }),
  ),
  rooms: Type.Array(Type.Object({ site: Type.String(), room: Type.String(), caseMinutes: Type.Integer(), monitoredMinutes: Type.Integer() })),
});

/** 200 as JSON or CSV: the OpenAPI document lists both media types. */
const jsonOrCsv = (body: TSchema) => ({
  content: { 'application/json': { schema: body }, 'text/csv': { schema: Type.String({ description: 'RFC 4180, header row, CRLF' }) } },
});

function sendCsv(reply: FastifyReply, name: string, csv: string): FastifyReply {
  return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}.csv"`).send(csv);
}

export function reportRoutes(app: FastifyInstance, s: Services): void {
  const events = new EventStore(s.db, s.cases, s.audit);
  app.get(
    '/cases/:id/billing',
    {
      config: allow(['admin', 'recorder'], caseParam),
      schema: {
        tags: ['cases'],
        summary: 'billable monitoring time of a case per parameter family',
        description:
          "Minutes of the case window in which each family was monitored (a valid value stored for the case's bed in the minute), " +
          'and the NIBP measurement count (docs/reports.md).',
        params: CaseParams,
        querystring: Type.Object({ format: Format }),
        response: { 200: jsonOrCsv(BillingBody), 404: ErrorBody },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const c = s.cases.get(id);
      if (!c) throw notFound(`case ${id}`);
      const b = await computeBilling(s.series, c, Date.now());
      if ((req.query as { format: string }).format === 'csv') return sendCsv(reply, `billing-${c.id}`, toCsv(BILLING_CSV_HEADER, billingRows(b)));
      return b;
    },
  );
  app.get(
    '/qc',
    {
      config: allow(['admin', 'viewer']),
      schema: {
        tags: ['cases'],
        summary: 'QC report over the cases overlapping [from, to)',
        description:
          'Per case: ECG, NIBP, SpO2, temperature, EtCO2 monitored and share of anesthesia time, hypothermia episodes, ' +
          'minutes from anesthesia start to incision, record completeness; per device: link uptime; per room: monitored minutes. ' +
          'Case ids only, no patient identifiers. At most 31 days (docs/reports.md).',
        querystring: Type.Object({ from: EpochMs, to: EpochMs, site: Type.Optional(Id), format: Format }),
        response: { 200: jsonOrCsv(QcBody), 400: ErrorBody, 403: ErrorBody },
      },
    },
    async (req, reply) => {
      const q = req.query as { from: number; to: number; site?: string; format: string };
      const limited = req.auth?.site ?? undefined;
      if (limited && q.site !== undefined && q.site !== limited) throw forbidden(`this token is limited to site ${limited}`);
      const r = await computeQc(
        { series: s.series, cases: s.cases, events, registry: s.registry },
        { from: q.from, to: q.to, site: q.site, withinSite: limited },
        Date.now(),
      );
      if (q.format === 'csv') return sendCsv(reply, `qc-${q.from}-${q.to}`, toCsv(QC_CSV_HEADER, qcRows(r)));
      return r;
    },
  );
}
