/**
 * The monitor behind a TCP port (for a gateway that reaches serial devices through a terminal
 * server): listens on loopback, serves one client at a time and refuses (closes) the others.
 */
import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { SIM_ERR, SimError } from '../errors.js';

export class TcpDeviceServer extends EventEmitter {
  private server: Server | null = null;
  private client: Socket | null = null;
  private closing: Promise<void> | undefined;
  refused = 0;
  accepted = 0;

  constructor(
    private readonly host = '127.0.0.1',
    private readonly port = 0,
  ) {
    super();
  }

  /** Start listening; resolves with the bound address (port 0 → a free port). */
  async listen(): Promise<{ host: string; port: number }> {
    const server = createServer((sock) => this.onConnection(sock));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new SimError(SIM_ERR.LINK_OPEN, `cannot listen on ${this.host}:${this.port}`, { cause: e })));
      server.listen(this.port, this.host, () => resolve());
    });
    const a = server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  current(): Socket | null {
    return this.client;
  }

  private onConnection(sock: Socket): void {
    if (this.client || this.closing) {
      this.refused++;
      sock.destroy();
      return;
    }
    this.accepted++;
    this.client = sock;
    sock.setNoDelay(true);
    sock.on('error', () => {
      /* surfaced as close */
    });
    sock.once('close', () => {
      if (this.client === sock) this.client = null;
      this.emit('client-closed');
    });
    this.emit('client', sock);
  }

  async close(): Promise<void> {
    this.closing ??= (async () => {
      this.client?.destroy();
      const s = this.server;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    })();
    return this.closing;
  }
}
