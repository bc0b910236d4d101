/**
 * Abstract framer suite: every protocol's framer must pass it (each protocol folder runs it from
 * its framer.suite.test.ts with a harness built from its simulator-side encoder). The per-protocol
 * framer tests keep only what is specific to the protocol (its codec, its own error kinds, quirks).
 */
import type { Test } from 'tap';
import type { Framer } from './framer.js';

export interface FramerHarness<F> {
  /** A fresh framer; `maxFrameBytes` maps to the protocol's own cap option. */
  make(opts?: { maxFrameBytes?: number }): Framer<F>;
  /** Comparable form of a delivered frame. */
  key(frame: F): string;
  /**
   * At least two distinct frames encoded by the protocol's encoder (the simulator side), each with
   * the key of the frame the framer must deliver for it.
   */
  samples: Array<{ wire: Buffer; key: string }>;
  /** Bytes that are not a frame and that the framer counts (under `garbageKinds`) and skips. */
  garbage: Buffer;
  /** Error kinds the garbage may be counted under; default ['garbage']. */
  garbageKinds?: string[];
  /** Damage one good frame so that its check fails (undefined: the protocol has no check). */
  corrupt?: { damage(wire: Buffer): Buffer; kind: string };
  /** A frame longer than the cap `maxFrameBytes` (undefined: frames have a fixed size). */
  oversize?: { maxFrameBytes: number; wire: Buffer };
  /**
   * For the capped-memory case: `open` starts a frame that never ends, `filler` continues it, and
   * `resync` (default none) is what the protocol needs before the next frame is recognised.
   */
  endless: { open: Buffer; filler: Buffer; resync?: Buffer };
}

const MAX_FAILS = 3;

export function framerSuite<F>(t: Test, h: FramerHarness<F>): void {
  const keys = (fs: F[]): string[] => fs.map((f) => h.key(f));
  const expected = h.samples.map((s) => s.key);
  const all = Buffer.concat(h.samples.map((s) => s.wire));
  const allowedGarbage = new Set(h.garbageKinds ?? ['garbage']);

  t.test('harness: at least two distinct samples', async (t) => {
    t.ok(h.samples.length >= 2);
    t.equal(new Set(expected).size, expected.length, 'distinct keys');
  });

  t.test('empty input: no frame, nothing counted', async (t) => {
    const f = h.make();
    t.same(f.push(new Uint8Array(0)), []);
    t.same(f.stats(), { frames: 0, bytes: 0, errors: {} });
    t.equal(f.buffered(), 0);
  });

  t.test('encoder ↔ framer round trip: each sample alone is one frame', async (t) => {
    for (const s of h.samples) {
      const f = h.make();
      t.same(keys(f.push(s.wire)), [s.key]);
      t.same(f.stats(), { frames: 1, bytes: s.wire.length, errors: {} });
      t.equal(f.buffered(), 0, 'nothing held after a complete frame');
    }
  });

  t.test('many frames in one chunk', async (t) => {
    const f = h.make();
    const wire = Buffer.concat([all, all, all]);
    t.same(keys(f.push(wire)), [...expected, ...expected, ...expected]);
    t.same(f.stats(), { frames: expected.length * 3, bytes: wire.length, errors: {} });
  });

  t.test('a frame split at every byte offset', async (t) => {
    let fails = 0;
    for (let cut = 0; cut <= all.length && fails < MAX_FAILS; cut++) {
      const f = h.make();
      const got = keys([...f.push(all.subarray(0, cut)), ...f.push(all.subarray(cut))]);
      if (got.join('\n') !== expected.join('\n') || Object.keys(f.stats().errors).length) {
        fails++;
        t.fail(`split at ${cut}`, { got, errors: f.stats().errors });
      }
    }
    t.equal(fails, 0, `${all.length + 1} splits`);
  });

  t.test('one byte at a time, and a chunk reused by the caller', async (t) => {
    const f = h.make();
    const byte = Buffer.alloc(1);
    const got: F[] = [];
    for (const b of all) {
      byte[0] = b;
      got.push(...f.push(byte));
    }
    byte[0] = 0;
    t.same(keys(got), expected);
    t.same(f.stats().errors, {});
  });

  t.test('garbage before and between frames is counted and skipped; the next good frame is kept', async (t) => {
    const f = h.make();
    const wire = Buffer.concat([h.garbage, h.samples[0].wire, h.garbage, h.samples[1].wire]);
    t.same(keys(f.push(wire)), [expected[0], expected[1]]);
    const errors = f.stats().errors;
    const kinds = Object.keys(errors);
    t.ok(kinds.length > 0, 'garbage counted');
    t.ok(
      kinds.every((k) => allowedGarbage.has(k)),
      `counted as ${[...allowedGarbage].join('/')}`,
      { errors },
    );
    t.equal(f.stats().frames, 2);
  });

  t.test('a checksum error is counted and the next good frame is kept', async (t) => {
    if (!h.corrupt) {
      t.pass('the protocol has no frame check');
      return;
    }
    const f = h.make();
    const bad = h.corrupt.damage(Buffer.from(h.samples[0].wire));
    t.notSame([...bad], [...h.samples[0].wire], 'the damage changed the frame');
    t.same(keys(f.push(Buffer.concat([bad, h.samples[1].wire]))), [expected[1]]);
    t.same(f.stats().errors, { [h.corrupt.kind]: 1 });
  });

  t.test('an oversized frame is dropped and counted; the next frame is kept', async (t) => {
    if (!h.oversize) {
      t.pass('fixed-size frames');
      return;
    }
    const f = h.make({ maxFrameBytes: h.oversize.maxFrameBytes });
    t.ok(f.maxBufferedBytes <= 2 * h.oversize.maxFrameBytes + 2, 'the cap option bounds the buffer');
    const wire = h.oversize.wire;
    const got = [...f.push(wire.subarray(0, wire.length >> 1)), ...f.push(wire.subarray(wire.length >> 1))];
    t.same(keys(got), []);
    t.ok(f.buffered() <= f.maxBufferedBytes);
    const small = h.samples.find((s) => s.wire.length < h.oversize!.maxFrameBytes) ?? h.samples[0];
    t.same(keys(f.push(small.wire)), [small.key]);
    t.same(f.stats().errors, { oversize: 1 });
  });

  t.test('held bytes stay under the cap whatever is fed; the framer recovers', async (t) => {
    const f = h.make();
    f.push(h.endless.open);
    let max = f.buffered();
    for (let i = 0; i < 64; i++) {
      f.push(h.endless.filler);
      max = Math.max(max, f.buffered());
    }
    t.ok(max <= f.maxBufferedBytes, `held at most ${max} of ${f.maxBufferedBytes}`);
    if (h.endless.resync) f.push(h.endless.resync);
    t.same(keys(f.push(all)), expected);
  });

  t.test('reset drops a partial frame without counting it; counters are kept', async (t) => {
    const f = h.make();
    t.same(keys(f.push(h.samples[0].wire)), [expected[0]]);
    const half = h.samples[0].wire.subarray(0, Math.max(1, h.samples[0].wire.length >> 1));
    t.same(f.push(half), []);
    f.reset();
    t.equal(f.buffered(), 0);
    t.same(keys(f.push(h.samples[1].wire)), [expected[1]]);
    t.same(f.stats(), { frames: 2, bytes: h.samples[0].wire.length + half.length + h.samples[1].wire.length, errors: {} });
  });
}
