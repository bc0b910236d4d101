/**
 * Embedded aedes 1.x broker (MQTT 3.1.1 only) on a loopback port. Authentication: each gateway
 * with its registry id + password (scrypt hash in the registry), plus one ingest service account.
 * ACL: a gateway publishes only `{prefix}/{site}/{room}/{bed}/{gatewayId}/data` and `/status` of its
 * own bed and subscribes only to its `/config`; the service account may publish/subscribe anywhere.
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
 *
 * Limits (docs/security.md "Broker limits", `broker.limits`): a packet above `maxPacketBytes` closes
 * the connection as soon as its header arrives (packet-size-guard.ts); a gateway may publish retained
 * only on its own status topic, a status (or will) above `maxStatusBytes` is refused; per gateway, a
 * message and byte rate (held back, not refused), an in-flight cap and a session cap
 * (publish-limits.ts); client ids are bound to the login (client-id.ts); failed logins lock out the
 * user name and the address for a growing time (login-guard.ts). Every refusal is counted
 * (`mqtt_*_total`) and logged with the gateway id (never a password).
 *
 * TLS (`tls`, docs/tls.md): a second listener, mqtts, with the same packet-size guard. A client whose
 * certificate the CA verified (and the CRL does not list) logs in as the gateway named by the
 * certificate's CN, without a password (a user name, if sent, must equal the CN); the gateway must
 * exist and not be retired; ACL, client id, will and session rules are those of a password login.
 * A certificate that did not verify, names an unknown or retired gateway or the service account is
 * refused (CONNACK 5, `mqtt_cert_refused_total`). Without a certificate the password login applies.
 *
 * Record system (`record`, config `broker.record`, docs/mqtt.md): a third, read-only principal. Its
 * password is compared in constant time like the service account's, the login lockout applies, and
 * on mqtts a verified certificate whose CN is the record user name logs in as it. It may subscribe
 * only to `{prefix}/+/+/+/vitals`, `{prefix}/+/+/+/case` or the same with a literal site/room/bed
 * level; any other filter (`#`, data/status/config, `$SYS`, ...) gets SUBACK 0x80
 * (`mqtt_record_subscribe_denied_total`). Any publish closes the connection and a will refuses the
 * login (`mqtt_record_publish_denied_total`). Its client ids are `<username>` or `<username>-…`
 * (client-id.ts); at most `record.maxSessions` sessions, a new one beyond closes the oldest.
 */
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { brokerLimitDefaults, type BrokerLimits } from '../../../schemas/src/ingest-config.js';
import { Metrics } from '../metrics.js';
import { parseTopic } from '../mqtt/topics.js';
import type { GatewayLocation, RegistryChange, RegistryStore } from '../registry/registry-store.js';
import { BrokerPolicy, Refusal, remoteAddress, type Will } from './broker-policy.js';
import { guardSocket } from './packet-size-guard.js';
import type { TlsServerOptions } from '../tls-files.js';

/** aedes' and mqtt-packet's messages for a client that broke the protocol (not a socket error, not our refusals) */
const PROTOCOL_ERROR =
  /not allowed in PUBLISH|empty topic|too many levels|^Cannot parse|^Invalid|^Malformed|^Packet must not|^Packet too short|^Unknown property|^Connect flag|^Will (QoS|Retain)|^Not supported/;

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
  intake?: { submit(topic: string, payload: Uint8Array, alive?: () => boolean, lane?: string): Promise<boolean> };
  /** `broker.limits` (absent keys: the schema defaults) */
  limits?: Partial<BrokerLimits>;
  /** client ids only the service account may use (ingest's `mqtt.clientId`) */
  reservedClientIds?: readonly string[];
  /** counters `mqtt_*_total` (default: a private Metrics, see `metrics`) */
  metrics?: Metrics;
  /** an mqtts listener as well (ingest/src/tls-files.ts); `clientCerts` other than 'none' enables certificate logins */
  tls?: TlsServerOptions & { host: string; port: number };
  /** the read-only record-system account (absent: none, its user name is refused like any unknown one); maxSessions default 4 */
  record?: { username: string; password: string; maxSessions?: number };
}

type Principal = { role: 'ingest' } | { role: 'record' } | { role: 'gateway'; loc: GatewayLocation };

const RECORD_TOPICS = new Set(['vitals', 'case']);

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
  private tlsServer: tls.Server | null = null;
  private boundTlsPort = 0;
  private readonly principals = new WeakMap<Client, Principal>();
  /** open sessions per gateway id (closed ones are pruned when the set is used) */
  private readonly sessions = new Map<string, Set<Client>>();
  /** open sessions of the record-system account */
  private readonly recordSessions = new Set<Client>();
  /** registry changes per gateway id: a login whose check overlapped one is refused */
  private readonly changes = new Map<string, number>();
  /** sessions closed for a move or retirement: no publish (their will included) is authorized */
  private readonly silenced = new WeakSet<Client>();
  private unsubscribe: (() => void) | null = null;
  private closing: Promise<void> | null = null;
  private boundPort = 0;
  /** the will each connecting client announced (preConnect sees the CONNECT packet, authenticate does not) */
  private readonly wills = new WeakMap<Client, Will | null>();
  /** gateways configured for another location: what they are told after the CONNACK (admitMisplaced) */
  private readonly misplaced = new WeakMap<Client, { topic: string; payload: Buffer }>();
  private readonly limits: BrokerLimits;
  private readonly policy: BrokerPolicy;
  readonly metrics: Metrics;
  /** counters for /metrics */
  readonly stats = { authFailures: 0, publishDenied: 0, subscribeDenied: 0, intakeRefused: 0, sessionsClosed: 0 };

  constructor(private readonly opts: EmbeddedBrokerOptions) {
    this.limits = { ...brokerLimitDefaults(), ...opts.limits };
    this.metrics = opts.metrics ?? new Metrics();
    this.policy = new BrokerPolicy(
      this.limits,
      {
        serviceUsername: opts.serviceAccount.username,
        reserved: new Set(opts.reservedClientIds ?? []),
        ...(opts.record ? { recordUsername: opts.record.username } : {}),
        isGateway: (id) => opts.registry.getGateway(id) !== null,
      },
      this.metrics,
      opts.logger,
    );
  }

  get port(): number {
    return this.boundPort;
  }
  get url(): string {
    return `mqtt://${this.opts.host}:${this.boundPort}`;
  }
  /** the mqtts listener's port, null without `tls` */
  get mqttsPort(): number | null {
    return this.tlsServer ? this.boundTlsPort : null;
  }
  get mqttsUrl(): string | null {
    const h = this.opts.tls?.host ?? '';
    return this.tlsServer ? `mqtts://${h.includes(':') ? `[${h}]` : h}:${this.boundTlsPort}` : null;
  }
  get up(): boolean {
    return this.server?.listening === true && !this.closing;
  }
  get connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  /** the aedes instance (tests watch its 'ack' events) */
  get instance(): Aedes {
    if (!this.aedes) throw new Error('broker not started');
    return this.aedes;
  }

  async start(): Promise<void> {
    const log = this.opts.logger;
    const aedes = await Aedes.createBroker({
      preConnect: (client, packet, done) => {
        const w = packet.will;
        this.wills.set(client, w ? { topic: w.topic, payload: Buffer.from(w.payload ?? ''), retain: w.retain === true } : null);
        done(null, true);
      },
      authenticate: (client, username, password, done) => {
        this.authenticate(client, username, password).then(
          () => done(null, true),
          (err) => {
            if (err instanceof Refusal) return done(authError(err.message, err.returnCode), null);
            log.error({ err }, 'broker authenticate failed');
            done(authError('server unavailable', 3), null);
          },
        );
      },
      authorizePublish: (client, packet, done) => {
        if (!client) return done(null);
        if (this.silenced.has(client)) return done(new Error('session closed by a registry change'));
        if (!this.mayUse(client, packet.topic, 'publish')) {
          this.stats.publishDenied++;
          if (this.principals.get(client)?.role === 'record') this.policy.recordPublishDenied(client, packet.topic);
          const who = this.principals.get(client);
          log.warn(
            {
              clientId: client.id,
              role: who?.role,
              gatewayId: who?.role === 'gateway' ? who.loc.gatewayId : undefined,
              ip: remoteAddress(client),
              topic: packet.topic,
            },
            'publish denied',
          );
          return done(new Error('publish not authorized'));
        }
        const p = this.principals.get(client);
        if (p?.role !== 'gateway') return this.forward(client, packet, done);
        this.limitGatewayPublish(client, p.loc, packet, done);
      },
      authorizeSubscribe: (client, sub, done) => {
        if (this.mayUse(client, sub.topic, 'subscribe')) return done(null, sub);
        this.stats.subscribeDenied++;
        const who = this.principals.get(client);
        if (who?.role !== 'record') {
          log.warn(
            {
              clientId: client.id,
              role: who?.role,
              gatewayId: who?.role === 'gateway' ? who.loc.gatewayId : undefined,
              ip: remoteAddress(client),
              topic: sub.topic,
            },
            'subscribe denied: connection closed',
          );
          return done(new Error('subscribe not authorized'));
        }
        // the record system gets SUBACK 0x80 for this filter and keeps its connection (and its other filters)
        this.policy.recordSubscribeDenied(client, sub.topic);
        done(null, null);
      },
    });
    aedes.on('clientError', (client, err) => {
      // a client that broke the protocol (a wildcard or empty publish topic, too many topic levels, a malformed packet):
      // aedes closes the connection, we count and log it; a socket going away is not counted
      // (our own refusals — ACL, limits, registry changes — also end here and are counted where they are decided)
      if (!PROTOCOL_ERROR.test(err.message)) {
        log.debug({ clientId: client?.id, err: err.message }, 'broker client error');
        return;
      }
      this.metrics.inc('mqtt_protocol_errors_total');
      const p = client ? this.principals.get(client) : undefined;
      log.warn(
        {
          clientId: client?.id,
          gatewayId: p?.role === 'gateway' ? p.loc.gatewayId : undefined,
          role: p?.role,
          ip: client ? remoteAddress(client) : undefined,
          err: err.message,
        },
        'MQTT protocol error: connection closed',
      );
    });
    aedes.on('connackSent', (_packet, client) => this.explainMisplaced(client));
    this.aedes = aedes;
    this.unsubscribe = this.opts.registry.onChange((c) => {
      try {
        this.onRegistryChange(c);
      } catch (err) {
        log.error({ err, gatewayId: c.id }, 'registry change handling failed');
      }
    });
    const handle = (socket: net.Socket) => {
      guardSocket(socket, this.limits.maxPacketBytes, (bad) => {
        const client = (socket as net.Socket & { client?: Client }).client;
        const p = client ? this.principals.get(client) : undefined;
        this.policy.oversize(socket, bad, { gatewayId: p?.role === 'gateway' ? p.loc.gatewayId : undefined, account: p?.role, clientId: client?.id });
      });
      aedes.handle(socket);
    };
    const server = net.createServer(handle);
    this.server = server;
    this.boundPort = await listen(server, this.opts.port, this.opts.host);
    log.info({ host: this.opts.host, port: this.boundPort }, 'embedded broker listening');
    if (this.opts.tls) {
      const { clientCerts, host, port, ...options } = this.opts.tls;
      const tlsServer = tls.createServer(options, handle);
      tlsServer.on('tlsClientError', (err, socket) => this.policy.handshakeFailed(socket.remoteAddress, err));
      this.tlsServer = tlsServer;
      try {
        this.boundTlsPort = await listen(tlsServer, port, host);
      } catch (err) {
        await this.close(); // the plain listener and aedes are already up
        throw err;
      }
      log.info({ host, port: this.boundTlsPort, clientCerts }, 'embedded broker listening (mqtts)');
    }
  }

  /** the ack-after-write path for data (when an intake is set); anything else is acknowledged by aedes at once */
  private forward(client: Client, packet: PublishPacket, done: (err?: Error | null) => void): void {
    const intake = this.opts.intake;
    if (!intake || !isDataTopic(this.opts.prefix, packet.topic)) return done(null);
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const p = this.principals.get(client);
    intake
      .submit(packet.topic, payload, () => !client.closed, p?.role === 'gateway' ? p.loc.gatewayId : undefined)
      .then(
        (stored) => {
          if (stored) return done(null);
          this.stats.intakeRefused++;
          done(new Error('not stored, not acknowledged'));
        },
        (err) => {
          this.opts.logger.error({ err }, 'intake failed');
          done(err as Error);
        },
      );
  }

  /** retain and status-size rules, then the per-gateway in-flight cap and rate (held, not refused) */
  private limitGatewayPublish(client: Client, loc: GatewayLocation, packet: PublishPacket, done: (err?: Error | null) => void): void {
    const v = this.policy.checkPublish(client, loc.gatewayId, packet, this.statusTopic(loc));
    if ('error' in v) return done(v.error);
    const finish = (err?: Error | null) => {
      v.release();
      done(err);
    };
    if (v.waitMs <= 0) return this.forward(client, packet, finish);
    setTimeout(() => {
      if (client.closed || this.closing) return finish(new Error('connection closed'));
      this.forward(client, packet, finish);
    }, v.waitMs);
  }

  /** resolves when the login is accepted; rejects with a Refusal (CONNACK code) otherwise */
  private async authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<void> {
    const byCert = this.certificatePrincipal(client, username);
    if (byCert) return this.admit(client, byCert, byCert.role === 'gateway' ? byCert.loc.gatewayId : (this.opts.record?.username ?? ''));
    const ip = remoteAddress(client);
    const user = username ?? '';
    let verdict;
    try {
      verdict = this.policy.beginLogin(user, ip);
    } catch (err) {
      this.stats.authFailures++;
      throw err;
    }
    let p: Principal | null;
    try {
      p = await this.verify(username, password);
    } catch (err) {
      if (verdict.allowed) verdict.release();
      throw err;
    }
    if (!p) {
      this.stats.authFailures++;
      throw this.policy.loginFailed(user, ip, verdict, client.id);
    }
    this.policy.loginSucceeded(user, ip, verdict);
    this.admit(client, p, user);
  }

  /** a verified client certificate on the mqtts listener: the gateway (or record-system account) its CN names (null = no certificate, a password login) */
  private certificatePrincipal(client: Client, username: string | undefined): Principal | null {
    const conn = client.conn;
    if (!(conn instanceof tls.TLSSocket)) return null;
    const peer = conn.getPeerCertificate();
    if (!peer || Object.keys(peer).length === 0) return null;
    const ip = remoteAddress(client);
    const cnField = peer.subject?.CN as string | string[] | undefined;
    const cn = Array.isArray(cnField) ? undefined : cnField;
    const refuse = (reason: string) => {
      this.stats.authFailures++;
      return this.policy.certificateRefused({ cn, username, ip, clientId: client.id }, reason);
    };
    if (!conn.authorized) throw refuse(`certificate not verified (${String(conn.authorizationError)})`);
    if (!cn) throw refuse('certificate without a single CN');
    if (cn === this.opts.serviceAccount.username) throw refuse('the service account does not log in by certificate');
    if (username && username !== cn) throw refuse('user name differs from the certificate CN');
    if (this.opts.record && cn === this.opts.record.username) return { role: 'record' };
    const binding = this.opts.registry.gatewayBinding(cn);
    if (!binding) throw refuse('no gateway with the certificate CN in the registry');
    if (binding.retiredAt != null) throw refuse('the gateway is retired');
    return { role: 'gateway', loc: binding.location };
  }

  /** a login accepted (password or certificate): client id, will, session cap, then the session is registered */
  private admit(client: Client, p: Principal, user: string): void {
    this.policy.checkClientId(
      p.role === 'gateway' ? { kind: 'gateway', id: p.loc.gatewayId } : { kind: p.role === 'ingest' ? 'service' : 'record' },
      client,
      user,
    );
    if (p.role === 'ingest') {
      this.principals.set(client, p);
      return;
    }
    if (p.role === 'record') {
      this.policy.checkRecordWill(this.wills.get(client), user, client);
      this.limitRecordSessions(client);
      this.principals.set(client, p);
      this.recordSessions.add(client);
      return;
    }
    if (this.admitMisplaced(client, p.loc)) return;
    this.policy.checkWill(this.wills.get(client), p.loc, this.statusTopic(p.loc));
    this.limitSessions(client, p.loc.gatewayId);
    this.principals.set(client, p);
    let set = this.sessions.get(p.loc.gatewayId);
    if (!set) this.sessions.set(p.loc.gatewayId, (set = new Set()));
    set.add(client);
  }

  /** the account behind a user name and password, or null (no side effects) */
  private async verify(username: string | undefined, password: Buffer | undefined): Promise<Principal | null> {
    if (!username || !password) return null;
    const pw = password.toString('utf8');
    if (username === this.opts.serviceAccount.username) return safeEqual(pw, this.opts.serviceAccount.password) ? { role: 'ingest' } : null;
    if (this.opts.record && username === this.opts.record.username) return safeEqual(pw, this.opts.record.password) ? { role: 'record' } : null;
    const changesBefore = this.changes.get(username) ?? 0;
    if (!(await this.opts.registry.verifyGateway(username, pw))) return null;
    if ((this.changes.get(username) ?? 0) !== changesBefore) return null; // rotated/revoked/moved while verifying
    const loc = this.opts.registry.locateGateway(username);
    return loc ? { role: 'gateway', loc } : null;
  }

  /** at most `maxSessions` open sessions per gateway: the oldest give way (their wills are not published) */
  private limitSessions(client: Client, gatewayId: string): void {
    const set = this.sessions.get(gatewayId);
    if (!set) return;
    for (const c of set) if (c.closed) set.delete(c);
    // a session with the same client id is taken over by aedes itself
    const others = [...set].filter((c) => c.id !== client.id);
    for (const old of others.slice(0, Math.max(0, others.length - this.limits.maxSessions + 1))) {
      this.silenced.add(old);
      set.delete(old);
      old.close();
      this.stats.sessionsClosed++;
      this.policy.sessionLimited(gatewayId, old.id, client.id);
    }
  }

  /** at most `record.maxSessions` open record-system sessions: the oldest give way */
  private limitRecordSessions(client: Client): void {
    const max = this.opts.record?.maxSessions ?? 4;
    for (const c of this.recordSessions) if (c.closed) this.recordSessions.delete(c);
    const others = [...this.recordSessions].filter((c) => c.id !== client.id);
    for (const old of others.slice(0, Math.max(0, others.length - max + 1))) {
      this.recordSessions.delete(old);
      old.close();
      this.stats.sessionsClosed++;
      this.policy.recordSessionLimited(old.id, client.id, max);
    }
  }

  /** record system: `{prefix}/{site|+}/{room|+}/{bed|+}/vitals` or `/case`; no `#`, no partial wildcard, nothing else */
  private recordMaySubscribe(topic: string): boolean {
    const head = `${this.opts.prefix}/`;
    if (!topic.startsWith(head)) return false;
    const levels = topic.slice(head.length).split('/');
    if (levels.length !== 4 || !RECORD_TOPICS.has(levels[3])) return false;
    return levels.slice(0, 3).every((l) => l === '+' || (l.length > 0 && !l.includes('+') && !l.includes('#')));
  }

  private statusTopic(loc: GatewayLocation): string {
    return `${this.opts.prefix}/${loc.site}/${loc.room}/${loc.bed}/${loc.gatewayId}/status`;
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

  /** the topic ACL (as the generated Mosquitto ACL): a gateway publishes its own data and status, reads its own config */
  private mayUse(client: Client, topic: string, action: 'publish' | 'subscribe'): boolean {
    const p = this.principals.get(client);
    if (!p) return false;
    if (p.role === 'ingest') return !topic.startsWith('$SYS');
    if (p.role === 'record') return action === 'subscribe' && this.recordMaySubscribe(topic);
    const own = `${this.opts.prefix}/${p.loc.site}/${p.loc.room}/${p.loc.bed}/${p.loc.gatewayId}/`;
    return action === 'publish' ? topic === `${own}data` || topic === `${own}status` : topic === `${own}config`;
  }

  /**
   * A gateway that logs in with its own password but whose will (its status topic) names another
   * site/room/bed than the registry's, i.e. a gateway configured for the wrong bed: CONNACK 5 could not
   * say why, so the login is accepted with no rights at all (no principal: every publish and subscribe
   * refused, its will dropped, no session counted) and right after the CONNACK the broker sends one
   * QoS 0 message straight to that client (no subscription needed) on `<its status topic's level>/refused`,
   * JSON {reason: 'location-mismatch', gatewayId, registry: {site, room, bed}, configured: {site, room, bed}},
   * then closes the connection (docs/gateway.md "Operator tools and error messages"). Only the password holder learns the registry location.
   * Returns false when the will is not such a case (checkWill then decides as usual).
   */
  private admitMisplaced(client: Client, loc: GatewayLocation): boolean {
    const will = this.wills.get(client);
    const t = will ? parseTopic(this.opts.prefix, will.topic) : null;
    if (!will || !t || t.kind !== 'status' || t.gatewayId !== loc.gatewayId || will.topic === this.statusTopic(loc)) return false;
    if (will.payload.length > this.limits.maxStatusBytes) return false;
    const registry = { site: loc.site, room: loc.room, bed: loc.bed };
    const configured = { site: t.site, room: t.room, bed: t.bed };
    (client as Client & { _will?: unknown })._will = undefined; // aedes stores the will after authenticate: none
    this.silenced.add(client);
    this.misplaced.set(client, {
      topic: `${this.opts.prefix}/${t.site}/${t.room}/${t.bed}/${t.gatewayId}/refused`,
      payload: Buffer.from(JSON.stringify({ reason: 'location-mismatch', gatewayId: loc.gatewayId, registry, configured })),
    });
    this.opts.logger.warn(
      { gatewayId: loc.gatewayId, registry, configured },
      'gateway configured for another site/room/bed than the registry: told why, connection closed',
    );
    return true;
  }

  /** after the CONNACK of a misplaced gateway: the reason, then the close */
  private explainMisplaced(client: Client): void {
    const m = this.misplaced.get(client);
    if (!m) return;
    this.misplaced.delete(client);
    client.publish({ cmd: 'publish', topic: m.topic, payload: m.payload, qos: 0, retain: false, dup: false }, () => setImmediate(() => client.close()));
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
        for (const server of [this.server, this.tlsServer]) {
          if (server?.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
        }
      })();
    }
    return this.closing;
  }
}

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}
