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
import type tls from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { IngestConfig } from '../../schemas/src/ingest-config.js';
import { build } from './app.js';
import { DurableIntake } from './broker/durable-intake.js';
import { EmbeddedBroker } from './broker/embedded-broker.js';
import { startCasePublisher } from './cases/case-topic.js';
import { IngestError, isTransient } from './errors.js';
import { HisFeed } from './his/his-feed.js';
import { HisListener } from './his/his-listener.js';
import { Hl7OutService } from './hl7-out/service.js';
import { BatchProcessor } from './mqtt/processor.js';
import { Subscriber } from './mqtt/subscriber.js';
import { startConfigPublisher } from './registry/config-publisher.js';
import { registerFleetMetrics } from './monitoring/fleet-metrics.js';
import type { RegistryStore } from './registry/registry-store.js';
import { abortableDelay, backoffMs } from './series/http-sender.js';
import type { SeriesStore } from './series/types.js';
import { createServices, type Services } from './services.js';
import { readTlsServerFiles } from './tls-files.js';

export interface RunningIngest {
  url: string;
  mqttPort: number;
  mqttUrl: string;
  /** the embedded broker's mqtts listener (broker.tls), else null */
  mqttsPort: number | null;
  mqttsUrl: string | null;
  app: FastifyInstance;
  services: Services;
  broker: EmbeddedBroker | null;
  /** the embedded broker's ack-after-write path (null with an external broker or ackAfterWrite false) */
  intake: DurableIntake | null;
  subscriber: Subscriber;
  /** the HIS MLLP listener (his.enabled), else null */
  his: HisListener | null;
  /** outbound HL7 PCD-01/PCD-04 (docs/hl7-out.md), null without hl7Out.endpoints */
  hl7Out: Hl7OutService | null;
  close(): Promise<void>;
}

export interface StartOptions {
  logger: Logger;
  series?: SeriesStore;
  registry?: RegistryStore;
}

/** open() the series backend; while it is unreachable keep trying in the background (writes retry anyway). */
function openSeries(services: Services, logger: Logger, signal: AbortSignal): Promise<void> {
  const first = services.series.open();
  return first.catch(async (err) => {
    if (!isTransient(err)) throw err;
    logger.warn({ err: (err as Error).message }, 'series backend unreachable at start, retrying in background');
    void (async () => {
      for (let attempt = 0; !signal.aborted; attempt++) {
        try {
          await abortableDelay(backoffMs(Math.min(attempt, 8), 200, 5000), signal);
        } catch {
          return;
        }
        try {
          await services.series.open();
          logger.info('series backend opened');
          return;
        } catch (e) {
          if (!isTransient(e)) {
            logger.error({ err: (e as Error).message }, 'series backend open failed');
            return;
          }
        }
      }
    })();
  });
}

export async function startServer(config: IngestConfig, o: StartOptions): Promise<RunningIngest> {
  const logger = o.logger;
  // TLS files first: an unreadable one fails the start before anything is opened
  const httpsOptions = config.http.tls ? readTlsServerFiles(config.http.tls, '/http/tls') : null;
  const brokerTls =
    config.broker.kind === 'embedded' && config.broker.tls
      ? { ...readTlsServerFiles(config.broker.tls, '/broker/tls'), host: config.broker.tls.host, port: config.broker.tls.port }
      : null;
  const services = createServices(config, { series: o.series, registry: o.registry });
  const stop = new AbortController();
  const cleanups: (() => Promise<unknown> | unknown)[] = [
    () => {
      services.db.close();
    },
    () => services.series.close(),
  ];
  const unwind = async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  };
  try {
    await openSeries(services, logger.child({ component: 'series' }), stop.signal);
    services.dedupe.prune(Date.now() - config.db.dedupeRetentionDays * 86_400_000);

    const processor = new BatchProcessor({
      prefix: config.mqtt.prefix,
      registry: services.registry,
      cases: services.cases,
      series: services.series,
      dedupe: services.dedupe,
      deadLetters: services.deadLetters,
      metrics: services.metrics,
      logger: logger.child({ component: 'processor' }),
      retryMinMs: config.series.retryMinMs,
      retryMaxMs: config.series.retryMaxMs,
      intake: config.intake,
      reader: services.series,
    });
    let broker: EmbeddedBroker | null = null;
    let intake: DurableIntake | null = null;
    let mqttUrl: string;
    let password: string;
    if (config.broker.kind === 'embedded') {
      password = config.secrets.brokerPassword ?? randomBytes(24).toString('base64url');
      if (config.broker.ackAfterWrite) {
        intake = new DurableIntake({
          processor,
          batchMaxEnvelopes: config.mqtt.batchMaxEnvelopes,
          logger: logger.child({ component: 'intake' }),
          batchMaxBytes: config.broker.limits.intakeBatchMaxBytes,
          concurrency: config.broker.limits.intakeConcurrency,
          onVitals: (vitals) => {
            if (!config.mqtt.publishVitals) return;
            for (const v of vitals) broker?.publish(v.topic, v.payload, { qos: 0, retain: true });
            processor.countVitals(vitals.length);
          },
        });
      }
      broker = new EmbeddedBroker({
        host: config.broker.host,
        port: config.broker.port,
        prefix: config.mqtt.prefix,
        serviceAccount: { username: config.broker.username, password },
        registry: services.registry,
        logger: logger.child({ component: 'broker' }),
        ...(intake ? { intake } : {}),
        limits: config.broker.limits,
        reservedClientIds: [config.mqtt.clientId],
        metrics: services.metrics,
        ...(brokerTls ? { tls: brokerTls } : {}),
        // broker.record: the read-only record-system account (the config refuses enabled without its password)
        ...(config.broker.record?.enabled && config.secrets.recordPassword
          ? { record: { username: config.broker.record.username, password: config.secrets.recordPassword, maxSessions: config.broker.record.maxSessions } }
          : {}),
      });
      await broker.start();
      cleanups.push(() => broker?.close());
      if (intake) {
        const i = intake;
        cleanups.push(() => i.close());
      }
      mqttUrl = broker.url;
    } else {
      if (!config.broker.url) throw new IngestError('ING_ERR_CONFIG', 'fatal', 'broker.url required for an external broker');
      mqttUrl = config.broker.url;
      password = config.secrets.brokerPassword ?? '';
    }

    const subscriber = new Subscriber({
      url: mqttUrl,
      username: config.broker.username,
      password,
      clientId: config.mqtt.clientId,
      prefix: config.mqtt.prefix,
      keepaliveS: config.mqtt.keepaliveS,
      batchMaxEnvelopes: config.mqtt.batchMaxEnvelopes,
      maxPending: config.mqtt.maxPending,
      publishVitals: config.mqtt.publishVitals,
      processor,
      logger: logger.child({ component: 'subscriber' }),
      protocolVersion: config.broker.protocolVersion,
      sessionExpiryS: config.broker.sessionExpiryS,
      ...(config.broker.shareGroup ? { shareGroup: config.broker.shareGroup } : {}),
      kinds: intake ? ['status'] : ['data', 'status'],
      maxStatusBytes: config.broker.limits.maxStatusBytes,
      metrics: services.metrics,
    });
    cleanups.push(() => subscriber.close());
    await subscriber.start();
    // cases from the HIS (docs/his.md): ADT/SIU over MLLP
    let his: HisListener | null = null;
    if (config.his.enabled) {
      const feed = new HisFeed({
        db: services.db,
        cases: services.cases,
        registry: services.registry,
        audit: services.audit,
        config: config.his,
        metrics: services.metrics,
        logger: logger.child({ component: 'his' }),
      });
      const h = new HisListener(config.his, feed, logger.child({ component: 'his' }), services.metrics);
      await h.start();
      his = h;
      cleanups.push(() => h.close());
    }
    // outbound HL7 to record systems (docs/hl7-out.md): stopped before the database closes
    let hl7Out: Hl7OutService | null = null;
    if (config.hl7Out.endpoints.length) {
      const h = new Hl7OutService(config.hl7Out, services, logger.child({ component: 'hl7-out' }));
      h.start();
      hl7Out = h;
      cleanups.push(() => h.close());
    }
    // retained `{prefix}/{site}/{room}/{bed}/case`: every case binding change, and the state of each bed now
    const embedded = broker;
    cleanups.push(
      startCasePublisher({
        prefix: config.mqtt.prefix,
        cases: services.cases,
        registry: services.registry,
        logger: logger.child({ component: 'case-topic' }),
        publish: embedded
          ? (topic, payload) => embedded.publish(topic, payload, { qos: 1, retain: true })
          : (topic, payload) => subscriber.publish(topic, payload, { qos: 1, retain: true }),
      }),
    );
    // retained `{prefix}/{site}/{room}/{bed}/{gatewayId}/config`: the devices each gateway runs (docs/mqtt.md "Config topic")
    const configPublisher = startConfigPublisher({
      prefix: config.mqtt.prefix,
      db: services.db,
      registry: services.registry,
      logger: logger.child({ component: 'gateway-config' }),
      publish: embedded
        ? (topic, payload) => embedded.publish(topic, payload, { qos: 1, retain: true })
        : (topic, payload) => subscriber.publish(topic, payload, { qos: 1, retain: true }),
    });
    cleanups.push(() => configPublisher.close());
    services.metrics.gauge('pending_messages', 'Messages received and not yet acknowledged', () => subscriber.pending + (intake?.pending ?? 0));
    services.metrics.gauge('dead_letters', 'Rows in the dead-letter store', () => services.deadLetters.count());
    if (broker) {
      const b = broker;
      services.metrics.gauge('broker_clients', 'Clients connected to the embedded broker', () => b.connectedClients);
      services.metrics.count('broker_auth_failures', 'Refused MQTT logins', () => b.stats.authFailures);
      services.metrics.count('broker_publish_denied', 'Refused publishes (topic ACL)', () => b.stats.publishDenied);
      services.metrics.count(
        'broker_subscribe_denied',
        'Refused subscriptions (topic ACL; gateways are disconnected, the record system gets SUBACK 0x80)',
        () => b.stats.subscribeDenied,
      );
      services.metrics.count('broker_intake_not_acked', 'Data publishes answered without PUBACK (shutdown, processing error)', () => b.stats.intakeRefused);
    }
    if (intake) {
      const i = intake;
      services.metrics.count('intake_batches', 'Batches of gateway publishes stored before their PUBACK', () => i.stats.batches);
      services.metrics.count('intake_abandoned', 'Queued publishes dropped unprocessed because their connection was gone', () => i.stats.abandoned);
    }
    // per-gateway and per-device series from the registry and the gateways' status documents (docs/ingest.md "Monitoring")
    registerFleetMetrics(services.metrics, services.registry);

    const { clientCerts: httpClientCerts, ...https } = httpsOptions ?? { clientCerts: 'none' };
    const app = await build({
      config,
      logger,
      services,
      ...(httpsOptions ? { https } : {}),
      status: {
        brokerUp: broker ? () => broker.up : undefined,
        subscriberConnected: () => subscriber.connected,
        lastWriteError: () => processor.lastWriteError,
        pending: () => subscriber.pending + (intake?.pending ?? 0),
      },
    });
    cleanups.push(() => app.close());
    if (httpClientCerts === 'optional') {
      // a certificate presented must verify; none at all is allowed (the API token is checked either way)
      app.server.on('secureConnection', (s: tls.TLSSocket) => {
        if (!s.authorized && Object.keys(s.getPeerCertificate() ?? {}).length > 0) {
          logger.warn(
            { component: 'http', ip: s.remoteAddress, reason: String(s.authorizationError) },
            'https client certificate not verified: connection closed',
          );
          s.destroy();
        }
      });
    }
    await app.listen({ host: config.http.host, port: config.http.port });
    const addr = app.server.address();
    const httpPort = typeof addr === 'object' && addr ? addr.port : config.http.port;
    let closing: Promise<void> | null = null;
    return {
      url: `${httpsOptions ? 'https' : 'http'}://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${httpPort}`,
      mqttPort: broker ? broker.port : Number(new URL(mqttUrl).port || 1883),
      mqttUrl,
      mqttsPort: broker?.mqttsPort ?? null,
      mqttsUrl: broker?.mqttsUrl ?? null,
      app,
      services,
      broker,
      intake,
      subscriber,
      his,
      hl7Out,
      close() {
        closing ??= (async () => {
          stop.abort();
          await unwind();
          logger.info('ingest stopped');
        })();
        return closing;
      },
    };
  } catch (err) {
    stop.abort();
    await unwind();
    throw err;
  }
}
