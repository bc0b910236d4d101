/** /health (live/ready), /metrics (Prometheus), /dead-letters (ops view, payload as base64). Only /health/live is open. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { allow, PUBLIC } from '../auth/roles.js';
import type { RuntimeStatus, Services } from '../services.js';

export function opsRoutes(app: FastifyInstance, s: Services, status: RuntimeStatus): void {
  const check = async () => {
    const series = await s.series.ping();
    const broker = status.brokerUp ? status.brokerUp() : null;
    const subscriber = status.subscriberConnected ? status.subscriberConnected() : null;
    const ready = series && broker !== false && subscriber !== false;
    return {
      status: ready ? 'ok' : 'degraded',
      live: true,
      ready,
      checks: { series, broker, subscriber, lastWriteError: status.lastWriteError?.() ?? null, pending: status.pending?.() ?? 0 },
    };
  };
  const tags = ['ops'];
  app.get(
    '/health',
    { config: allow(['admin', 'biomed']), schema: { tags, summary: 'readiness: series backend reachable, broker up, subscriber connected (503 when not)' } },
    async (_req, reply) => {
      const h = await check();
      return reply.status(h.ready ? 200 : 503).send(h);
    },
  );
  app.get('/health/live', { config: PUBLIC, schema: { tags, summary: 'liveness: the process answers' } }, async () => ({ live: true }));
  app.get('/health/ready', { config: allow(['admin', 'biomed']), schema: { tags, summary: 'same as /health' } }, async (_req, reply) => {
    const h = await check();
    return reply.status(h.ready ? 200 : 503).send(h);
  });
  app.get('/metrics', { config: allow(['admin', 'metrics']), schema: { tags, summary: 'Prometheus text exposition' } }, async (_req, reply) =>
    reply.type(s.metrics.contentType).send(await s.metrics.render()),
  );
  app.get(
    '/dead-letters',
    {
      config: allow(['admin', 'biomed']),
      schema: {
        tags,
        summary: 'latest dead-lettered messages',
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }),
      },
    },
    async (req) => {
      const { limit } = req.query as { limit: number };
      return { count: s.deadLetters.count(), items: s.deadLetters.list(limit).map((d) => ({ ...d, payload: d.payload.toString('base64') })) };
    },
  );
}
