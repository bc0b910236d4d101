/**
 * Transports of the simulated IntelliVue: the MIB/RS-232 port (C0/C1 frames with FCS over any
 * Duplex: a pty, a serial port) and the LAN (one UDP datagram per message on 127.0.0.1, replies to
 * the sender of the last request, Connect Indication announcements to a loopback port).
 */
import dgram from 'node:dgram';
import type { Duplex } from 'node:stream';
import { frameMessage } from '../../../gateway/src/protocols/philips-intellivue/fcs.js';
import { MibFramer } from '../../../gateway/src/protocols/philips-intellivue/framer.js';
import { attrList, string16, u16, u32, varLabel } from '../../../gateway/src/protocols/philips-intellivue/encode.js';
import { ATTR, CMD, MOC, NOTI, RO } from '../../../gateway/src/protocols/philips-intellivue/nomenclature.js';
import type { IntelliVueMonitor } from './monitor.js';

/** Serves the monitor over one Duplex at a time (serial/pty). */
export class SerialMonitorLink {
  private link: Duplex | null = null;
  private framer = new MibFramer();
  private readonly onSend = (m: Buffer): void => {
    if (this.link && !this.link.destroyed) this.link.write(frameMessage(m));
  };
  private readonly onData = (c: Buffer): void => {
    for (const m of this.framer.push(c)) this.monitor.receive(m);
  };

  constructor(private readonly monitor: IntelliVueMonitor) {}

  attach(link: Duplex): void {
    this.detach();
    this.link = link;
    this.framer = new MibFramer();
    link.on('data', this.onData);
    link.on('error', () => this.detach());
    link.on('close', () => {
      if (this.link === link) this.detach();
    });
    this.monitor.on('send', this.onSend);
  }

  detach(): void {
    if (!this.link) return;
    this.link.off('data', this.onData);
    this.monitor.off('send', this.onSend);
    this.link = null;
  }

  rxErrors(): Record<string, number> {
    return this.framer.stats().errors;
  }
}

/** Connect Indication datagram: Nomenclature + ROIV EVENT_REPORT NOM_NOTI_MDS_CONNECT_INDIC. */
export function connectIndication(model: string, port: number, bedLabel = 'OR SIM'): Buffer {
  const pcol = Buffer.concat([u16(2), u16(16), u16(1), u16(1), u16(port), u16(0), u16(5), u16(1), u16(port), u16(0)]);
  const attrs = attrList([
    [ATTR.ID_MODEL, Buffer.concat([varLabel('Philips'), varLabel(model)])],
    [ATTR.PCOL_SUPPORT, pcol],
    [0xf135, string16(bedLabel)],
  ]);
  const arg = Buffer.concat([u16(MOC.VMS_MDS), u16(0), u16(0), u32(0), u16(NOTI.CONNECT_INDIC), u16(attrs.length), attrs]);
  const inner = Buffer.concat([u16(0), u16(CMD.EVENT_REPORT), u16(arg.length), arg]);
  return Buffer.concat([Buffer.from([0, 0, 1, 0]), u16(RO.ROIV), u16(inner.length), inner]);
}

export interface UdpOptions {
  port?: number;
  announcePort?: number;
  announceMs?: number;
  model?: string;
}

/** LAN: binds 127.0.0.1 only; never broadcasts. */
export class UdpMonitorServer {
  private sock?: dgram.Socket;
  private peer?: { address: string; port: number };
  private announceTimer?: NodeJS.Timeout;
  private readonly onSend = (m: Buffer): void => {
    if (this.sock && this.peer) this.sock.send(m, this.peer.port, this.peer.address);
  };

  constructor(
    private readonly monitor: IntelliVueMonitor,
    private readonly opts: UdpOptions = {},
  ) {}

  async listen(): Promise<{ host: string; port: number }> {
    const sock = dgram.createSocket('udp4');
    this.sock = sock;
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(this.opts.port ?? 0, '127.0.0.1', () => {
        sock.off('error', reject);
        resolve();
      });
    });
    sock.on('error', () => undefined); // ICMP port unreachable of a gone host must not crash the monitor
    sock.on('message', (msg, rinfo) => {
      this.peer = { address: rinfo.address, port: rinfo.port };
      this.monitor.receive(msg);
    });
    this.monitor.on('send', this.onSend);
    const port = sock.address().port;
    if (this.opts.announcePort) {
      const ci = connectIndication(this.opts.model ?? 'MX800', port);
      const announce = (): void => {
        sock.send(ci, this.opts.announcePort!, '127.0.0.1');
      };
      announce();
      this.announceTimer = setInterval(announce, this.opts.announceMs ?? 10_000);
    }
    return { host: '127.0.0.1', port };
  }

  async close(): Promise<void> {
    clearInterval(this.announceTimer);
    this.monitor.off('send', this.onSend);
    const s = this.sock;
    this.sock = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
