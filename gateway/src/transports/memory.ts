/**
 * In-memory link double for unit tests: the test plays the device (`deviceSend`, `written`),
 * can refuse opens (`failOpens`) and cut the link (`drop`).
 */
import { EventEmitter } from 'node:events';
import { GatewayError, GW_ERR } from '../errors.js';
import type { Link, LinkEvents } from './link.js';

export class MemoryLink extends EventEmitter implements Link {
  readonly description: string;
  readonly written: Buffer[] = [];
  isOpen = false;
  opens = 0;
  /** Number of upcoming open() calls that fail. */
  failOpens = 0;

  constructor(name = 'memory') {
    super();
    this.description = `memory:${name}`;
  }

  async open(): Promise<void> {
    this.opens++;
    if (this.failOpens > 0) {
      this.failOpens--;
      throw new GatewayError(GW_ERR.TRANSPORT_OPEN, 'transient', `cannot open ${this.description}`, { cause: new Error('ENOENT') });
    }
    this.isOpen = true;
  }

  write(bytes: Uint8Array): void {
    if (!this.isOpen) {
      this.emit('error', new GatewayError(GW_ERR.TRANSPORT_CLOSED, 'transient', 'write on closed link'));
      return;
    }
    this.written.push(Buffer.from(bytes));
  }

  async close(): Promise<void> {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.emit('close', { byUs: true });
  }

  /** The device sends bytes. */
  deviceSend(bytes: Uint8Array): void {
    if (this.isOpen) this.emit('data', Buffer.from(bytes));
  }

  /** The link is lost (cable pulled, peer reset). */
  drop(error = new Error('link lost')): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.emit('error', new GatewayError(GW_ERR.TRANSPORT_IO, 'transient', 'link lost', { cause: error }));
    this.emit('close', { byUs: false, error });
  }

  override on<E extends keyof LinkEvents>(event: E, listener: LinkEvents[E]): this {
    return super.on(event, listener);
  }
  override off<E extends keyof LinkEvents>(event: E, listener: LinkEvents[E]): this {
    return super.off(event, listener);
  }
}
