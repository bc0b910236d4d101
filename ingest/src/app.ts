/**
 * build(opts) returns the Fastify app (no listen): registry, cases, timelines, health, metrics,
 * API tokens, OpenAPI at /docs/json. Every route declares its roles (`config: allow([...])`); the
 * auth hook, installed before any route, enforces them (auth/auth-hook.ts). Services (db, stores)
 * are created from config unless passed in; the app closes what it created.
 */
import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { IngestConfig } from '../../schemas/src/ingest-config.js';
import { installAuth, openapiAccess } from './auth/auth-hook.js';
import { allow, ROLES } from './auth/roles.js';
import type { RegistryStore } from './registry/registry-store.js';
import { auditRoutes } from './routes/audit.js';
import { caseRoutes } from './routes/cases.js';
import { chartRoutes } from './routes/chart.js';
import { countClientErrors, errorHandler, frameworkErrors, routeNotFound } from './routes/common.js';
import { hisRoutes } from './routes/his.js';
import { hl7OutRoutes } from './routes/hl7-out.js';
import { eventRoutes } from './routes/events.js';
import { opsRoutes } from './routes/ops.js';
import { registryRoutes } from './routes/registry.js';
import { reportRoutes } from './routes/reports.js';
import { tokenRoutes } from './routes/tokens.js';
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
  /** serve HTTPS only (config http.tls, read by ingest/src/tls-files.ts) */
  https?: import('node:https').ServerOptions;
}

export async function build(opts: BuildOptions): Promise<FastifyInstance> {
  const root = opts.logger ?? pino({ level: opts.config.log.level });
  const logger = root.child({ component: 'http' });
  const owned = !opts.services;
  const services = opts.services ?? createServices(opts.config, { series: opts.series, registry: opts.registry });
  if (owned) await services.series.open();
  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1_048_576,
    ...(opts.https ? { https: opts.https } : {}),
    frameworkErrors: frameworkErrors(services.metrics),
  }) as unknown as FastifyInstance;
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(routeNotFound);
  app.addHook('onResponse', countClientErrors(services.metrics));
  await installAuth(app, services, opts.config.auth.rateLimit, root);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'orlink ingest API',
        version: '1',
        description:
          'Registry, cases, timelines, health and metrics (docs/api.md). Every operation but /health/live needs an API token ' +
          '(`Authorization: Bearer orl_<id>_<secret>`); the roles allowed are in its description and in `x-roles`.',
      },
      tags: [{ name: 'registry' }, { name: 'cases' }, { name: 'live' }, { name: 'ops' }, { name: 'auth' }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'orl_<id>_<secret>', description: 'API token (docs/api.md "Authentication")' },
        },
      },
    },
    transform: openapiAccess,
  });
  opsRoutes(app, services, opts.status ?? {});
  registryRoutes(app, services);
  caseRoutes(app, services, opts.config);
  chartRoutes(app, services, opts.config);
  eventRoutes(app, services);
  hisRoutes(app, services, opts.config);
  hl7OutRoutes(app, services, opts.config);
  reportRoutes(app, services);
  auditRoutes(app, services);
  tokenRoutes(app, services);
  app.get('/docs/json', { config: allow(ROLES), schema: { hide: true } }, async () => app.swagger());
  if (owned) {
    app.addHook('onClose', async () => {
      await services.series.close();
      services.db.close();
    });
  }
  return app;
}
