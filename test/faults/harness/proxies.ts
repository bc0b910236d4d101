/**
 * Fault proxies for the test path (loopback only, free ports):
 * - TcpFaultProxy: between a gateway and the broker. Modes: 'pass'; 'blackhole' (connections stay
 *   open, every byte in both directions is dropped: a network partition); 'no-acks' (client → server
 *   passes, server → client is dropped: PUBACKs lost, forces QoS 1 redelivery); 'refuse' (every new
 *   connection is reset at once: a cut link); cut() destroys every live connection (a reset).
 * - HttpFaultProxy: between ingest and InfluxDB. Writes (POST /write) can be answered with a status
 *   (429/503, Retry-After) or held for a while; everything else passes.
 */
import net from 'node:net';
import http from 'node:http';

export type TcpMode = 'pass' | 'blackhole' | 'no-acks' | 'refuse';

export class TcpFaultProxy {
  mode: TcpMode = 'pass';
  private server: net.Server | null = null;
  private readonly pairs = new Set<{ a: net.Socket; b: net.Socket }>();
  port = 0;
  /** bytes forwarded / dropped (diagnostics) */
  readonly stats = { connections: 0, forwarded: 0, dropped: 0 };

  constructor(private readonly target: { host: string; port: number }) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = net.createServer((a) => {
      this.stats.connections++;
      if (this.mode === 'refuse') {
        a.on('error', () => {});
        a.destroy();
        return;
      }
      const b = net.connect(this.target.port, this.target.host);
      const pair = { a, b };
      this.pairs.add(pair);
      const end = () => {
        a.destroy();
        b.destroy();
        this.pairs.delete(pair);
      };
      a.on('error', end);
      b.on('error', end);
      a.on('close', end);
      b.on('close', end);
      a.on('data', (c: Buffer) => this.forward(c, b, 'up'));
      b.on('data', (c: Buffer) => this.forward(c, a, 'down'));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as net.AddressInfo).port;
  }

  private forward(c: Buffer, to: net.Socket, dir: 'up' | 'down'): void {
    const drop = this.mode === 'blackhole' || (this.mode === 'no-acks' && dir === 'down');
    if (drop || to.destroyed) {
      this.stats.dropped += c.length;
      return;
    }
    this.stats.forwarded += c.length;
    to.write(c);
  }

  /** Reset every live connection (both sides see the socket close). */
  cut(): void {
    for (const p of [...this.pairs]) {
      p.a.destroy();
      p.b.destroy();
    }
    this.pairs.clear();
  }

  get live(): number {
    return this.pairs.size;
  }

  async close(): Promise<void> {
    this.cut();
    const s = this.server;
    this.server = null;
    if (s?.listening) await new Promise<void>((r) => s.close(() => r()));
  }
}

export type HttpWriteFault = { kind: 'pass' } | { kind: 'status'; status: number; retryAfterS?: number } | { kind: 'hold'; ms: number };

export class HttpFaultProxy {
  fault: HttpWriteFault = { kind: 'pass' };
  port = 0;
  private server: http.Server | null = null;
  readonly stats = { writes: 0, refused: 0, held: 0, forwarded: 0 };

  constructor(private readonly targetUrl: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const target = new URL(this.targetUrl);
    const server = http.createServer((req, res) => {
      const isWrite = req.method === 'POST' && (req.url ?? '').startsWith('/write');
      if (isWrite) this.stats.writes++;
      const f = this.fault;
      if (isWrite && f.kind === 'status') {
        this.stats.refused++;
        req.resume();
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (f.retryAfterS !== undefined) headers['retry-after'] = String(f.retryAfterS);
        res.writeHead(f.status, headers).end(JSON.stringify({ error: `fault proxy: ${f.status}` }));
        return;
      }
      const send = () => {
        this.stats.forwarded++;
        const up = http.request(
          {
            host: target.hostname,
            port: Number(target.port),
            method: req.method,
            path: req.url,
            headers: req.headers,
          },
          (ur) => {
            res.writeHead(ur.statusCode ?? 502, ur.headers);
            ur.pipe(res);
          },
        );
        up.on('error', (err) => {
          if (!res.headersSent) res.writeHead(502).end(String(err.message));
          else res.destroy();
        });
        req.pipe(up);
      };
      if (isWrite && f.kind === 'hold') {
        this.stats.held++;
        req.pause();
        const timer = setTimeout(send, f.ms);
        res.on('close', () => clearTimeout(timer));
      } else send();
    });
    server.keepAliveTimeout = 1000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
