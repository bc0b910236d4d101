/**
 * Embedded aedes 1.x broker (MQTT 3.1.1 only) on a loopback port. Authentication: each gateway
 * with its registry id + password (scrypt hash in the registry), plus one ingest service account.
 * ACL: a gateway publishes only under `{prefix}/{site}/{room}/{bed}/{gatewayId}/` of its own bed
 * and subscribes only there (config topic); the service account may publish/subscribe anywhere.
 * Persistence is aedes' in-memory default: sessions survive subscriber reconnects, not a process
 * restart. Therefore, with `intake` set, a `.../data` publish is not queued in aedes at all before
 * it is durable: `authorizePublish` hands it to the intake (decode, dedupe, InfluxDB write) and
 * calls back — which is when aedes writes the PUBACK — only after the intake stored it. A SIGKILL
 * of the process then loses nothing the gateway was told is safe (docs/mqtt.md).
 *
 * Registry changes end sessions (docs/api.md, registry lifecycle): when a gateway's password is set
 * or revoked, or the gateway is retired or moved, its open sessions are closed at once so it must
 * log in again (and is refused, or gets the ACL of its new location). A login whose password check
 * overlapped such a change is refused. For a move or retirement the kicked session's will is not
 * published and the retained status under the old topic is cleared.
 */
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import type { Logger } from 'pino';
import { parseTopic } from '../mqtt/topics.js';
import type { GatewayLocation, RegistryChange, RegistryStore } from '../registry/registry-store.js';

const isDataTopic = (prefix: string, topic: string) => topic.endsWith('/data') && parseTopic(prefix, topic)?.kind === 'data';

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  prefix: string;
  serviceAccount: { username: string; password: string };
  registry: RegistryStore;
  logger: Logger;
  /**
   * ack-after-write for data publishes: resolves true when the message is stored (PUBACK may go),
   * false when it must not be acknowledged (the client's connection is then closed, it resends).
   */
  intake?: { submit(topic: string, payload: Uint8Array, alive?: () => boolean): Promise<boolean> };
}

type Principal = { role: 'ingest' } | { role: 'gateway'; loc: GatewayLocation };

const safeEqual = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

function authError(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

export class EmbeddedBroker {
  private aedes: Aedes | null = null;
  private server: net.Server | null = null;
  private readonly principals = new WeakMap<Client, Principal>();
  /** open sessions per gateway id (closed ones are pruned when the set is used) */
  private readonly sessions = new Map<string, Set<Client>>();
  /** registry changes per gateway id: a login whose check overlapped one is refused */
  private readonly changes = new Map<string, number>();
  /** sessions closed for a move or retirement: no publish (their will included) is authorized */
  private readonly silenced = new WeakSet<Client>();
  private unsubscribe: (() => void) | null = null;
  private closing: Promise<void> | null = null;
  private boundPort = 0;
  /** counters for /metrics */
  readonly stats = { authFailures: 0, publishDenied: 0, subscribeDenied: 0, intakeRefused: 0, sessionsClosed: 0 };

  constructor(private readonly opts: EmbeddedBrokerOptions) {}

  get port(): number { return this.boundPort; }
  get url(): string { return `mqtt://${this.opts.host}:${this.boundPort}`; }
  get up(): boolean { return this.server?.listening === true && !this.closing; }
  get connectedClients(): number { return this.aedes?.connectedClients ?? 0; }

  /** the aedes instance (tests watch its 'ack' events) */
  get instance(): Aedes {
    if (!this.aedes) throw new Error('broker not started');
    return this.aedes;
  }

  async start(): Promise<void> {
    const log = this.opts.logger;
    const aedes = await Aedes.createBroker({
      authenticate: (client, username, password, done) => {
        this.authenticate(client, username, password).then(
          (ok) => { if (ok) done(null, true); else { this.stats.authFailures++; done(authError('bad username or password', 4), null); } },
          (err) => { log.error({ err }, 'broker authenticate failed'); done(authError('server unavailable', 3), null); },
        );
      },
      authorizePublish: (client, packet, done) => {
        if (!client) return done(null);
        if (this.silenced.has(client)) return done(new Error('session closed by a registry change'));
        if (!this.mayUse(client, packet.topic)) {
          this.stats.publishDenied++;
          log.warn({ clientId: client.id, topic: packet.topic }, 'publish denied');
          return done(new Error('publish not authorized'));
        }
        const intake = this.opts.intake;
        if (!intake || !isDataTopic(this.opts.prefix, packet.topic)) return done(null);
        const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
        intake.submit(packet.topic, payload, () => !client.closed).then(
          (stored) => {
            if (stored) return done(null);
            this.stats.intakeRefused++;
            done(new Error('not stored, not acknowledged'));
          },
          (err) => { log.error({ err }, 'intake failed'); done(err as Error); },
        );
      },
      authorizeSubscribe: (client, sub, done) => {
        if (this.mayUse(client, sub.topic)) return done(null, sub);
        this.stats.subscribeDenied++;
        done(new Error('subscribe not authorized'));
      },
    });
    aedes.on('clientError', (client, err) => log.debug({ clientId: client?.id, err: err.message }, 'broker client error'));
    this.aedes = aedes;
    this.unsubscribe = this.opts.registry.onChange((c) => {
      try { this.onRegistryChange(c); } catch (err) { log.error({ err, gatewayId: c.id }, 'registry change handling failed'); }
    });
    const server = net.createServer(aedes.handle);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => { server.off('error', reject); resolve(); });
    });
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : this.opts.port;
    log.info({ host: this.opts.host, port: this.boundPort }, 'embedded broker listening');
  }

  private async authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<boolean> {
    if (!username || !password) return false;
    const pw = password.toString('utf8');
    if (username === this.opts.serviceAccount.username) {
      if (!safeEqual(pw, this.opts.serviceAccount.password)) return false;
      this.principals.set(client, { role: 'ingest' });
      return true;
    }
    const changesBefore = this.changes.get(username) ?? 0;
    if (!(await this.opts.registry.verifyGateway(username, pw))) return false;
    if ((this.changes.get(username) ?? 0) !== changesBefore) return false; // rotated/revoked/moved while verifying
    const loc = this.opts.registry.locateGateway(username);
    if (!loc) return false;
    this.principals.set(client, { role: 'gateway', loc });
    let set = this.sessions.get(username);
    if (!set) this.sessions.set(username, (set = new Set()));
    for (const c of set) if (c.closed) set.delete(c);
    set.add(client);
    return true;
  }

  private onRegistryChange(c: RegistryChange): void {
    if (c.entity !== 'gateway' || c.change === 'created' || c.change === 'updated') return;
    this.changes.set(c.id, (this.changes.get(c.id) ?? 0) + 1);
    const gone = c.change === 'moved' ? c.from : c.change === 'retired' ? c.location : null;
    const closed = this.closeSessions(c.id, gone !== null);
    this.opts.logger.info({ gatewayId: c.id, change: c.change, sessionsClosed: closed }, 'gateway registry change: sessions closed');
    // the retained status under a topic the gateway no longer owns would show a ghost: cleared
    if (gone) this.publish(`${this.opts.prefix}/${gone.site}/${gone.room}/${gone.bed}/${gone.gatewayId}/status`, Buffer.alloc(0), { qos: 1, retain: true });
  }

  /** closes every open session of a gateway; `silence`: refuse its will and any publish still in flight */
  private closeSessions(gatewayId: string, silence: boolean): number {
    const set = this.sessions.get(gatewayId);
    if (!set) return 0;
    let n = 0;
    for (const client of set) {
      if (!client.closed) {
        if (silence) this.silenced.add(client);
        client.close();
        n++;
      }
    }
    this.sessions.delete(gatewayId);
    this.stats.sessionsClosed += n;
    return n;
  }

  private mayUse(client: Client, topic: string): boolean {
    const p = this.principals.get(client);
    if (!p) return false;
    if (p.role === 'ingest') return !topic.startsWith('$SYS');
    const own = `${this.opts.prefix}/${p.loc.site}/${p.loc.room}/${p.loc.bed}/${p.loc.gatewayId}/`;
    return topic.startsWith(own) && !topic.includes('+') && !topic.includes('#');
  }

  /** publish from the broker itself (vitals); aedes delivers it to matching subscribers */
  publish(topic: string, payload: string | Buffer, opts: { qos: 0 | 1; retain: boolean }): void {
    const aedes = this.aedes;
    if (!aedes || this.closing) return;
    aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: opts.qos, retain: opts.retain, dup: false }, (err) => {
      if (err) this.opts.logger.warn({ err: err.message }, 'broker publish failed');
    });
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.unsubscribe?.();
      this.unsubscribe = null;
      this.closing = (async () => {
        const aedes = this.aedes;
        if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
        const server = this.server;
        if (server?.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
    }
    return this.closing;
  }
}
