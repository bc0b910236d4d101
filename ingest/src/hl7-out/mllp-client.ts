/**
 * A minimal MLLP client for one endpoint: one connection, one message in flight. send() writes the
 * framed message and resolves with the ACK whose MSA-2 echoes the message's control id (ACKs for
 * other ids, e.g. late ones of an earlier attempt, are skipped); it rejects (transient) when the
 * connection fails or no ACK comes within the timeout — the connection is then dropped, so a late
 * ACK cannot be taken for the next message. Framing: gateway/src/protocols/hl7-mllp/mllp.ts.
 *
 * TLS (`hl7Out.endpoints[].tls`, docs/hl7-out.md "TLS"): the endpoint's certificate must chain to
 * `ca` (default: the system's CAs) and match `servername` (default: host); a client certificate is
 * presented when configured. A failed handshake is a connect failure like any other (transient:
 * the message stays queued and is sent again). The files are read once, by readClientTlsFiles.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { comp, parseHl7, rawField } from '../../../gateway/src/protocols/hl7-mllp/hl7.js';
import { MllpFramer, mllpWrap } from '../../../gateway/src/protocols/hl7-mllp/mllp.js';
import { Hl7OutError } from './errors.js';

export interface Ack {
  code: string;
  controlId: string;
  text: string;
}

export interface MllpClientTls {
  /** PEM CA(s) the endpoint's certificate must chain to */
  ca?: string | Buffer;
  /** PEM client certificate and key (both or neither) */
  cert?: string | Buffer;
  key?: string | Buffer;
  servername?: string;
  rejectUnauthorized?: boolean;
  minVersion?: tls.SecureVersion;
}

export interface MllpTarget {
  host: string;
  port: number;
  tls?: MllpClientTls;
  connectTimeoutMs: number;
}

/** the `tls` block of an hl7Out endpoint with its files read; an unreadable file is ING_ERR_HL7OUT_CONFIG naming endpoint and key */
export function readClientTlsFiles(
  c: { caFile?: string; certFile?: string; keyFile?: string; servername?: string; rejectUnauthorized: boolean; minVersion?: tls.SecureVersion },
  endpoint: string,
): MllpClientTls {
  const read = (key: 'caFile' | 'certFile' | 'keyFile'): Buffer | undefined => {
    const file = c[key];
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Hl7OutError(
        'ING_ERR_HL7OUT_CONFIG',
        'fatal',
        `hl7Out endpoint ${endpoint}: tls.${key}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        { cause: err },
      );
    }
  };
  const ca = read('caFile');
  const cert = read('certFile');
  const key = read('keyFile');
  return {
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(c.servername ? { servername: c.servername } : {}),
    ...(c.minVersion ? { minVersion: c.minVersion } : {}),
    rejectUnauthorized: c.rejectUnauthorized,
  };
}

export class MllpClient {
  private socket: net.Socket | null = null;
  private framer = new MllpFramer({ maxBytes: 1 << 20 });
  private waiter: { controlId: string; resolve: (a: Ack) => void; reject: (e: Error) => void } | null = null;
  private closed = false;

  constructor(private readonly target: MllpTarget) {}

  get connected(): boolean {
    return !!this.socket && !this.socket.destroyed;
  }

  async send(message: string, controlId: string, timeoutMs: number): Promise<Ack> {
    if (this.closed) throw new Hl7OutError('ING_ERR_HL7OUT_CLOSED', 'transient', 'client closed');
    const socket = await this.connect();
    return new Promise<Ack>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        this.drop();
        reject(new Hl7OutError('ING_ERR_HL7OUT_ACK_TIMEOUT', 'transient', `no ACK within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        controlId,
        resolve: (a) => {
          clearTimeout(timer);
          this.waiter = null;
          resolve(a);
        },
        reject: (e) => {
          clearTimeout(timer);
          this.waiter = null;
          reject(e);
        },
      };
      socket.write(mllpWrap(message));
    });
  }

  private connect(): Promise<net.Socket> {
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    this.framer = new MllpFramer({ maxBytes: 1 << 20 });
    const t = this.target;
    return new Promise((resolve, reject) => {
      const s = t.tls
        ? tls.connect({
            host: t.host,
            port: t.port,
            servername: t.tls.servername ?? t.host,
            rejectUnauthorized: t.tls.rejectUnauthorized ?? true,
            ...(t.tls.ca ? { ca: t.tls.ca } : {}),
            ...(t.tls.cert ? { cert: t.tls.cert } : {}),
            ...(t.tls.key ? { key: t.tls.key } : {}),
            ...(t.tls.minVersion ? { minVersion: t.tls.minVersion } : {}),
          })
        : net.connect({ host: t.host, port: t.port });
      const fail = (err: Error) => {
        clearTimeout(timer);
        s.destroy();
        reject(new Hl7OutError('ING_ERR_HL7OUT_CONNECT', 'transient', `connect ${t.host}:${t.port}: ${err.message}`, { cause: err }));
      };
      const timer = setTimeout(() => fail(new Error('connect timeout')), t.connectTimeoutMs);
      s.once('error', fail);
      s.once(t.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.off('error', fail);
        s.setNoDelay(true);
        s.on('data', (chunk: Buffer) => this.onData(chunk));
        s.on('error', (err) => this.lost(s, err));
        s.on('close', () => this.lost(s, new Error('connection closed by the endpoint')));
        this.socket = s;
        resolve(s);
      });
    });
  }

  private onData(chunk: Buffer): void {
    for (const frame of this.framer.push(chunk)) {
      let ack: Ack;
      try {
        const m = parseHl7(frame);
        const msa = m.segments.find((x) => x.id === 'MSA');
        const err = m.segments.find((x) => x.id === 'ERR');
        ack = { code: comp(m, msa, 1), controlId: comp(m, msa, 2), text: [comp(m, msa, 3), err ? comp(m, err, 8) : ''].filter(Boolean).join('; ') };
        if (!msa || !rawField(msa, 1)) continue;
      } catch {
        continue;
      } // not an ACK: skipped
      if (this.waiter && ack.controlId === this.waiter.controlId) this.waiter.resolve(ack);
    }
  }

  private lost(s: net.Socket, err: Error): void {
    if (this.socket === s) this.socket = null;
    s.destroy();
    this.waiter?.reject(new Hl7OutError('ING_ERR_HL7OUT_CONNECT', 'transient', err.message, { cause: err }));
  }

  private drop(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  close(): void {
    this.closed = true;
    this.drop();
    this.waiter?.reject(new Hl7OutError('ING_ERR_HL7OUT_CLOSED', 'transient', 'client closed'));
  }
}
