/**
 * Simulated HL7 monitor. Client role (GE B40, Mindray BeneVision, Comen, PCD-01 senders): connects
 * to the gateway, pushes one ORU^R01 per interval (stamps on whole interval boundaries of the
 * device clock) and reads the ACKs. Server role (Mindray PDS): listens, optionally announces
 * itself by UDP (ADT^A01 "connect indication", loopback only), and once the gateway's heartbeat
 * arrives pushes ORU^R01 204 (periodic) and 503 (NIBP) messages without expecting ACKs.
 * Emits 'produced' (truth, canonical) for every value that went on the wire, 'ack' per ACK.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { comp, parseHl7 } from '../../../gateway/src/protocols/hl7-mllp/hl7.js';
import { MllpFramer, mllpWrap } from '../../../gateway/src/protocols/hl7-mllp/mllp.js';
import { PhysiologyModel, type PhysiologyOptions } from '../physiology/index.js';
import { encodeOru, pdsConnectIndication } from './encoder.js';
import type { VendorStyle } from './vendors.js';

export interface Hl7MonitorOptions {
  style: VendorStyle;
  physiology?: PhysiologyOptions;
  intervalMs?: number;
  /** Every Nth message carries the vendor's sentinel (0 = never). */
  sentinelEvery?: number;
  bed?: string;
  now?: () => number;
  logger?: Logger;
  /** Stop after this many messages (0 = unbounded until close()). */
  count?: number;
  /** Client role over TLS (MLLP/TLS): the gateway's CA, and a client certificate when it asks for one (PEM). */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

export interface Hl7MonitorStats {
  sent: number;
  acks: Record<string, number>;
  connects: number;
  heartbeats: number;
}

export class Hl7Monitor extends EventEmitter {
  readonly stats: Hl7MonitorStats = { sent: 0, acks: {}, connects: 0, heartbeats: 0 };
  private readonly model: PhysiologyModel;
  private readonly interval: number;
  private readonly now: () => number;
  private sock: net.Socket | undefined;
  private server: net.Server | undefined;
  private udp: UdpSocket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private udpTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private seq = 0;
  private lastNibp: number | undefined;
  private target?: { host: string; port: number };
  private redialMs = 200;

  constructor(private readonly o: Hl7MonitorOptions) {
    super();
    this.interval = o.intervalMs ?? 1000;
    this.now = o.now ?? Date.now;
    this.model = new PhysiologyModel({ nibpIntervalMin: 1, ...o.physiology });
  }

  /** Client role: connect to the gateway and keep reconnecting (bounded backoff) until close(). */
  async connect(host: string, port: number): Promise<void> {
    this.target = { host, port };
    await this.dial();
    this.schedule();
  }

  private dial(): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed || !this.target) return resolve();
      const t = this.o.tls;
      const s: net.Socket = t ? tls.connect({ ...this.target, ...t }) : net.createConnection(this.target);
      s.on('error', () => {
        /* reported as close */
      });
      s.once(t ? 'secureConnect' : 'connect', () => {
        this.stats.connects++;
        this.redialMs = 200;
        this.attach(s);
        resolve();
      });
      s.once('close', () => {
        if (this.sock === s) this.sock = undefined;
        // Like a monitor: retry with a doubling delay capped at 5 s until close().
        if (!this.closed) setTimeout(() => void this.dial(), this.redialMs).unref();
        this.redialMs = Math.min(5000, this.redialMs * 2);
        resolve();
      });
    });
  }

  /** Server role (PDS): listen on loopback; resolves with the bound port. */
  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    const server = net.createServer((s) => {
      this.stats.connects++;
      this.sock?.destroy();
      this.attach(s);
      s.on('error', () => {});
      s.once('close', () => {
        if (this.sock === s) this.sock = undefined;
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.schedule();
    return (server.address() as net.AddressInfo).port;
  }

  /** PDS discovery: broadcast the connect indication to 127.0.0.1:udpPort every second. */
  announce(udpPort: number, tcpPort: number): void {
    const udp = createSocket('udp4');
    this.udp = udp;
    const msg = mllpWrap(pdsConnectIndication('127.0.0.1', tcpPort));
    const send = () => udp.send(msg, udpPort, '127.0.0.1');
    send();
    this.udpTimer = setInterval(send, 1000);
  }

  private attach(s: net.Socket): void {
    this.sock = s;
    s.setNoDelay(true);
    const framer = new MllpFramer();
    s.on('data', (d: Buffer) => {
      for (const payload of framer.push(d)) {
        try {
          const m = parseHl7(payload);
          const msh = m.segments[0];
          const msa = m.segments.find((x) => x.id === 'MSA');
          if (msa) {
            const code = comp(m, msa, 1);
            this.stats.acks[code] = (this.stats.acks[code] ?? 0) + 1;
            this.emit('ack', { code, controlId: comp(m, msa, 2), text: comp(m, msa, 3) });
          } else if (comp(m, msh, 10) === '106') this.stats.heartbeats++;
        } catch {
          this.emit('bad-reply');
        }
      }
    });
  }

  private schedule(): void {
    if (this.closed) return;
    const now = this.now();
    const next = Math.floor(now / this.interval) * this.interval + this.interval;
    this.timer = setTimeout(() => {
      this.tick(next);
      this.schedule();
    }, next - now);
  }

  private tick(t: number): void {
    const s = this.sock;
    const pds = this.o.style.name === 'mindray-pds';
    if (!s || s.destroyed || (pds && this.stats.heartbeats === 0)) return;
    if (this.o.count && this.stats.sent >= this.o.count) return;
    const snap = this.model.at(t);
    const n = this.seq++;
    const sentinel = (this.o.sentinelEvery ?? 5) > 0 && n % (this.o.sentinelEvery ?? 5) === (this.o.sentinelEvery ?? 5) - 1;
    const base = { sentinel, ...(this.o.bed ? { bed: this.o.bed } : {}) };
    const msgs = pds
      ? [encodeOru(this.o.style, snap, { ...base, controlId: '204', only: (d) => !d.episodic })]
      : [encodeOru(this.o.style, snap, { ...base, controlId: `MSG${t.toString(36)}${n}` })];
    if (pds && snap.nibpTakenAt !== undefined && snap.nibpTakenAt !== this.lastNibp) {
      this.lastNibp = snap.nibpTakenAt;
      msgs.push(encodeOru(this.o.style, snap, { ...base, controlId: '503', only: (d) => !!d.episodic }));
    }
    for (const m of msgs) {
      s.write(mllpWrap(m.text));
      this.stats.sent++;
      for (const p of m.produced) this.emit('produced', p);
    }
    if (this.o.count && this.stats.sent >= this.o.count) this.emit('done');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.udpTimer);
    this.udp?.close();
    const s = this.sock;
    if (s && !s.destroyed)
      await new Promise<void>((r) => {
        s.once('close', () => r());
        s.end();
        setTimeout(() => s.destroy(), 300).unref();
      });
    const srv = this.server;
    if (srv) await new Promise<void>((r) => srv.close(() => r()));
  }
}
