/**
 * UDP datagram link (Philips IntelliVue LAN, UDP 24105): every received datagram from the device's
 * host is emitted as ONE `data` chunk (message boundaries preserved; the driver must not need
 * re-framing), every write() is sent as one datagram to host:port. Datagrams from other addresses
 * are dropped and counted. UDP has no hang-up: a silent device is the driver's watchdog's business.
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { GatewayError, GW_ERR } from '../errors.js';
import type { Link, LinkEvents } from './link.js';

export interface UdpLinkConfig {
  host: string;
  port: number;
  localPort?: number;
}

export class UdpLink extends EventEmitter implements Link {
  readonly description: string;
  private sock: dgram.Socket | undefined;
  private closing = false;
  private closed: Promise<void> | undefined;
  /** Datagrams from an address other than the device's, dropped. */
  foreign = 0;

  constructor(private readonly cfg: UdpLinkConfig) {
    super();
    this.description = `udp:${cfg.host}:${cfg.port}`;
  }

  open(): Promise<void> {
    const family = isIP(this.cfg.host) === 6 ? 'udp6' : 'udp4';
    const loopback = this.cfg.host === '127.0.0.1' || this.cfg.host === '::1' || this.cfg.host === 'localhost';
    const bindAddr = loopback ? (family === 'udp6' ? '::1' : '127.0.0.1') : undefined;
    return new Promise((resolve, reject) => {
      const sock = dgram.createSocket(family);
      const onError = (err: Error): void => {
        sock.close();
        reject(new GatewayError(GW_ERR.TRANSPORT_OPEN, 'transient', `cannot bind ${this.description}`, { cause: err }));
      };
      sock.once('error', onError);
      sock.bind(this.cfg.localPort ?? 0, bindAddr, () => {
        sock.off('error', onError);
        this.sock = sock;
        this.closing = false;
        const peer = this.cfg.host === 'localhost' ? '127.0.0.1' : this.cfg.host;
        sock.on('message', (msg, rinfo) => {
          if (rinfo.address !== peer && isIP(this.cfg.host)) {
            this.foreign++;
            return;
          }
          this.emit('data', msg);
        });
        sock.on('error', (err) => this.emit('error', new GatewayError(GW_ERR.TRANSPORT_IO, 'transient', `${this.description} failed`, { cause: err })));
        this.closed = new Promise((done) =>
          sock.once('close', () => {
            this.sock = undefined;
            this.emit('close', { byUs: this.closing });
            done();
          }),
        );
        resolve();
      });
    });
  }

  write(bytes: Uint8Array): void {
    if (!this.sock) {
      this.emit('error', new GatewayError(GW_ERR.TRANSPORT_CLOSED, 'transient', `write on closed ${this.description}`));
      return;
    }
    this.sock.send(bytes, this.cfg.port, this.cfg.host);
  }

  /** Local port bound (after open), for tests and logs. */
  localPort(): number | undefined {
    return this.sock?.address().port;
  }

  async close(): Promise<void> {
    const s = this.sock;
    if (s && !this.closing) {
      this.closing = true;
      // let queued sends go out (a driver's release request) before closing
      await new Promise<void>((r) => setImmediate(r));
      s.close();
    }
    this.closing = true;
    await this.closed;
  }

  override on<E extends keyof LinkEvents>(event: E, listener: LinkEvents[E]): this {
    return super.on(event, listener);
  }
  override off<E extends keyof LinkEvents>(event: E, listener: LinkEvents[E]): this {
    return super.off(event, listener);
  }
}
