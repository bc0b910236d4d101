/**
 * The socket side of device discovery: UDP announcements (IntelliVue Connect Indications, Mindray
 * PDS connect indications, …) read with the DiscoverySpec a protocol declares (protocol.ts). The
 * protocol folders only parse datagrams; they open no socket. Binds exactly the address given
 * (default 127.0.0.1) and never sends. Joining a multicast group or listening on a broadcast
 * address (0.0.0.0) is left to the deployment; tests stay on loopback.
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { DiscoverySpec } from '../protocols/protocol.js';

/** One announcement as reported: what the device said, who sent it, when (gateway ms). */
export type Discovered<T> = T & { from: string; lastSeen: number };

export interface DiscoveryOptions {
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** UDP port (default the spec's; 0 = any free port, for tests). */
  port?: number;
  now?: () => number;
  /** Devices remembered for the once-per-change rule (default 1024; the memory is cleared beyond). */
  maxDevices?: number;
}

function safeParse<T>(spec: DiscoverySpec<T>, datagram: Buffer): T | undefined {
  try {
    return spec.parse(datagram);
  } catch {
    return undefined;
  }
}

/**
 * Reports each announcing device once per change ('device' events with a Discovered<T>); counts
 * datagrams, announcements and datagrams that are none ('bad').
 */
export class DiscoveryListener<T> extends EventEmitter {
  private sock?: dgram.Socket;
  private readonly known = new Map<string, string>();
  readonly counters = { datagrams: 0, announcements: 0, bad: 0 };

  constructor(
    private readonly spec: DiscoverySpec<T>,
    private readonly opts: DiscoveryOptions = {},
  ) {
    super();
  }

  async start(): Promise<{ host: string; port: number }> {
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    this.sock = sock;
    const host = this.opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(this.opts.port ?? this.spec.port, host, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    sock.on('error', (err) => this.emit('error', err));
    sock.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo.address));
    return { host, port: sock.address().port };
  }

  private onDatagram(msg: Buffer, from: string): void {
    this.counters.datagrams++;
    const a = safeParse(this.spec, msg);
    if (a === undefined) {
      this.counters.bad++;
      return;
    }
    this.counters.announcements++;
    const key = this.spec.key(a, from);
    const sig = JSON.stringify(a);
    if (this.known.get(key) === sig) return;
    if (!this.known.has(key) && this.known.size >= (this.opts.maxDevices ?? 1024)) this.known.clear();
    this.known.set(key, sig);
    const d: Discovered<T> = { ...a, from, lastSeen: (this.opts.now ?? Date.now)() };
    this.emit('device', d);
  }

  async close(): Promise<void> {
    const s = this.sock;
    this.sock = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}

/** Listens until the first valid announcement (resolved with it) or the deadline (undefined). */
export async function firstAnnouncement<T>(spec: DiscoverySpec<T>, opts: { port?: number; address?: string; timeoutMs: number }): Promise<T | undefined> {
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  try {
    return await new Promise<T | undefined>((resolve, reject) => {
      const timer = setTimeout(() => resolve(undefined), opts.timeoutMs);
      sock.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      sock.on('message', (msg) => {
        const a = safeParse(spec, msg);
        if (a !== undefined) {
          clearTimeout(timer);
          resolve(a);
        }
      });
      sock.bind(opts.port ?? spec.port, opts.address ?? '127.0.0.1');
    });
  } finally {
    sock.close();
  }
}
