/**
 * build(opts) returns the Fastify app (no listen): registry, cases, timelines, health, metrics,
 * OpenAPI at /docs/json. Services (db, stores) are created from config unless passed in; the app
 * closes what it created.
 */
import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { IngestConfig } from '../../schemas/src/ingest-config.js';
import type { RegistryStore } from './registry/registry-store.js';
import { auditRoutes } from './routes/audit.js';
import { caseRoutes } from './routes/cases.js';
import { errorHandler } from './routes/common.js';
import { opsRoutes } from './routes/ops.js';
import { registryRoutes } from './routes/registry.js';
import type { SeriesStore } from './series/types.js';
import { createServices, type RuntimeStatus, type Services } from './services.js';

export interface BuildOptions {
  config: IngestConfig;
  logger?: Logger;
  series?: SeriesStore;
  registry?: RegistryStore;
  /** shared services (startIngest passes them); otherwise created from config and closed with the app */
  services?: Services;
  status?: RuntimeStatus;
}

export async function build(opts: BuildOptions): Promise<FastifyInstance> {
  const logger = (opts.logger ?? pino({ level: opts.config.log.level })).child({ component: 'http' });
  const owned = !opts.services;
  const services = opts.services ?? createServices(opts.config, { series: opts.series, registry: opts.registry });
  if (owned) await services.series.open();
  const app = Fastify({
    loggerInstance: logger, logController: new LogController({ disableRequestLogging: true }), bodyLimit: 1_048_576,
  }) as unknown as FastifyInstance;
  app.setErrorHandler(errorHandler);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'orlink ingest API', version: '1', description: 'Registry, cases, timelines, health and metrics (docs/api.md).' },
      tags: [{ name: 'registry' }, { name: 'cases' }, { name: 'live' }, { name: 'ops' }],
    },
  });
  opsRoutes(app, services, opts.status ?? {});
  registryRoutes(app, services);
  caseRoutes(app, services, opts.config);
  auditRoutes(app, services);
  app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger());
  if (owned) {
    app.addHook('onClose', async () => {
      await services.series.close();
      services.db.close();
    });
  }
  return app;
}
