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
 */
import net from 'node:net';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { parseAllowEntry, type TcpServerTransportConfig } from '../../../schemas/src/gateway-config.js';
import { GatewayError, GW_ERR } from '../errors.js';
import type { Link, LinkContext, LinkEvents } from './link.js';

export interface TcpServerCounters { accepted: number; refused: number; secondSenderRefused: number; refusedClosing: number }

const LOG_EVERY_MS = 60_000;

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
  readonly counters: TcpServerCounters = { accepted: 0, refused: 0, secondSenderRefused: 0, refusedClosing: 0 };
  private server: net.Server | undefined;
  private client: net.Socket | undefined;
  private clientPeer = '';
  private closing = false;
  private closedOnce = false;
  private closed: Promise<void> | undefined;
  private readonly allow: net.BlockList | undefined;
  private readonly log: Logger | undefined;
  /** Last refusal log per `reason|address` (throttle: a flood of connections is counted, not logged). */
  private readonly logged = new Map<string, number>();

  constructor(private readonly cfg: TcpServerTransportConfig, ctx: LinkContext = {}) {
    super();
    this.description = `tcp-server:${cfg.host}:${cfg.port}`;
    this.allow = allowList(cfg.allow);
    this.log = ctx.logger;
  }

  open(): Promise<void> {
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
    this.counters.accepted++;
    this.client = sock;
    this.clientPeer = peer;
    sock.setNoDelay(true);
    sock.setKeepAlive(true, 5_000);
    let lastError: Error | undefined;
    sock.on('data', (d: Buffer) => { if (this.client === sock) this.emit('data', d); });
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
  private refuse(sock: net.Socket, reason: string, peer: string, msg: string): void {
    sock.on('error', () => undefined);
    sock.destroy();
    if (!this.log) return;
    const key = `${reason}|${peer}`;
    const now = Date.now();
    const last = this.logged.get(key);
    if (last !== undefined && now - last < LOG_EVERY_MS) return;
    if (this.logged.size >= 1024) this.logged.clear();
    this.logged.set(key, now);
    const count = reason === 'second-sender-refused' ? this.counters.secondSenderRefused : this.counters.refused;
    this.log.warn({ peer, reason, listen: this.description, ...(reason === 'second-sender-refused' ? { activePeer: this.clientPeer } : {}), count }, msg);
  }

  /** Refusals by kind (only those that happened), for the device status. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    if (this.counters.refused) out['sender-not-allowed'] = this.counters.refused;
    if (this.counters.secondSenderRefused) out['second-sender-refused'] = this.counters.secondSenderRefused;
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
        const timer = setTimeout(() => { c.destroy(); }, 500);
        c.once('close', () => { clearTimeout(timer); done(); });
        c.end();
      });
    }
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

  override on<E extends keyof LinkEvents>(event: E, listener: LinkEvents[E]): this { return super.on(event, listener); }
  override off<E extends keyof LinkEvents>(event: E, listener: LinkEvents[E]): this { return super.off(event, listener); }
}
