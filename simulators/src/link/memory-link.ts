/**
 * An in-memory link: two connected Duplex ends (what one writes, the other reads), for tests and
 * for running a simulator and a gateway session in one process without a pty.
 */
import { Duplex } from 'node:stream';

class End extends Duplex {
  peer: End | null = null;
  override _read(): void {
    /* data is pushed by the peer */
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    const p = this.peer;
    if (p && !p.destroyed) p.push(Buffer.from(chunk));
    cb();
  }
  override _final(cb: (e?: Error | null) => void): void {
    this.peer?.push(null);
    cb();
  }
  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    const p = this.peer;
    this.peer = null;
    if (p && !p.destroyed) {
      p.peer = null;
      p.push(null);
      p.destroy();
    }
    cb(err);
  }
}

export function memoryLinkPair(): { device: Duplex; host: Duplex } {
  const a = new End();
  const b = new End();
  a.peer = b;
  b.peer = a;
  return { device: a, host: b };
}
