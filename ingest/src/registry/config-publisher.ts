/**
 * Gateways configured from the registry (docs/mqtt.md "Config topic"): per gateway, a retained
 * QoS 1 document on `{prefix}/{site}/{room}/{bed}/{gatewayId}/config` listing the devices it runs
 * (`{schema, version, issuedAt, gatewayId, devices}`, schemas/src/gateway-config-doc.ts).
 *
 * A device is in its gateway's document when it is bound to it, not retired, and has a connection
 * (PUT /devices/:id/connection). The version grows by one whenever the device list of a gateway
 * changes (the digest of its canonical JSON differs from the stored one) and is kept in the
 * database (`gateway_config_versions`), so it keeps growing across restarts. Every gateway's
 * document is published at start (the embedded broker keeps retained messages in memory only) and
 * after every registry change, once the change's transaction has committed (setImmediate). A moved
 * gateway's old topic and a retired gateway's topic are cleared (empty retained payload).
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { buildConfigDoc, canonicalJson, deviceEntry, type GatewayConfigDoc } from '../../../schemas/src/gateway-config-doc.js';
import type { DeviceConfig } from '../../../schemas/src/gateway-config.js';
import type { Db } from './database.js';
import type { GatewayLocation, RegistryChange, RegistryStore } from './registry-store.js';

export const configTopic = (prefix: string, l: GatewayLocation) => `${prefix}/${l.site}/${l.room}/${l.bed}/${l.gatewayId}/config`;

export interface ConfigPublisherOptions {
  prefix: string;
  db: Db;
  registry: RegistryStore;
  /** retained, QoS 1; an empty payload clears the topic */
  publish: (topic: string, payload: string) => void;
  logger: Logger;
  now?: () => number;
}

export interface ConfigPublisher {
  /** the document a gateway gets now (issuing a new version when its device list changed); null: unknown or retired */
  documentFor(gatewayId: string): GatewayConfigDoc | null;
  /** publish every gateway's document whose content changed since the last publish (all of them the first time) */
  sync(): void;
  close(): void;
}

interface VersionRow {
  version: number;
  digest: string;
  issued_at: number;
}

export function startConfigPublisher(o: ConfigPublisherOptions): ConfigPublisher {
  const now = o.now ?? Date.now;
  const log = o.logger;
  const getVersion = o.db.prepare('SELECT version, digest, issued_at FROM gateway_config_versions WHERE gateway_id = ?');
  const putVersion = o.db.prepare(
    `INSERT INTO gateway_config_versions (gateway_id, version, digest, issued_at) VALUES (?, ?, ?, ?)
     ON CONFLICT(gateway_id) DO UPDATE SET version = excluded.version, digest = excluded.digest, issued_at = excluded.issued_at`,
  );
  /** what was published last per gateway: topic and payload */
  const published = new Map<string, { topic: string; payload: string }>();
  let scheduled: NodeJS.Immediate | undefined;
  let closed = false;

  const devicesOf = (gatewayId: string): DeviceConfig[] =>
    o.registry
      .listDevices({ gatewayId })
      .filter((d) => d.retiredAt === null && d.connection !== null)
      .map((d) => deviceEntry(d.id, d.profile, d.connection!));

  const documentFor = (gatewayId: string): GatewayConfigDoc | null => {
    const g = o.registry.getGateway(gatewayId);
    if (!g || g.retiredAt !== null) return null;
    const devices = buildConfigDoc(gatewayId, 1, 0, devicesOf(gatewayId)).devices;
    const digest = createHash('sha256').update(canonicalJson(devices)).digest('hex');
    let row = getVersion.get(gatewayId) as VersionRow | undefined;
    if (!row || row.digest !== digest) {
      row = { version: (row?.version ?? 0) + 1, digest, issued_at: now() };
      putVersion.run(gatewayId, row.version, digest, row.issued_at);
      log.info({ gatewayId, version: row.version, devices: devices.length }, 'gateway config: new version');
    }
    return buildConfigDoc(gatewayId, row.version, row.issued_at, devices);
  };

  const send = (gatewayId: string, topic: string, payload: string) => {
    const last = published.get(gatewayId);
    if (last && last.topic === topic && last.payload === payload) return;
    if (last && last.topic !== topic && last.payload !== '') o.publish(last.topic, ''); // moved: the old location forgets it
    o.publish(topic, payload);
    published.set(gatewayId, { topic, payload });
  };

  const sync = () => {
    if (closed) return;
    for (const g of o.registry.listGateways()) {
      try {
        const loc = o.registry.locateGateway(g.id);
        if (!loc) continue;
        const topic = configTopic(o.prefix, loc);
        if (g.retiredAt !== null) {
          if (published.has(g.id)) send(g.id, topic, '');
          continue;
        }
        const doc = o.db.transaction(() => documentFor(g.id))();
        if (doc) send(g.id, topic, JSON.stringify(doc));
      } catch (err) {
        log.error({ err, gatewayId: g.id }, 'gateway config publish failed');
      }
    }
  };

  const onChange = (c: RegistryChange) => {
    if (c.entity === 'gateway' && c.change === 'moved') {
      // the old location is cleared now: its topic is derived from the event, not from the registry
      const last = published.get(c.id);
      const old = configTopic(o.prefix, c.from);
      if (!last || last.topic === old) {
        o.publish(old, '');
        published.set(c.id, { topic: old, payload: '' });
      }
    }
    if (scheduled || closed) return;
    // after the route's transaction committed (or rolled back: then nothing changed and nothing is sent)
    scheduled = setImmediate(() => {
      scheduled = undefined;
      sync();
    });
  };
  const off = o.registry.onChange(onChange);
  sync();
  return {
    documentFor: (id) => o.db.transaction(() => documentFor(id))(),
    sync,
    close: () => {
      closed = true;
      off();
      if (scheduled) clearImmediate(scheduled);
    },
  };
}
