/**
 * Outbound HL7 (docs/hl7-out.md): GET /hl7-out/status (admin, biomed, metrics), GET /hl7-out/dead-letters
 * (admin, biomed), POST /hl7-out/dead-letters/:id/retry (admin). The listing carries no patient
 * identifier: the receiver's error text (which may quote the message) and the message itself are
 * given to admin only, with `withMessage=true`, and every such response is audited per case as
 * `case.read-identifiers`. A retry is audited as `hl7out.retry`.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { IngestConfig } from '../../../schemas/src/ingest-config.js';
import { allow } from '../auth/roles.js';
import { OutboundQueue } from '../hl7-out/queue.js';
import type { Services } from '../services.js';
import { actorOf, EpochMs, ErrorBody, notFound } from './common.js';

const Nullable = <T extends ReturnType<typeof Type.String>>(s: T) => Type.Union([s, Type.Null()]);
const NullableMs = Type.Union([EpochMs, Type.Null()]);

const StatusBody = Type.Object({
  endpoints: Type.Array(
    Type.Object({
      endpoint: Type.String(),
      queued: Type.Integer(),
      queuedBytes: Type.Integer(),
      oldestAgeMs: Type.Union([Type.Integer(), Type.Null()]),
      lastAckAt: NullableMs,
      lastAckCode: Nullable(Type.String()),
      acked: Type.Integer(),
      dead: Type.Integer(),
    }),
  ),
  queueMaxBytes: Type.Integer(),
});

const DeadLetter = Type.Object({
  id: Type.Integer(),
  endpoint: Type.String(),
  kind: Type.String(),
  controlId: Type.String(),
  caseId: Nullable(Type.String()),
  windowFrom: NullableMs,
  windowTo: NullableMs,
  createdAt: EpochMs,
  deadAt: NullableMs,
  attempts: Type.Integer(),
  ackCode: Nullable(Type.String()),
  bytes: Type.Integer(),
  /** admin only: our reason with the receiver's error text */
  reason: Type.Optional(Nullable(Type.String())),
  /** admin only, with withMessage=true: the HL7 message (patient identifiers) */
  message: Type.Optional(Type.String()),
});

export function hl7OutRoutes(app: FastifyInstance, s: Services, config: IngestConfig): void {
  const tags = ['ops'];
  const queue = new OutboundQueue(s.db, config.hl7Out.queueMaxBytes);
  const names = config.hl7Out.endpoints.map((e) => e.name);
  app.get(
    '/hl7-out/status',
    {
      config: allow(['admin', 'biomed']),
      schema: { tags, summary: 'outbound HL7 per endpoint: messages not yet ACKed, age of the oldest, last ACK, dead letters', response: { 200: StatusBody } },
    },
    async () => {
      const now = Date.now();
      return {
        queueMaxBytes: config.hl7Out.queueMaxBytes,
        endpoints: queue.status(names).map(({ oldestAt, ...e }) => ({ ...e, oldestAgeMs: oldestAt === null ? null : Math.max(0, now - oldestAt) })),
      };
    },
  );
  app.get(
    '/hl7-out/dead-letters',
    {
      config: allow(['admin', 'biomed']),
      schema: {
        tags,
        summary: 'dead-lettered outbound HL7 messages, newest first (no patient identifiers unless admin asks withMessage)',
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }), withMessage: Type.Boolean({ default: false }) }),
        response: { 200: Type.Object({ count: Type.Integer(), items: Type.Array(DeadLetter) }), 403: ErrorBody },
      },
    },
    async (req) => {
      const { limit, withMessage } = req.query as { limit: number; withMessage: boolean };
      const admin = req.auth?.role === 'admin';
      const dead = queue.deadLetters(limit);
      const items = dead.map((d) => ({
        id: d.id,
        endpoint: d.endpoint,
        kind: d.kind,
        controlId: d.controlId,
        caseId: d.caseId,
        windowFrom: d.windowFrom,
        windowTo: d.windowTo,
        createdAt: d.createdAt,
        deadAt: d.deadAt,
        attempts: d.attempts,
        ackCode: d.ackCode,
        bytes: d.bytes,
        ...(admin ? { reason: d.reason } : {}),
        ...(admin && withMessage ? { message: d.message } : {}),
      }));
      if (admin && withMessage) {
        for (const c of new Set(dead.map((d) => d.caseId).filter((c): c is string => !!c))) {
          s.audit.record(actorOf(req), 'case.read-identifiers', 'case', c, { route: `${req.method} ${req.routeOptions.url}` });
        }
      }
      return { count: queue.status(names).reduce((a, e) => a + e.dead, 0), items };
    },
  );
  app.post(
    '/hl7-out/dead-letters/:id/retry',
    {
      config: allow(['admin']),
      schema: {
        tags,
        summary: "put a dead-lettered message back in its endpoint's queue (sent next, same control id)",
        params: Type.Object({ id: Type.Integer({ minimum: 1 }) }),
        response: { 200: Type.Object({ id: Type.Integer(), state: Type.Literal('queued') }), 404: ErrorBody },
      },
    },
    async (req) => {
      const { id } = req.params as { id: number };
      const m = queue.get(id);
      if (!m || !queue.retryDead(id)) throw notFound(`dead-lettered HL7 message ${id}`);
      s.audit.record(actorOf(req), 'hl7out.retry', 'hl7-out', String(id), { endpoint: m.endpoint, controlId: m.controlId, kind: m.kind });
      return { id, state: 'queued' as const };
    },
  );
}
