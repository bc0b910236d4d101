/**
 * Test only: a small MLLP record-system endpoint on loopback. Records every message it receives,
 * answers with an ACK chosen per message (`answer`: AA by default, or AE / AR / 'none' for
 * silence), can be stopped and started again on the same port. ACKs are built with the gateway's
 * buildAck (original mode). With `tls` set (before start) it serves MLLP over TLS instead: a
 * client certificate, when `tls.requestCert` asks for one, is recorded per message (`peerCn`) and
 * failed handshakes are counted (`tlsFailures`).
 */
import net from 'node:net';
import tls from 'node:tls';
import { buildAck, type AckCode } from '../../../gateway/src/protocols/hl7-mllp/ack.js';
import { comp, parseHl7 } from '../../../gateway/src/protocols/hl7-mllp/hl7.js';
import { MllpFramer, mllpWrap } from '../../../gateway/src/protocols/hl7-mllp/mllp.js';

export interface Received {
  text: string;
  controlId: string;
  type: string;
  at: number;
  peerCn?: string;
}

export class TestEmr {
  readonly received: Received[] = [];
  answer: (r: Received) => AckCode | 'none' = () => 'AA';
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  private seq = 0;
  /** TLS server options for the next start() (undefined: plain TCP) */
  tls: tls.TlsOptions | undefined;
  tlsFailures = 0;

  constructor(o: { tls?: tls.TlsOptions } = {}) {
    this.tls = o.tls;
  }

  async start(port = this.port): Promise<number> {
    const onSocket = (s: net.Socket) => {
      const cn = s instanceof tls.TLSSocket && s.authorized ? String(s.getPeerCertificate().subject?.CN ?? '') : undefined;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => s.destroy());
      const framer = new MllpFramer();
      s.on('data', (chunk: Buffer) => {
        for (const frame of framer.push(chunk)) {
          const m = parseHl7(frame);
          const msh = m.segments[0];
          const r: Received = {
            text: frame.toString('utf8'),
            controlId: comp(m, msh, 10),
            type: `${comp(m, msh, 9)}^${comp(m, msh, 9, 2)}`,
            at: Date.now(),
            ...(cn !== undefined ? { peerCn: cn } : {}),
          };
          this.received.push(r);
          const code = this.answer(r);
          if (code === 'none') continue;
          s.write(
            mllpWrap(
              buildAck(m, code, { nowMs: Date.now(), controlId: `EMR${++this.seq}`, app: 'TESTEMR', ...(code === 'AA' ? {} : { text: `test ${code}` }) }),
            ),
          );
        }
      });
    };
    const server = this.tls ? tls.createServer(this.tls, onSocket) : net.createServer(onSocket);
    if (server instanceof tls.Server)
      server.on('tlsClientError', (_err, s) => {
        this.tlsFailures++;
        s.destroy();
      });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
    return this.port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const sock of this.sockets) sock.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
