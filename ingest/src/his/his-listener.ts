/**
 * The MLLP listener for the HIS interface engine (config `his`, docs/his.md). Only addresses in
 * `his.allow` may connect (others are closed at once, counted, logged once a minute per address);
 * at most MAX_CONNECTIONS at a time. Each connection's bytes go through the gateway's bounded MLLP
 * framer (gateway/src/protocols/hl7-mllp/mllp.ts); each message is handled synchronously (stored,
 * then ACKed) in arrival order. If a message cannot even be stored, no ACK is sent and the
 * connection is closed, so the sender resends it.
 *
 * TLS (`his.tls`, docs/his.md "TLS"): the port then speaks TLS only. The certificate files are read
 * once at start (tls-files.ts; unreadable: ING_ERR_CONFIG naming the key). The address allow-list
 * and the connection cap apply to the TCP connection, before any handshake; the handshake then has
 * HANDSHAKE_MS. With clientCerts 'required' a certificate the CA did not verify (or none) fails the
 * handshake; with 'optional' a presented certificate that did not verify is refused after it; with
 * `his.allowCn` the CN must be listed. Every such refusal is counted (stats.tlsRefused, metric
 * his_tls_handshake_failures_total) and logged once per address and minute; nothing the peer sent
 * is read.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { parseAllowEntry } from '../../../schemas/src/gateway-config.js';
import { MllpFramer, mllpWrap } from '../../../gateway/src/protocols/hl7-mllp/mllp.js';
import { IngestError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { readTlsServerFiles } from '../tls-files.js';
import type { HisConfig, HisFeed } from './his-feed.js';

export const MAX_CONNECTIONS = 16;
/** a connection silent this long is closed (interface engines reconnect) */
export const IDLE_MS = 30 * 60_000;
/** a TLS peer must finish its handshake within this */
export const HANDSHAKE_MS = 10_000;

const peerOf = (s: net.Socket) => String(s.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');

function passList(allow: readonly string[]): net.BlockList {
  const list = new net.BlockList();
  for (const entry of allow) {
    const e = parseAllowEntry(entry);
    if (!e) continue;
    if (e.prefix === undefined) list.addAddress(e.address, e.family);
    else list.addSubnet(e.address, e.prefix, e.family);
  }
  return list;
}

export class HisListener {
  readonly stats = { accepted: 0, refused: 0, tooMany: 0, framingErrors: 0, storeFailures: 0, tlsRefused: 0 };
  private server: net.Server | null = null;
  /** his.tls: a never-listening TLS server that runs the handshakes on accepted TCP connections */
  private tlsServer: tls.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  /** TLS sockets being served (their TCP connections are in `sockets`) */
  private readonly secure = new Set<net.Socket>();
  /** TCP connection → its peer address, read before the handshake (a failed TLS socket may no longer know it) */
  private readonly peers = new WeakMap<net.Socket, string>();
  private readonly allow: net.BlockList;
  private readonly logged = new Map<string, number>();

  constructor(
    private readonly cfg: HisConfig,
    private readonly feed: HisFeed,
    private readonly log?: Logger,
    private readonly metrics?: Metrics,
  ) {
    this.allow = passList(cfg.allow);
  }

  get port(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : this.cfg.port;
  }

  async start(): Promise<void> {
    if (!this.cfg.allow.length) throw new IngestError('ING_ERR_CONFIG', 'fatal', 'his.allow is required when his.enabled');
    if (this.cfg.tls) this.tlsServer = this.createTlsServer(this.cfg.tls);
    const server = net.createServer((sock) => this.accept(sock));
    server.maxConnections = MAX_CONNECTIONS * 4; // hard cap below; this only bounds a flood
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.cfg.port, this.cfg.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.log?.error({ err: err.message }, 'HIS listener error'));
    this.server = server;
    this.log?.info({ host: this.cfg.host, port: this.port, tls: !!this.tlsServer }, 'HIS MLLP listener started');
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const sock of [...this.secure, ...this.sockets]) sock.destroy();
    this.sockets.clear();
    this.secure.clear();
    this.tlsServer = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private createTlsServer(c: NonNullable<HisConfig['tls']>): tls.Server {
    const { clientCerts, ...opts } = readTlsServerFiles(c, '/his/tls');
    const ts = tls.createServer({ ...opts, handshakeTimeout: HANDSHAKE_MS });
    ts.on('secureConnection', (s: tls.TLSSocket) => {
      const peer = this.peerOfTls(s);
      if (!this.server) {
        s.destroy();
        return;
      }
      let why = '';
      if (clientCerts !== 'none') {
        const cert = s.getPeerCertificate();
        const presented = Object.keys(cert).length > 0;
        const cnRaw = presented ? (cert.subject?.CN as string | string[] | undefined) : undefined;
        const cn = Array.isArray(cnRaw) ? cnRaw.join(',') : (cnRaw ?? '');
        if ((clientCerts === 'required' || presented) && !s.authorized)
          why = `client certificate not verified (${String(s.authorizationError ?? 'none presented')})`;
        else if (this.cfg.allowCn && !this.cfg.allowCn.includes(cn)) why = `client certificate CN '${cn}' not in his.allowCn`;
      }
      if (why) {
        this.tlsRefusal(peer, `HIS sender refused: ${why}`);
        s.destroy();
        return;
      }
      this.secure.add(s);
      s.on('close', () => {
        this.secure.delete(s);
      });
      this.serve(s, peer);
    });
    ts.on('tlsClientError', (err: NodeJS.ErrnoException, s: tls.TLSSocket) => {
      this.tlsRefusal(this.peerOfTls(s), `HIS sender refused: TLS handshake failed (${err.code ?? err.message})`);
      s.destroy();
    });
    return ts;
  }

  /** the TLS socket's TCP connection is its `_parent` (set by node:tls when wrapping a net.Socket; not typed) */
  private peerOfTls(s: tls.TLSSocket): string {
    const parent = (s as unknown as { _parent?: net.Socket })._parent;
    return (parent && this.peers.get(parent)) || peerOf(s) || 'unknown';
  }

  private tlsRefusal(peer: string, msg: string): void {
    this.stats.tlsRefused++;
    this.metrics?.inc('his_tls_handshake_failures_total');
    this.refusal(peer, msg);
  }

  private accept(sock: net.Socket): void {
    const peer = peerOf(sock);
    if (!this.allow.check(peer, net.isIPv6(peer) ? 'ipv6' : 'ipv4')) {
      this.stats.refused++;
      this.refusal(peer, 'HIS sender refused: address not in his.allow');
      sock.destroy();
      return;
    }
    if (this.sockets.size >= MAX_CONNECTIONS) {
      this.stats.tooMany++;
      this.refusal(peer, `HIS sender refused: ${MAX_CONNECTIONS} connections open`);
      sock.destroy();
      return;
    }
    this.sockets.add(sock);
    sock.on('close', () => {
      this.sockets.delete(sock);
    });
    if (this.tlsServer) {
      // the TCP connection counts against MAX_CONNECTIONS from now on; the handshake runs on it
      sock.on('error', () => {
        /* a failed handshake surfaces as tlsClientError */
      });
      this.peers.set(sock, peer);
      this.tlsServer.emit('connection', sock);
      return;
    }
    this.serve(sock, peer);
  }

  /** `sock`: the plain connection, or the TLS one once its handshake and certificate checks passed */
  private serve(sock: net.Socket, peer: string): void {
    this.stats.accepted++;
    const framer = new MllpFramer({ maxBytes: this.cfg.maxMessageBytes });
    let errors = 0;
    sock.setTimeout(IDLE_MS, () => sock.destroy());
    sock.on('error', () => {
      /* reset by peer: the close handler cleans up */
    });
    sock.on('data', (chunk: Buffer) => {
      for (const payload of framer.push(chunk)) {
        if (sock.destroyed) return;
        try {
          const r = this.feed.handle(payload, peer);
          sock.write(mllpWrap(r.ack));
        } catch (err) {
          this.stats.storeFailures++;
          this.log?.error({ err: (err as Error).message }, 'HIS message could not be stored: no ACK, connection closed');
          sock.destroy();
          return;
        }
      }
      const e = Object.values(framer.stats().errors).reduce((a, b) => a + b, 0);
      if (e > errors) {
        this.stats.framingErrors += e - errors;
        errors = e;
      }
    });
  }

  private refusal(peer: string, msg: string): void {
    const now = Date.now();
    if ((this.logged.get(peer) ?? 0) + 60_000 > now) return;
    if (this.logged.size > 1000) this.logged.clear();
    this.logged.set(peer, now);
    this.log?.warn({ peer }, msg);
  }
}
