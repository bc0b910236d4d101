/**
 * The MLLP listener for the HIS interface engine (config `his`, docs/his.md). Only addresses in
 * `his.allow` may connect (others are closed at once, counted, logged once a minute per address);
 * at most MAX_CONNECTIONS at a time. Each connection's bytes go through the gateway's bounded MLLP
 * framer (gateway/src/protocols/hl7-mllp/mllp.ts); each message is handled synchronously (stored,
 * then ACKed) in arrival order. If a message cannot even be stored, no ACK is sent and the
 * connection is closed, so the sender resends it.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { parseAllowEntry } from '../../../schemas/src/gateway-config.js';
import { MllpFramer, mllpWrap } from '../../../gateway/src/protocols/hl7-mllp/mllp.js';
import { IngestError } from '../errors.js';
import type { HisConfig, HisFeed } from './his-feed.js';

export const MAX_CONNECTIONS = 16;
/** a connection silent this long is closed (interface engines reconnect) */
export const IDLE_MS = 30 * 60_000;

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
  readonly stats = { accepted: 0, refused: 0, tooMany: 0, framingErrors: 0, storeFailures: 0 };
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private readonly allow: net.BlockList;
  private readonly logged = new Map<string, number>();

  constructor(private readonly cfg: HisConfig, private readonly feed: HisFeed, private readonly log?: Logger) {
    this.allow = passList(cfg.allow);
  }

  get port(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : this.cfg.port;
  }

  async start(): Promise<void> {
    if (!this.cfg.allow.length) throw new IngestError('ING_ERR_CONFIG', 'fatal', 'his.allow is required when his.enabled');
    const server = net.createServer((sock) => this.accept(sock));
    server.maxConnections = MAX_CONNECTIONS * 4; // hard cap below; this only bounds a flood
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.cfg.port, this.cfg.host, () => { server.off('error', reject); resolve(); });
    });
    server.on('error', (err) => this.log?.error({ err: err.message }, 'HIS listener error'));
    this.server = server;
    this.log?.info({ host: this.cfg.host, port: this.port }, 'HIS MLLP listener started');
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const sock of this.sockets) sock.destroy();
    this.sockets.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
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
    this.stats.accepted++;
    this.sockets.add(sock);
    const framer = new MllpFramer({ maxBytes: this.cfg.maxMessageBytes });
    let errors = 0;
    sock.setTimeout(IDLE_MS, () => sock.destroy());
    sock.on('error', () => { /* reset by peer: the close handler cleans up */ });
    sock.on('close', () => { this.sockets.delete(sock); });
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
      if (e > errors) { this.stats.framingErrors += e - errors; errors = e; }
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
