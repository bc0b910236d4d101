/**
 * The embedded broker's limit checks in one place (docs/security.md "Broker limits"), separate from
 * aedes wiring and sessions (embedded-broker.ts): failed-login lockout, client id ownership, the will
 * and publish rules for gateways (retain only on the own status topic, status size), the per-gateway
 * in-flight cap and rate, the record-system account's refusals (any publish or will, subscriptions
 * outside `vitals`/`case`), and the oversize-packet report. Each refusal is counted (`mqtt_*_total`)
 * and logged with user name / gateway id and address — never a password. Repeated warnings of one
 * kind and key are logged at most once a minute (the counters carry the rate).
 */
import type { Client, PublishPacket } from 'aedes';
import type net from 'node:net';
import type { Logger } from 'pino';
import type { BrokerLimits } from '../../../schemas/src/ingest-config.js';
import type { Metrics } from '../metrics.js';
import type { GatewayLocation } from '../registry/registry-store.js';
import { mayUseClientId, type ClientIdAccount, type ClientIdRules } from './client-id.js';
import { LoginGuard, type LoginVerdict } from './login-guard.js';
import { packetTypeName, type OversizePacket } from './packet-size-guard.js';
import { PublishLimits } from './publish-limits.js';

/** a login refused: the CONNACK return code and the reason */
export class Refusal {
  constructor(
    readonly returnCode: number,
    readonly message: string,
  ) {}
}

export interface Will {
  topic: string;
  payload: Buffer;
  retain: boolean;
}

export type PublishVerdict = { error: Error } | { waitMs: number; release: () => void };

const LOG_EVERY_MS = 60_000;
const shortName = (s: string | undefined | null) => (s === undefined || s === null ? undefined : s.length > 128 ? `${s.slice(0, 128)}…` : s);
const payloadBytes = (p: PublishPacket) => (typeof p.payload === 'string' ? Buffer.byteLength(p.payload) : p.payload.length);
export const remoteAddress = (c: Client) => (c.conn as net.Socket).remoteAddress ?? 'unknown';

export class BrokerPolicy {
  private readonly guard: LoginGuard;
  private readonly publishLimits: PublishLimits;
  private readonly logged = new Map<string, number>();

  constructor(
    readonly limits: BrokerLimits,
    private readonly clientIds: ClientIdRules,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    const l = limits;
    this.guard = new LoginGuard({
      maxFailures: l.loginMaxFailures,
      maxFailuresPerAddress: l.loginMaxFailuresPerAddress,
      lockoutMs: l.loginLockoutMs,
      lockoutMaxMs: l.loginLockoutMaxMs,
      forgetMs: l.loginForgetMs,
    });
    this.publishLimits = new PublishLimits({
      publishesPerSecond: l.publishesPerSecond,
      publishBurst: l.publishBurst,
      bytesPerSecond: l.bytesPerSecond,
      maxPacketBytes: l.maxPacketBytes,
      maxInflight: l.maxInflight,
    });
  }

  /** before the password is checked: throws a Refusal (CONNACK 5) during a lockout */
  beginLogin(user: string, ip: string): LoginVerdict {
    const verdict = this.guard.check(user, ip);
    if (verdict.allowed) return verdict;
    this.metrics.inc('mqtt_auth_locked_total');
    if (this.shouldLog(`locked\0${user}\0${ip}`, Math.min(verdict.retryInMs, LOG_EVERY_MS))) {
      this.log.warn(
        { username: shortName(user), ip, lockedBy: verdict.lockedBy, retryInMs: verdict.retryInMs },
        'mqtt login refused unchecked: locked out after failed logins',
      );
    }
    throw new Refusal(5, 'not authorized (locked out after failed logins)');
  }

  /** a wrong password or unknown user: counted, logged, Refusal (CONNACK 4) */
  loginFailed(user: string, ip: string, verdict: LoginVerdict, clientId: string): Refusal {
    const r = this.guard.failed(user, ip, verdict);
    this.metrics.inc('mqtt_auth_failures_total');
    this.log.warn({ username: shortName(user), ip, clientId: shortName(clientId), failures: r.failures, lockedForMs: r.lockedForMs }, 'mqtt login failed');
    return new Refusal(4, 'bad username or password');
  }

  loginSucceeded(user: string, ip: string, verdict: LoginVerdict): void {
    this.guard.succeeded(user, ip, verdict);
  }

  /** throws a Refusal (CONNACK 2) when the client id belongs to another account */
  checkClientId(account: ClientIdAccount, client: Client, user: string): void {
    if (mayUseClientId(account, client.id, this.clientIds)) return;
    this.metrics.inc('mqtt_client_id_refused_total');
    this.log.warn(
      { username: shortName(user), clientId: shortName(client.id), ip: remoteAddress(client) },
      'mqtt login refused: the client id belongs to another account',
    );
    throw new Refusal(2, 'identifier rejected: the client id belongs to another account');
  }

  /** a gateway's will must be its own status topic and no larger than a status document; throws a Refusal (5) */
  checkWill(will: Will | null | undefined, loc: GatewayLocation, statusTopic: string): void {
    if (!will) return;
    if (will.topic !== statusTopic) {
      if (will.retain) this.metrics.inc('mqtt_retain_denied_total');
      this.log.warn({ gatewayId: loc.gatewayId, topic: will.topic }, 'mqtt login refused: will outside the own status topic');
      throw new Refusal(5, 'not authorized: will topic');
    }
    if (will.payload.length > this.limits.maxStatusBytes) {
      this.metrics.inc('mqtt_status_too_large_total');
      this.log.warn(
        { gatewayId: loc.gatewayId, bytes: will.payload.length, maxBytes: this.limits.maxStatusBytes },
        'mqtt login refused: will larger than a status document',
      );
      throw new Refusal(5, 'not authorized: will too large');
    }
  }

  /** the record-system account announces no will (it publishes nothing); throws a Refusal (5) */
  checkRecordWill(will: Will | null | undefined, user: string, client: Client): void {
    if (!will) return;
    this.metrics.inc('mqtt_record_publish_denied_total');
    this.log.warn(
      { account: 'record', username: shortName(user), clientId: shortName(client.id), topic: shortName(will.topic) },
      'mqtt login refused: the record-system account may not set a will',
    );
    throw new Refusal(5, 'not authorized: will');
  }

  /** a publish of the record-system account (read-only): counted and logged; the caller closes the connection */
  recordPublishDenied(client: Client, topic: string): void {
    this.metrics.inc('mqtt_record_publish_denied_total');
    if (this.shouldLog(`recpub\0${client.id}`))
      this.log.warn({ account: 'record', clientId: shortName(client.id), topic: shortName(topic) }, 'record-system publish refused: connection closed');
  }

  /** a subscription of the record-system account outside its ACL: counted and logged; the caller answers SUBACK 0x80 */
  recordSubscribeDenied(client: Client, topic: string): void {
    this.metrics.inc('mqtt_record_subscribe_denied_total');
    if (this.shouldLog(`recsub\0${client.id}\0${topic}`))
      this.log.warn({ account: 'record', clientId: shortName(client.id), topic: shortName(topic) }, 'record-system subscription refused (SUBACK 0x80)');
  }

  /** a gateway publish (inside its topic ACL): refused, or admitted after `waitMs` (call `release` when answered) */
  checkPublish(client: Client, gatewayId: string, packet: PublishPacket, statusTopic: string): PublishVerdict {
    const isStatus = packet.topic === statusTopic;
    const bytes = payloadBytes(packet);
    if (packet.retain && !isStatus) {
      this.metrics.inc('mqtt_retain_denied_total');
      this.log.warn({ gatewayId, clientId: client.id, topic: packet.topic }, 'retained publish refused: only the own status topic may be retained');
      return { error: new Error('retain not allowed on this topic') };
    }
    if (isStatus && bytes > this.limits.maxStatusBytes) {
      this.metrics.inc('mqtt_status_too_large_total');
      this.log.warn({ gatewayId, clientId: client.id, bytes, maxBytes: this.limits.maxStatusBytes }, 'status document too large: refused');
      return { error: new Error('status document too large') };
    }
    const adm = this.publishLimits.admit(gatewayId, bytes);
    if (!adm.ok) {
      this.metrics.inc('mqtt_inflight_exceeded_total');
      this.log.warn(
        { gatewayId, clientId: client.id, inflight: adm.inflight, maxInflight: this.limits.maxInflight },
        'too many publishes in flight: connection closed',
      );
      return { error: new Error('too many publishes in flight') };
    }
    if (adm.waitMs > 0) {
      this.metrics.inc('mqtt_rate_limited_total');
      if (this.shouldLog(`rate\0${gatewayId}`)) this.log.warn({ gatewayId, waitMs: adm.waitMs }, 'gateway publish rate above the limit: held back');
    }
    return { waitMs: adm.waitMs, release: adm.release };
  }

  /** the connection is being closed for an oversize (or malformed) packet */
  oversize(socket: net.Socket, bad: OversizePacket, who: { gatewayId?: string; account?: string; clientId?: string | null }): void {
    this.metrics.inc('mqtt_packet_too_large_total');
    this.log.warn(
      {
        gatewayId: who.gatewayId,
        account: who.account,
        clientId: shortName(who.clientId),
        ip: socket.remoteAddress,
        packet: packetTypeName(bad.type),
        bytes: bad.bytes,
        maxBytes: this.limits.maxPacketBytes,
      },
      bad.bytes < 0 ? 'malformed mqtt packet length: connection closed' : 'mqtt packet too large: connection closed',
    );
  }

  /** a client certificate login refused (docs/tls.md): counted, logged, Refusal (CONNACK 5) */
  certificateRefused(who: { cn: string | undefined; username: string | undefined; ip: string; clientId: string }, reason: string): Refusal {
    this.metrics.inc('mqtt_cert_refused_total');
    this.log.warn(
      { gatewayId: shortName(who.cn), username: shortName(who.username), ip: who.ip, clientId: shortName(who.clientId), reason },
      'mqtt certificate login refused',
    );
    return new Refusal(5, `not authorized: ${reason}`);
  }

  /** a TLS handshake on the mqtts listener failed (untrusted or revoked certificate, none where one is required, not TLS) */
  handshakeFailed(ip: string | undefined, err: Error): void {
    this.metrics.inc('mqtt_tls_handshake_failures_total');
    const code = (err as NodeJS.ErrnoException).code;
    if (this.shouldLog(`tls\0${ip}\0${code}`)) this.log.warn({ ip, code, err: err.message }, 'mqtts handshake failed');
  }

  sessionLimited(gatewayId: string, closed: string, newClientId: string): void {
    this.metrics.inc('mqtt_sessions_limited_total');
    this.log.info({ gatewayId, closed, newClientId, maxSessions: this.limits.maxSessions }, 'gateway session limit: oldest session closed');
  }

  recordSessionLimited(closed: string, newClientId: string, maxSessions: number): void {
    this.metrics.inc('mqtt_sessions_limited_total');
    this.log.info(
      { account: 'record', closed: shortName(closed), newClientId: shortName(newClientId), maxSessions },
      'record-system session limit: oldest session closed',
    );
  }

  /** throttles repeated warnings: true at most once per `everyMs` per key */
  private shouldLog(key: string, everyMs = LOG_EVERY_MS): boolean {
    const t = Date.now();
    if (t - (this.logged.get(key) ?? -Infinity) < everyMs) return false;
    if (this.logged.size >= 10_000) this.logged.clear();
    this.logged.set(key, t);
    return true;
  }
}
