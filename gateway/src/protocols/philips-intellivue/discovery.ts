/**
 * Listens for IntelliVue Connect Indications (UDP, port 24005 on a real network) and reports each
 * announcing monitor once per change: model, serial, SW revision, IP/MAC and the Data Export port.
 * Binds exactly the address given (default 127.0.0.1); it never sends anything. Real monitors
 * announce to multicast 224.0.23.63 or a subnet broadcast: joining those is left to the deployment
 * (bind 0.0.0.0) and is not exercised by the tests, which stay on loopback.
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { IntelliVueDecoder } from './decoder.js';
import type { ConnectInfo } from './vendor-types.js';

export const CONNECT_INDICATION_PORT = 24005;

export interface DiscoveredMonitor extends ConnectInfo { from: string; lastSeen: number }

export class ConnectIndicationListener extends EventEmitter {
  private sock?: dgram.Socket;
  private readonly known = new Map<string, string>();
  readonly counters = { datagrams: 0, announcements: 0, bad: 0 };

  constructor(private readonly opts: { host?: string; port?: number; now?: () => number; maxMonitors?: number } = {}) {
    super();
  }

  async start(): Promise<{ host: string; port: number }> {
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    this.sock = sock;
    const host = this.opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(this.opts.port ?? CONNECT_INDICATION_PORT, host, () => { sock.off('error', reject); resolve(); });
    });
    sock.on('error', (err) => this.emit('error', err));
    sock.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo.address));
    return { host, port: sock.address().port };
  }

  private onDatagram(msg: Buffer, from: string): void {
    this.counters.datagrams++;
    let info: ConnectInfo | undefined;
    try {
      const ev = new IntelliVueDecoder().decode(msg).events.find((e) => e.kind === 'connect-indication');
      info = ev?.kind === 'connect-indication' ? ev.announce : undefined;
    } catch {
      info = undefined;
    }
    if (!info) {
      this.counters.bad++;
      return;
    }
    this.counters.announcements++;
    const m: DiscoveredMonitor = { ...info, from, lastSeen: (this.opts.now ?? Date.now)() };
    const key = `${from}|${info.serial ?? info.mac ?? ''}`;
    const sig = JSON.stringify(info);
    if (this.known.get(key) === sig) return;
    if (!this.known.has(key) && this.known.size >= (this.opts.maxMonitors ?? 1024)) this.known.clear();
    this.known.set(key, sig);
    this.emit('monitor', m);
  }

  async close(): Promise<void> {
    const s = this.sock;
    this.sock = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
