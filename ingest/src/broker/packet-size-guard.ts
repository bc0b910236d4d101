/**
 * Maximum MQTT packet size for the embedded broker. aedes 1.2 has no such option: its parser
 * (mqtt-packet) buffers a packet until its declared remaining length has arrived, so a client that
 * announces 100 MiB gets 100 MiB of memory. This scanner follows the MQTT framing on the bytes aedes
 * reads (fixed header byte, remaining length as a 1–4 byte varint, body) and reports a packet whose
 * declared size exceeds the limit as soon as its length field is complete — before its body arrives.
 *
 * `guardSocket` hooks the socket's `read()`: aedes (lib/client.js `nextBatch`) pulls every chunk with
 * `conn.read(null)` and hands it to its parser, so the scanner sees exactly the bytes the parser sees,
 * in order, with no extra copy or stream. On a refusal the socket is destroyed and the chunk is never
 * handed to aedes (MQTT 3.1.1 has no reason code: the connection is closed; aedes then treats it as
 * an unexpected disconnect, the will included). Tests guard the hook against aedes changing how it reads.
 */
import type net from 'node:net';

export interface OversizePacket {
  /** MQTT control packet type (3 = PUBLISH, 1 = CONNECT, ...) */
  type: number;
  /** whole packet size declared by its header (bytes); -1 for a malformed remaining length */
  bytes: number;
}

const TYPE_NAMES = [
  'reserved',
  'CONNECT',
  'CONNACK',
  'PUBLISH',
  'PUBACK',
  'PUBREC',
  'PUBREL',
  'PUBCOMP',
  'SUBSCRIBE',
  'SUBACK',
  'UNSUBSCRIBE',
  'UNSUBACK',
  'PINGREQ',
  'PINGRESP',
  'DISCONNECT',
  'AUTH',
];

export const packetTypeName = (type: number): string => TYPE_NAMES[type] ?? String(type);

/** Follows MQTT framing across arbitrary chunks; `push` returns the first oversize packet, else null. */
export class PacketScanner {
  private state: 'header' | 'length' | 'body' = 'header';
  private type = 0;
  private remaining = 0;
  private lengthBytes = 0;
  private multiplier = 1;
  private failed: OversizePacket | null = null;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Uint8Array): OversizePacket | null {
    if (this.failed) return this.failed;
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'body') {
        const take = Math.min(this.remaining, chunk.length - i);
        this.remaining -= take;
        i += take;
        if (this.remaining === 0) this.state = 'header';
        continue;
      }
      const byte = chunk[i++];
      if (this.state === 'header') {
        this.type = byte >> 4;
        this.state = 'length';
        this.remaining = 0;
        this.lengthBytes = 0;
        this.multiplier = 1;
        continue;
      }
      // remaining length: 7 bits per byte, continuation bit 0x80, at most 4 bytes
      this.remaining += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      if (byte & 0x80) {
        if (this.lengthBytes === 4) return (this.failed = { type: this.type, bytes: -1 });
        continue;
      }
      const total = 1 + this.lengthBytes + this.remaining;
      if (total > this.maxBytes) return (this.failed = { type: this.type, bytes: total });
      this.state = this.remaining === 0 ? 'header' : 'body';
    }
    return null;
  }
}

/**
 * Installs the scanner on a socket aedes is about to read. `onOversize` runs once, before the
 * socket is destroyed (the caller counts and logs it).
 */
export function guardSocket(socket: net.Socket, maxBytes: number, onOversize: (p: OversizePacket) => void): void {
  const scanner = new PacketScanner(maxBytes);
  const read = socket.read.bind(socket);
  socket.read = function guardedRead(size?: number) {
    const chunk = read(size) as Buffer | string | null;
    if (chunk === null || socket.destroyed) return chunk;
    const bad = scanner.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    if (!bad) return chunk;
    try {
      onOversize(bad);
    } finally {
      socket.destroy();
    }
    return null;
  } as typeof socket.read;
}
