/** TCP client link (serial-to-LAN converters, devices with a LAN port, simulators). */
import net from 'node:net';
import { EventEmitter } from 'node:events';
import type { TcpTransportConfig } from '../../../schemas/src/gateway-config.js';
import { GatewayError, GW_ERR } from '../errors.js';
import type { Link, LinkEvents } from './link.js';

export interface TcpLinkOptions {
  connectTimeoutMs?: number;
}

export class TcpLink extends EventEmitter implements Link {
  readonly description: string;
  private socket: net.Socket | undefined;
  private closing = false;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly cfg: TcpTransportConfig,
    private readonly opts: TcpLinkOptions = {},
  ) {
    super();
    this.description = `tcp:${cfg.host}:${cfg.port}`;
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const sock = net.createConnection({ host: this.cfg.host, port: this.cfg.port });
      const timer = setTimeout(() => sock.destroy(new Error('connect timeout')), this.opts.connectTimeoutMs ?? 10_000);
      const onError = (err: Error) => {
        clearTimeout(timer);
        reject(new GatewayError(GW_ERR.TRANSPORT_OPEN, 'transient', `cannot connect to ${this.description}`, { cause: err }));
      };
      sock.once('error', onError);
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.off('error', onError);
        sock.setNoDelay(true);
        sock.setKeepAlive(true, 5_000);
        this.socket = sock;
        let lastError: Error | undefined;
        sock.on('data', (d: Buffer) => this.emit('data', d));
        sock.on('error', (err) => {
          lastError = err;
          this.emit('error', new GatewayError(GW_ERR.TRANSPORT_IO, 'transient', `${this.description} failed`, { cause: err }));
        });
        this.closed = new Promise((done) =>
          sock.once('close', () => {
            this.socket = undefined;
            this.emit('close', { byUs: this.closing, ...(lastError ? { error: lastError } : {}) });
            done();
          }),
        );
        resolve();
      });
    });
  }

  write(bytes: Uint8Array): void {
    if (!this.socket || this.socket.destroyed) {
      this.emit('error', new GatewayError(GW_ERR.TRANSPORT_CLOSED, 'transient', `write on closed ${this.description}`));
      return;
    }
    this.socket.write(bytes);
  }

  /** Half-closes first so queued writes (a driver's stop request) go out; destroys after 500 ms. */
  async close(): Promise<void> {
    this.closing = true;
    const sock = this.socket;
    if (sock && !sock.destroyed) {
      const timer = setTimeout(() => sock.destroy(), 500);
      sock.end(() => {
        clearTimeout(timer);
        sock.destroy();
      });
    }
    await this.closed;
  }

  override on<E extends keyof LinkEvents>(event: E, listener: LinkEvents[E]): this {
    return super.on(event, listener);
  }
  override off<E extends keyof LinkEvents>(event: E, listener: LinkEvents[E]): this {
    return super.off(event, listener);
  }
}
