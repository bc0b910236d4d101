/**
 * Abstract link suite: every Link implementation (tcp, serial, memory double) must pass it.
 * The harness plays the device end of the wire.
 */
import type { Test } from 'tap';
import type { Link, LinkCloseInfo } from './link.js';

export interface LinkHarness {
  link: Link;
  /** Device → gateway bytes. */
  send(bytes: Buffer): void;
  /** Everything the device received so far. */
  received(): Buffer;
  /** The device end goes away; undefined when the medium cannot signal it (pty). */
  hangUp?: () => void;
  dispose(): Promise<void>;
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function linkSuite(t: Test, make: () => Promise<LinkHarness>): void {
  t.test('bytes both ways, in order, binary safe', async (t) => {
    const h = await make();
    t.teardown(() => h.dispose());
    await h.link.open();
    const got: Buffer[] = [];
    h.link.on('data', (d) => got.push(d));
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    h.send(all.subarray(0, 100));
    h.send(all.subarray(100));
    h.link.write(all.subarray(0, 10));
    h.link.write(all.subarray(10));
    await until('device → gateway', () => Buffer.concat(got).length >= 256);
    await until('gateway → device', () => h.received().length >= 256);
    t.same([...Buffer.concat(got)], [...all]);
    t.same([...h.received()], [...all]);
    t.type(h.link.description, 'string');
    await h.link.close();
  });

  t.test('close by us: one close event with byUs; idempotent; writes after close are errors', async (t) => {
    const h = await make();
    t.teardown(() => h.dispose());
    await h.link.open();
    const closes: LinkCloseInfo[] = [];
    const errors: Error[] = [];
    h.link.on('close', (i) => closes.push(i));
    h.link.on('error', (e) => errors.push(e));
    await h.link.close();
    await h.link.close();
    t.equal(closes.length, 1);
    t.equal(closes[0].byUs, true);
    h.link.write(Buffer.from([1]));
    t.equal((errors[0] as { code?: string }).code, 'GW_ERR_TRANSPORT_CLOSED');
  });

  t.test('device hangs up: close event not by us', async (t) => {
    const h = await make();
    t.teardown(() => h.dispose());
    if (!h.hangUp) {
      t.comment('medium cannot signal a hang-up');
      return;
    }
    await h.link.open();
    const closes: LinkCloseInfo[] = [];
    h.link.on('close', (i) => closes.push(i));
    h.link.on('error', () => {});
    h.hangUp();
    await until('close event', () => closes.length === 1);
    t.equal(closes[0].byUs, false);
    await h.link.close();
    t.equal(closes.length, 1, 'close after a hang-up does not report twice');
  });
}
