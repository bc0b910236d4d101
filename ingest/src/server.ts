/**
 * Composition of a running ingest: services, series backend, embedded (or external) broker,
 * subscriber, HTTP listener. close() is idempotent and shuts down in order: HTTP, subscriber
 * (un-acked messages stay with the broker), broker, series, database.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { IngestConfig } from '../../schemas/src/ingest-config.js';
import { build } from './app.js';
import { EmbeddedBroker } from './broker/embedded-broker.js';
import { IngestError, isTransient } from './errors.js';
import { BatchProcessor } from './mqtt/processor.js';
import { Subscriber } from './mqtt/subscriber.js';
import type { RegistryStore } from './registry/registry-store.js';
import { abortableDelay, backoffMs } from './series/http-sender.js';
import type { SeriesStore } from './series/types.js';
import { createServices, type Services } from './services.js';

export interface RunningIngest {
  url: string;
  mqttPort: number;
  mqttUrl: string;
  app: FastifyInstance;
  services: Services;
  broker: EmbeddedBroker | null;
  subscriber: Subscriber;
  close(): Promise<void>;
}

export interface StartOptions { logger: Logger; series?: SeriesStore; registry?: RegistryStore }

/** open() the series backend; while it is unreachable keep trying in the background (writes retry anyway). */
function openSeries(services: Services, logger: Logger, signal: AbortSignal): Promise<void> {
  const first = services.series.open();
  return first.catch(async (err) => {
    if (!isTransient(err)) throw err;
    logger.warn({ err: (err as Error).message }, 'series backend unreachable at start, retrying in background');
    void (async () => {
      for (let attempt = 0; !signal.aborted; attempt++) {
        try { await abortableDelay(backoffMs(Math.min(attempt, 8), 200, 5000), signal); } catch { return; }
        try { await services.series.open(); logger.info('series backend opened'); return; } catch (e) {
          if (!isTransient(e)) { logger.error({ err: (e as Error).message }, 'series backend open failed'); return; }
        }
      }
    })();
  });
}

export async function startServer(config: IngestConfig, o: StartOptions): Promise<RunningIngest> {
  const logger = o.logger;
  const services = createServices(config, { series: o.series, registry: o.registry });
  const stop = new AbortController();
  const cleanups: (() => Promise<unknown> | unknown)[] = [() => { services.db.close(); }, () => services.series.close()];
  const unwind = async () => { for (const c of cleanups.splice(0).reverse()) await c(); };
  try {
    await openSeries(services, logger.child({ component: 'series' }), stop.signal);
    services.dedupe.prune(Date.now() - config.db.dedupeRetentionDays * 86_400_000);

    let broker: EmbeddedBroker | null = null;
    let mqttUrl: string;
    let password: string;
    if (config.broker.kind === 'embedded') {
      password = config.secrets.brokerPassword ?? randomBytes(24).toString('base64url');
      broker = new EmbeddedBroker({
        host: config.broker.host, port: config.broker.port, prefix: config.mqtt.prefix,
        serviceAccount: { username: config.broker.username, password }, registry: services.registry, logger: logger.child({ component: 'broker' }),
      });
      await broker.start();
      cleanups.push(() => broker?.close());
      mqttUrl = broker.url;
    } else {
      if (!config.broker.url) throw new IngestError('ING_ERR_CONFIG', 'fatal', 'broker.url required for an external broker');
      mqttUrl = config.broker.url;
      password = config.secrets.brokerPassword ?? '';
    }

    const processor = new BatchProcessor({
      prefix: config.mqtt.prefix, registry: services.registry, cases: services.cases, series: services.series,
      dedupe: services.dedupe, deadLetters: services.deadLetters, metrics: services.metrics,
      logger: logger.child({ component: 'processor' }), retryMinMs: config.series.retryMinMs, retryMaxMs: config.series.retryMaxMs,
    });
    const subscriber = new Subscriber({
      url: mqttUrl, username: config.broker.username, password, clientId: config.mqtt.clientId, prefix: config.mqtt.prefix,
      keepaliveS: config.mqtt.keepaliveS, batchMaxEnvelopes: config.mqtt.batchMaxEnvelopes, maxPending: config.mqtt.maxPending,
      publishVitals: config.mqtt.publishVitals, processor, logger: logger.child({ component: 'subscriber' }),
    });
    cleanups.push(() => subscriber.close());
    await subscriber.start();
    services.metrics.gauge('pending_messages', 'Messages received and not yet acknowledged', () => subscriber.pending);
    services.metrics.gauge('dead_letters', 'Rows in the dead-letter store', () => services.deadLetters.count());
    if (broker) {
      const b = broker;
      services.metrics.gauge('broker_clients', 'Clients connected to the embedded broker', () => b.connectedClients);
      services.metrics.gauge('broker_auth_failures', 'Refused MQTT logins', () => b.stats.authFailures);
      services.metrics.gauge('broker_publish_denied', 'Refused publishes (topic ACL)', () => b.stats.publishDenied);
    }

    const app = await build({
      config, logger, services,
      status: {
        brokerUp: broker ? () => broker.up : undefined, subscriberConnected: () => subscriber.connected,
        lastWriteError: () => processor.lastWriteError, pending: () => subscriber.pending,
      },
    });
    cleanups.push(() => app.close());
    await app.listen({ host: config.http.host, port: config.http.port });
    const addr = app.server.address();
    const httpPort = typeof addr === 'object' && addr ? addr.port : config.http.port;
    let closing: Promise<void> | null = null;
    return {
      url: `http://${config.http.host}:${httpPort}`, mqttPort: broker ? broker.port : Number(new URL(mqttUrl).port || 1883), mqttUrl,
      app, services, broker, subscriber,
      close() {
        closing ??= (async () => { stop.abort(); await unwind(); logger.info('ingest stopped'); })();
        return closing;
      },
    };
  } catch (err) {
    stop.abort();
    await unwind();
    throw err;
  }
}
