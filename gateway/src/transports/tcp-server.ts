/**
 * TCP server link: the device connects to the gateway (HL7 monitors that push ORU^R01 over MLLP:
 * GE B40/B105, IHE PCD-01 senders). open() listens and resolves once bound; the link carries the
 * bytes of ONE sender: while a connection is active every further connection is refused (closed
 * at once, nothing read from it, counted `second-sender-refused`, logged with its address): a
 * second sender can neither evict the monitor nor inject values. Hosts outside `allow` (addresses
 * or CIDR subnets; absent = any, which the config only accepts with `allowAnySender`) are refused
 * and counted `sender-not-allowed`. Refusal logs are throttled per address (one per minute). When
 * the connected device hangs up, the link closes (close event, byUs false) so the session runner
 * shows the device down and listens again after its backoff; a monitor that reconnects after a
 * cable pull is accepted once the stale connection is gone (keep-alive after 5 s idle, or the
 * session watchdog). Writes while no device is connected are GW_ERR_TRANSPORT_CLOSED errors.
 *
 * TLS (`tls`, docs/hl7-mllp.md "TLS"): the certificate files are read at every open (a renewed
 * certificate is used from the next reconnect). The allow-list and the one-sender rule are applied
 * to the TCP connection before any handshake; the handshake then has HANDSHAKE_MS, at most
 * MAX_HANDSHAKES run at once, and a connection becomes the sender only once it is secure:
 * a handshake that fails (plain TCP, no common protocol, timeout) is counted `tls-handshake-failed`,
 * a client certificate that does not verify against `caFile` (clientCerts `required`, or `optional`
 * and one was presented) or whose CN is not in `allowCn` is counted `client-cert-refused`; either
 * way nothing it sent is decoded. A second sender that completes its handshake while another one
 * became active meanwhile is refused as a second sender.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { parseAllowEntry, type TcpServerTransportConfig } from '../../../schemas/src/gateway-config.js';
import { GatewayError, GW_ERR } from '../errors.js';
import type { Link, LinkContext, LinkEvents } from './link.js';

export interface TcpServerCounters {
  accepted: number;
  refused: number;
  secondSenderRefused: number;
  refusedClosing: number;
  /** TLS handshakes that failed or timed out (plain TCP to a TLS port, no certificate when one is required) */
  tlsFailed: number;
  /** TLS senders whose client certificate did not verify or whose CN is not allowed */
  certRefused: number;
}

export type TcpServerTlsConfig = NonNullable<TcpServerTransportConfig['tls']>;

const LOG_EVERY_MS = 60_000;
/** a TLS sender must finish its handshake within this */
export const HANDSHAKE_MS = 10_000;
/** handshakes in progress at once; further connections are closed at once (counted tls-handshake-failed) */
export const MAX_HANDSHAKES = 4;

/**
 * Config problems of a tcp-server `transport.tls` (`at` = its JSON path): the files resolved against
 * `baseDir` IN PLACE and read; `caFile` needed for client certificates; `allowCn` only with
 * clientCerts `required`. Used by gateway/src/config.ts (GW_ERR_CONFIG lists them all).
 */
export function tcpServerTlsProblems(t: unknown, at: string, baseDir: string): string[] {
  if (typeof t !== 'object' || t === null || Array.isArray(t)) return [];
  const o = t as Record<string, unknown>;
  const out: string[] = [];
  for (const k of ['certFile', 'keyFile', 'caFile'] as const) {
    if (typeof o[k] !== 'string' || o[k] === '') continue;
    const file = path.resolve(baseDir, o[k] as string);
    o[k] = file;
    try {
      readFileSync(file);
    } catch (err) {
      out.push(`${at}/${k}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const mode = o.clientCerts ?? 'none';
  if ((mode === 'optional' || mode === 'required') && o.caFile === undefined)
    out.push(`${at}/caFile: clientCerts '${String(mode)}' needs the CA that issued the senders' certificates`);
  if (o.allowCn !== undefined && mode !== 'required') out.push(`${at}/allowCn: pinning certificate CNs needs clientCerts 'required'`);
  return out;
}

/** the CN of a peer certificate ('' when none) */
function commonName(cert: tls.PeerCertificate | Record<string, never>): string {
  const cn = (cert as tls.PeerCertificate).subject?.CN as string | string[] | undefined;
  return Array.isArray(cn) ? (cn[0] ?? '') : (cn ?? '');
}

/** `::ffff:10.1.2.3` → `10.1.2.3` (IPv4 peers on a dual-stack socket). */
function peerAddress(sock: net.Socket): string {
  return String(sock.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
}

/** allow-list → BlockList used as a pass list; undefined = any sender. Entries that do not parse never match. */
function allowList(allow: readonly string[] | undefined): net.BlockList | undefined {
  if (!allow?.length) return undefined;
  const list = new net.BlockList();
  for (const entry of allow) {
    const e = parseAllowEntry(entry);
    if (!e) continue;
    if (e.prefix === undefined) list.addAddress(e.address, e.family);
    else list.addSubnet(e.address, e.prefix, e.family);
  }
  return list;
}

export class TcpServerLink extends EventEmitter implements Link {
  readonly description: string;
  readonly counters: TcpServerCounters = { accepted: 0, refused: 0, secondSenderRefused: 0, refusedClosing: 0, tlsFailed: 0, certRefused: 0 };
  private server: net.Server | undefined;
  /** TLS: the (never listening) server that runs handshakes on the accepted TCP connections */
  private tlsServer: tls.Server | undefined;
  /** TLS: connections in their handshake, by `address|port` */
  private readonly handshaking = new Map<string, net.Socket>();
  private client: net.Socket | undefined;
  private clientPeer = '';
  private closing = false;
  private closedOnce = false;
  private closed: Promise<void> | undefined;
  private readonly allow: net.BlockList | undefined;
  private readonly log: Logger | undefined;
  /** Last refusal log per `reason|address` (throttle: a flood of connections is counted, not logged). */
  private readonly logged = new Map<string, number>();

  constructor(
    private readonly cfg: TcpServerTransportConfig,
    ctx: LinkContext = {},
  ) {
    super();
    this.description = `${cfg.tls ? 'tls' : 'tcp'}-server:${cfg.host}:${cfg.port}`;
    this.allow = allowList(cfg.allow);
    this.log = ctx.logger;
  }

  open(): Promise<void> {
    if (this.cfg.tls) {
      try {
        this.tlsServer = this.createTlsServer(this.cfg.tls);
      } catch (err) {
        return Promise.reject(
          new GatewayError(GW_ERR.TRANSPORT_OPEN, 'transient', `cannot load the TLS certificate files of ${this.description}: ${(err as Error).message}`, {
            cause: err,
          }),
        );
      }
    }
    return new Promise((resolve, reject) => {
      const server = net.createServer((s) => this.onConnection(s));
      server.once('error', (err) => reject(new GatewayError(GW_ERR.TRANSPORT_OPEN, 'transient', `cannot listen on ${this.description}`, { cause: err })));
      server.listen(this.cfg.port, this.cfg.host, () => {
        server.removeAllListeners('error');
        server.on('error', (err) => {
          this.emit('error', new GatewayError(GW_ERR.TRANSPORT_IO, 'transient', `${this.description} failed`, { cause: err }));
          void this.shutdown(false, err);
        });
        this.server = server;
        this.closed = new Promise((done) => this.once('closed-internal', done));
        resolve();
      });
    });
  }

  /** Bound address (port 0 in the config → the port the OS chose). */
  address(): { host: string; port: number } | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : undefined;
  }

  private createTlsServer(c: TcpServerTlsConfig): tls.Server {
    const mode = c.clientCerts ?? 'none';
    const ts = tls.createServer({
      cert: readFileSync(c.certFile),
      key: readFileSync(c.keyFile),
      ...(c.caFile ? { ca: readFileSync(c.caFile) } : {}),
      // verification is checked in onSecure (counted and logged), not by OpenSSL closing silently
      requestCert: mode !== 'none',
      rejectUnauthorized: false,
      handshakeTimeout: HANDSHAKE_MS,
    });
    ts.on('secureConnection', (s: tls.TLSSocket) => this.onSecure(s));
    ts.on('tlsClientError', (err: Error, s: tls.TLSSocket) => {
      const raw = this.takeHandshake(s);
      this.counters.tlsFailed++;
      this.refuse(raw ?? s, 'tls-handshake-failed', raw ? peerAddress(raw) : peerAddress(s), 'sender refused: TLS handshake failed', {
        error: (err as NodeJS.ErrnoException).code ?? err.message,
      });
      s.destroy();
    });
    return ts;
  }

  /** the TCP connection under a TLS socket whose handshake ended (matched by remote address and port) */
  private takeHandshake(s: net.Socket): net.Socket | undefined {
    const key = `${s.remoteAddress}|${s.remotePort}`;
    const raw = this.handshaking.get(key);
    this.handshaking.delete(key);
    return raw;
  }

  private onSecure(s: tls.TLSSocket): void {
    const raw = this.takeHandshake(s);
    const peer = peerAddress(raw ?? s);
    const c = this.cfg.tls as TcpServerTlsConfig;
    const mode = c.clientCerts ?? 'none';
    if (this.closing) {
      this.counters.refusedClosing++;
      s.destroy();
      return;
    }
    if (mode !== 'none') {
      const cert = s.getPeerCertificate();
      const presented = Object.keys(cert).length > 0;
      const cn = presented ? commonName(cert) : '';
      let why: string | undefined;
      if ((mode === 'required' || presented) && !s.authorized) why = `client certificate not accepted: ${String(s.authorizationError ?? 'none presented')}`;
      else if (c.allowCn && !c.allowCn.includes(cn)) why = `client certificate CN '${cn}' not in tls.allowCn`;
      if (why) {
        this.counters.certRefused++;
        this.refuse(s, 'client-cert-refused', peer, `sender refused: ${why}`, { ...(presented ? { cn } : {}) });
        return;
      }
    }
    if (this.client) {
      this.counters.secondSenderRefused++;
      this.refuse(s, 'second-sender-refused', peer, 'second sender refused: a monitor is already connected');
      return;
    }
    this.attach(s, peer);
  }

  private onConnection(sock: net.Socket): void {
    const peer = peerAddress(sock);
    if (this.closing) {
      this.counters.refusedClosing++;
      sock.destroy();
      return;
    }
    if (this.allow && !this.allow.check(peer, net.isIPv6(peer) ? 'ipv6' : 'ipv4')) {
      this.counters.refused++;
      this.refuse(sock, 'sender-not-allowed', peer, 'sender refused: address not in transport.allow');
      return;
    }
    if (this.client) {
      this.counters.secondSenderRefused++;
      this.refuse(sock, 'second-sender-refused', peer, 'second sender refused: a monitor is already connected');
      return;
    }
    sock.setNoDelay(true);
    sock.setKeepAlive(true, 5_000);
    if (this.tlsServer) {
      if (this.handshaking.size >= MAX_HANDSHAKES) {
        this.counters.tlsFailed++;
        this.refuse(sock, 'tls-handshake-failed', peer, 'sender refused: too many TLS handshakes at once');
        return;
      }
      const key = `${sock.remoteAddress}|${sock.remotePort}`;
      this.handshaking.set(key, sock);
      sock.once('close', () => {
        if (this.handshaking.get(key) === sock) this.handshaking.delete(key);
      });
      this.tlsServer.emit('connection', sock);
      return;
    }
    this.attach(sock, peer);
  }

  /** `sock` (plain, or TLS once secure and verified) becomes the one sender */
  private attach(sock: net.Socket, peer: string): void {
    this.counters.accepted++;
    this.client = sock;
    this.clientPeer = peer;
    let lastError: Error | undefined;
    sock.on('data', (d: Buffer) => {
      if (this.client === sock) this.emit('data', d);
    });
    sock.on('error', (err) => {
      lastError = err;
      if (this.client === sock) this.emit('error', new GatewayError(GW_ERR.TRANSPORT_IO, 'transient', `${this.description} client failed`, { cause: err }));
    });
    sock.once('close', () => {
      if (this.client !== sock) return;
      this.client = undefined;
      if (!this.closing) void this.shutdown(false, lastError);
    });
  }

  /** Closes a refused connection at once (nothing is read from it) and logs its address, throttled. */
  private refuse(sock: net.Socket, reason: string, peer: string, msg: string, extra: Record<string, unknown> = {}): void {
    sock.on('error', () => undefined);
    sock.destroy();
    if (!this.log) return;
    const key = `${reason}|${peer}`;
    const now = Date.now();
    const last = this.logged.get(key);
    if (last !== undefined && now - last < LOG_EVERY_MS) return;
    if (this.logged.size >= 1024) this.logged.clear();
    this.logged.set(key, now);
    const count =
      reason === 'second-sender-refused'
        ? this.counters.secondSenderRefused
        : reason === 'tls-handshake-failed'
          ? this.counters.tlsFailed
          : reason === 'client-cert-refused'
            ? this.counters.certRefused
            : this.counters.refused;
    this.log.warn(
      { peer, reason, listen: this.description, ...(reason === 'second-sender-refused' ? { activePeer: this.clientPeer } : {}), ...extra, count },
      msg,
    );
  }

  /** Refusals by kind (only those that happened), for the device status. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    if (this.counters.refused) out['sender-not-allowed'] = this.counters.refused;
    if (this.counters.secondSenderRefused) out['second-sender-refused'] = this.counters.secondSenderRefused;
    if (this.counters.tlsFailed) out['tls-handshake-failed'] = this.counters.tlsFailed;
    if (this.counters.certRefused) out['client-cert-refused'] = this.counters.certRefused;
    return out;
  }

  write(bytes: Uint8Array): void {
    const c = this.client;
    if (!c || c.destroyed) {
      this.emit('error', new GatewayError(GW_ERR.TRANSPORT_CLOSED, 'transient', `write on ${this.description} with no device connected`));
      return;
    }
    c.write(bytes);
  }

  private async shutdown(byUs: boolean, error?: Error): Promise<void> {
    if (this.closedOnce) return;
    this.closedOnce = true;
    this.closing = true;
    const c = this.client;
    this.client = undefined;
    if (c && !c.destroyed) {
      await new Promise<void>((done) => {
        const timer = setTimeout(() => {
          c.destroy();
        }, 500);
        c.once('close', () => {
          clearTimeout(timer);
          done();
        });
        c.end();
      });
    }
    for (const h of this.handshaking.values()) h.destroy();
    this.handshaking.clear();
    this.tlsServer = undefined;
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((done) => s.close(() => done()));
    this.emit('close', { byUs, ...(error ? { error } : {}) });
    this.emit('closed-internal');
  }

  /** Idempotent; half-closes the device connection first so a queued ACK goes out. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.server || this.client) void this.shutdown(true);
    await this.closed;
  }

  override on<E extends keyof LinkEvents>(event: E, listener: LinkEvents[E]): this {
    return super.on(event, listener);
  }
  override off<E extends keyof LinkEvents>(event: E, listener: LinkEvents[E]): this {
    return super.off(event, listener);
  }
}
