/**
 * TCP server link: the device connects to the gateway (HL7 monitors that push ORU^R01 over MLLP:
 * GE B40/B105, IHE PCD-01 senders). open() listens and resolves once bound; the link carries the
 * bytes of ONE connection at a time: a new connection replaces the current one (a monitor that
 * reconnects after a cable pull; the stale socket is destroyed and counted), connections from
 * hosts outside `allow` are refused and counted. When the connected device hangs up, the link
 * closes (close event, byUs false) so the session runner shows the device down and listens again
 * after its backoff; writes while no device is connected are GW_ERR_TRANSPORT_CLOSED errors.
 */
import net from 'node:net';
import { EventEmitter } from 'node:events';
import type { TcpServerTransportConfig } from '../../../schemas/src/gateway-config.js';
import { GatewayError, GW_ERR } from '../errors.js';
import type { Link, LinkEvents } from './link.js';

export interface TcpServerCounters { accepted: number; replaced: number; refused: number }

export class TcpServerLink extends EventEmitter implements Link {
  readonly description: string;
  readonly counters: TcpServerCounters = { accepted: 0, replaced: 0, refused: 0 };
  private server: net.Server | undefined;
  private client: net.Socket | undefined;
  private closing = false;
  private closedOnce = false;
  private closed: Promise<void> | undefined;

  constructor(private readonly cfg: TcpServerTransportConfig) {
    super();
    this.description = `tcp-server:${cfg.host}:${cfg.port}`;
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
    const allow = this.cfg.allow;
    if (this.closing || (allow?.length && !allow.includes(String(sock.remoteAddress).replace(/^::ffff:/, '')))) {
      this.counters.refused++;
      sock.destroy();
      return;
    }
    this.counters.accepted++;
    if (this.client) {
      this.counters.replaced++;
      const old = this.client;
      this.client = undefined;
      old.destroy();
    }
    this.client = sock;
    sock.setNoDelay(true);
    sock.setKeepAlive(true, 5_000);
    let lastError: Error | undefined;
    sock.on('data', (d: Buffer) => { if (this.client === sock) this.emit('data', d); });
    sock.on('error', (err) => {
      lastError = err;
      if (this.client === sock) this.emit('error', new GatewayError(GW_ERR.TRANSPORT_IO, 'transient', `${this.description} client failed`, { cause: err }));
    });
    sock.once('close', () => {
      if (this.client !== sock) return; // replaced: not a hang-up of the current device
      this.client = undefined;
      if (!this.closing) void this.shutdown(false, lastError);
    });
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
