/**
 * Composition of a running ingest: services, series backend, embedded (or external) broker,
 * subscriber, HTTP listener. close() is idempotent and shuts down in order: HTTP, subscriber
 * (un-acked messages stay with the broker), intake (un-stored publishes get no PUBACK), broker,
 * series, database.
 *
 * Embedded broker (default `broker.ackAfterWrite`): data publishes are processed inside the broker
 * (DurableIntake, PUBACK after the write) and the internal subscriber subscribes to `status` only,
 * so nothing is processed twice. External broker: the subscriber takes data and status.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { IngestConfig } from '../../schemas/src/ingest-config.js';
import { build } from './app.js';
import { DurableIntake } from './broker/durable-intake.js';
import { EmbeddedBroker } from './broker/embedded-broker.js';
import { startCasePublisher } from './cases/case-topic.js';
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
  /** the embedded broker's ack-after-write path (null with an external broker or ackAfterWrite false) */
  intake: DurableIntake | null;
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

    const processor = new BatchProcessor({
      prefix: config.mqtt.prefix, registry: services.registry, cases: services.cases, series: services.series,
      dedupe: services.dedupe, deadLetters: services.deadLetters, metrics: services.metrics,
      logger: logger.child({ component: 'processor' }), retryMinMs: config.series.retryMinMs, retryMaxMs: config.series.retryMaxMs,
      intake: config.intake, reader: services.series,
    });
    let broker: EmbeddedBroker | null = null;
    let intake: DurableIntake | null = null;
    let mqttUrl: string;
    let password: string;
    if (config.broker.kind === 'embedded') {
      password = config.secrets.brokerPassword ?? randomBytes(24).toString('base64url');
      if (config.broker.ackAfterWrite) {
        intake = new DurableIntake({
          processor, batchMaxEnvelopes: config.mqtt.batchMaxEnvelopes, logger: logger.child({ component: 'intake' }),
          batchMaxBytes: config.broker.limits.intakeBatchMaxBytes, concurrency: config.broker.limits.intakeConcurrency,
          onVitals: (vitals) => {
            if (!config.mqtt.publishVitals) return;
            for (const v of vitals) broker?.publish(v.topic, v.payload, { qos: 0, retain: true });
            processor.countVitals(vitals.length);
          },
        });
      }
      broker = new EmbeddedBroker({
        host: config.broker.host, port: config.broker.port, prefix: config.mqtt.prefix,
        serviceAccount: { username: config.broker.username, password }, registry: services.registry, logger: logger.child({ component: 'broker' }),
        ...(intake ? { intake } : {}),
        limits: config.broker.limits, reservedClientIds: [config.mqtt.clientId], metrics: services.metrics,
      });
      await broker.start();
      cleanups.push(() => broker?.close());
      if (intake) { const i = intake; cleanups.push(() => i.close()); }
      mqttUrl = broker.url;
    } else {
      if (!config.broker.url) throw new IngestError('ING_ERR_CONFIG', 'fatal', 'broker.url required for an external broker');
      mqttUrl = config.broker.url;
      password = config.secrets.brokerPassword ?? '';
    }

    const subscriber = new Subscriber({
      url: mqttUrl, username: config.broker.username, password, clientId: config.mqtt.clientId, prefix: config.mqtt.prefix,
      keepaliveS: config.mqtt.keepaliveS, batchMaxEnvelopes: config.mqtt.batchMaxEnvelopes, maxPending: config.mqtt.maxPending,
      publishVitals: config.mqtt.publishVitals, processor, logger: logger.child({ component: 'subscriber' }),
      protocolVersion: config.broker.protocolVersion, sessionExpiryS: config.broker.sessionExpiryS,
      ...(config.broker.shareGroup ? { shareGroup: config.broker.shareGroup } : {}),
      kinds: intake ? ['status'] : ['data', 'status'],
      maxStatusBytes: config.broker.limits.maxStatusBytes, metrics: services.metrics,
    });
    cleanups.push(() => subscriber.close());
    await subscriber.start();
    // retained `{prefix}/{site}/{room}/{bed}/case`: every case binding change, and the state of each bed now
    const embedded = broker;
    cleanups.push(startCasePublisher({
      prefix: config.mqtt.prefix, cases: services.cases, registry: services.registry, logger: logger.child({ component: 'case-topic' }),
      publish: embedded
        ? (topic, payload) => embedded.publish(topic, payload, { qos: 1, retain: true })
        : (topic, payload) => subscriber.publish(topic, payload, { qos: 1, retain: true }),
    }));
    services.metrics.gauge('pending_messages', 'Messages received and not yet acknowledged', () => subscriber.pending + (intake?.pending ?? 0));
    services.metrics.gauge('dead_letters', 'Rows in the dead-letter store', () => services.deadLetters.count());
    if (broker) {
      const b = broker;
      services.metrics.gauge('broker_clients', 'Clients connected to the embedded broker', () => b.connectedClients);
      services.metrics.gauge('broker_auth_failures', 'Refused MQTT logins', () => b.stats.authFailures);
      services.metrics.gauge('broker_publish_denied', 'Refused publishes (topic ACL)', () => b.stats.publishDenied);
      services.metrics.gauge('broker_intake_not_acked', 'Data publishes answered without PUBACK (shutdown, processing error)', () => b.stats.intakeRefused);
    }
    if (intake) {
      const i = intake;
      services.metrics.gauge('intake_batches', 'Batches of gateway publishes stored before their PUBACK', () => i.stats.batches);
      services.metrics.gauge('intake_abandoned', 'Queued publishes dropped unprocessed because their connection was gone', () => i.stats.abandoned);
    }

    const app = await build({
      config, logger, services,
      status: {
        brokerUp: broker ? () => broker.up : undefined, subscriberConnected: () => subscriber.connected,
        lastWriteError: () => processor.lastWriteError, pending: () => subscriber.pending + (intake?.pending ?? 0),
      },
    });
    cleanups.push(() => app.close());
    await app.listen({ host: config.http.host, port: config.http.port });
    const addr = app.server.address();
    const httpPort = typeof addr === 'object' && addr ? addr.port : config.http.port;
    let closing: Promise<void> | null = null;
    return {
      url: `http://${config.http.host}:${httpPort}`, mqttPort: broker ? broker.port : Number(new URL(mqttUrl).port || 1883), mqttUrl,
      app, services, broker, intake, subscriber,
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
