/**
 * Devices from the registry (docs/gateway.md "Devices from the registry"): the gateway subscribes
 * to its retained config topic on the publisher's connection (gateway/src/publish/mqtt-publisher.ts
 * `subscriptions`: QoS 1, subscribed again after every CONNACK, so the retained document arrives at
 * each connect; one MQTT session per gateway) and hands each payload to `receive()`:
 *
 *  - another gateway's document, or a version not newer than the running one: ignored (logged;
 *    the same version again — every reconnect redelivers the retained one — only at debug level);
 *  - not JSON, too large, or not valid against schemas/src/gateway-config-doc.ts, or not runnable
 *    here (unknown protocol, options the driver refuses, unreadable TLS files): refused, logged
 *    with the reasons and reported in the status (`config.lastRefusal`); the last good one runs on;
 *  - else applied without a restart (`apply`, device-set.ts) and written to the cache file.
 *
 * An empty payload (ingest cleared the topic: gateway retired or moved) is ignored: the gateway
 * keeps what it runs until it gets a document.
 */
import type { Logger } from 'pino';
import { checkConfigDoc, MAX_CONFIG_DOC_BYTES, type GatewayConfigDoc } from '../../../schemas/src/gateway-config-doc.js';
import { isGatewayError } from '../errors.js';
import { writeConfigCache } from './config-cache.js';
import type { DeviceDiff } from './device-set.js';

/** the `config` section of the gateway status document */
export interface ConfigSyncState {
  source: 'registry';
  /** version running (null: none yet) and where it came from */
  version: number | null;
  issuedAt: number | null;
  from: 'broker' | 'cache' | null;
  appliedAt: number | null;
  devices: number;
  received: number;
  ignored: number;
  refused: number;
  lastRefusal?: { at: number; version: number | null; problems: string[] };
}

export type ReceiveOutcome = 'applied' | 'ignored' | 'refused';

export interface ConfigSyncOptions {
  gatewayId: string;
  /** the config topic its payloads come from (the publisher subscribes it) */
  topic: string;
  cacheFile: string;
  logger: Logger;
  /** runs the devices of an accepted document; throws (GatewayError with `details`) to refuse it */
  apply: (doc: GatewayConfigDoc) => Promise<DeviceDiff>;
  /** told after each outcome (status republish) */
  onChange?: () => void;
  /** the document the gateway started from (cache) */
  initial?: GatewayConfigDoc;
  now?: () => number;
}

export class ConfigSync {
  private readonly st: ConfigSyncState;
  private readonly log: Logger;
  private readonly now: () => number;
  private chain: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(private readonly o: ConfigSyncOptions) {
    this.log = o.logger.child({ component: 'config-sync' });
    this.now = o.now ?? Date.now;
    const i = o.initial;
    this.st = {
      source: 'registry',
      version: i?.version ?? null,
      issuedAt: i?.issuedAt ?? null,
      from: i ? 'cache' : null,
      appliedAt: i ? this.now() : null,
      devices: i?.devices.length ?? 0,
      received: 0,
      ignored: 0,
      refused: 0,
    };
  }

  state(): ConfigSyncState {
    return { ...this.st, ...(this.st.lastRefusal ? { lastRefusal: { ...this.st.lastRefusal, problems: [...this.st.lastRefusal.problems] } } : {}) };
  }

  /** Handle one payload of the config topic; payloads are handled one at a time, in order. */
  receive(payload: Buffer | string): Promise<ReceiveOutcome> {
    const run = this.chain.then(() => this.handle(Buffer.isBuffer(payload) ? payload : Buffer.from(payload)));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private ignore(msg: string, fields: Record<string, unknown>, level: 'info' | 'warn' | 'debug' = 'warn'): ReceiveOutcome {
    this.st.ignored++;
    this.log[level]({ ...fields, running: this.st.version }, msg);
    return 'ignored';
  }

  private refuse(problems: string[], version: number | null): ReceiveOutcome {
    this.st.refused++;
    this.st.lastRefusal = { at: this.now(), version, problems: problems.slice(0, 50) };
    this.log.error({ version, running: this.st.version, problems: this.st.lastRefusal.problems }, 'config document refused: keeping the last good one');
    this.o.onChange?.();
    return 'refused';
  }

  private async handle(payload: Buffer): Promise<ReceiveOutcome> {
    if (this.stopped) return 'ignored';
    this.st.received++;
    if (payload.length === 0) return this.ignore('config topic cleared (gateway retired or moved?): keeping the running devices', {}, 'info');
    if (payload.length > MAX_CONFIG_DOC_BYTES) return this.refuse([`document of ${payload.length} bytes, more than ${MAX_CONFIG_DOC_BYTES}`], null);
    let raw: unknown;
    try {
      raw = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      return this.refuse([`not JSON: ${(err as Error).message}`], null);
    }
    const r = (typeof raw === 'object' && raw !== null ? raw : {}) as { gatewayId?: unknown; version?: unknown };
    const version = typeof r.version === 'number' ? r.version : null;
    if (typeof r.gatewayId === 'string' && r.gatewayId !== this.o.gatewayId) {
      return this.ignore('config document for another gateway ignored', { for: r.gatewayId, version });
    }
    const c = checkConfigDoc(raw);
    if (!c.ok) return this.refuse(c.problems, version);
    const doc = c.doc;
    if (this.st.version !== null && doc.version === this.st.version) return this.ignore('config document already running', { version }, 'debug');
    if (this.st.version !== null && doc.version < this.st.version) return this.ignore('older config document ignored', { version });
    let diff: DeviceDiff;
    try {
      diff = await this.o.apply(doc);
    } catch (err) {
      const details = isGatewayError(err) && Array.isArray(err.details) ? err.details.map(String) : [(err as Error).message];
      return this.refuse(details, doc.version);
    }
    Object.assign(this.st, { version: doc.version, issuedAt: doc.issuedAt, from: 'broker', appliedAt: this.now(), devices: doc.devices.length });
    this.log.info(
      { version: doc.version, added: diff.added, removed: diff.removed, changed: diff.changed, unchanged: diff.unchanged.length },
      'config document applied',
    );
    this.o.onChange?.();
    try {
      await writeConfigCache(this.o.cacheFile, doc);
    } catch (err) {
      this.log.error({ err, file: this.o.cacheFile }, 'cannot write the config cache: a start without the broker would use an older one');
    }
    return 'applied';
  }

  /** Later payloads are ignored; resolves once the one being handled is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.chain;
  }
}
