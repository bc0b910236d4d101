/**
 * Abstract stream-decoder suite: the ProtocolDecoder contract (protocol.ts) every protocol's
 * `createDecoder()` must keep. Each protocol folder runs it from its stream-decoder.suite.test.ts
 * with a short session built by its simulator-side encoder; what only one protocol does (its
 * records, its profiles, its clock) stays in that protocol's own tests.
 */
import type { Test } from 'tap';
import type { Observation } from '../../../schemas/src/observation.js';
import type { DecoderOptions, ProtocolDecoder } from './protocol.js';

export interface StreamDecoderHarness {
  /** A fresh decoder through the protocol's createDecoder(); `opts` are added to the harness's own. */
  make(opts?: DecoderOptions): ProtocolDecoder;
  /**
   * Device → host chunks of a short, clean session (the protocol's encoder): decodes into
   * observations with no error; the last chunk ends with a complete frame.
   */
  capture: Buffer[];
  /** Host → device chunks the session needs (pushed with pushTx before the capture). */
  tx?: Buffer[];
  /** Device → host bytes that hold no good frame: counted under some error kind, costing no later frame. */
  garbage: Buffer;
}

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

function counters(t: Test, what: string, rec: Record<string, number>, positive: boolean): void {
  const bad = Object.entries(rec).filter(([, v]) => !Number.isInteger(v) || v < (positive ? 1 : 0));
  t.same(bad, [], `${what}: ${positive ? 'positive' : 'non-negative'} integers by kind`);
}

/** Everything a run produced, comparable: observations (flush included), counters, identity. */
function run(d: ProtocolDecoder, tx: Buffer[], chunks: Buffer[]): string {
  const obs: Observation[] = [];
  for (const c of tx) obs.push(...d.pushTx(c));
  for (const c of chunks) obs.push(...d.push(c));
  obs.push(...d.flush());
  return JSON.stringify({ obs, stats: d.stats(), records: d.recordCounts(), unmapped: d.unmapped(), profile: d.profileId(), identity: d.identity() });
}

/** The capture re-cut at `cuts` (byte offsets into the whole). */
function recut(whole: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts.filter((c) => c > 0 && c < whole.length)].sort((a, b) => a - b)) {
    out.push(whole.subarray(at, c));
    at = c;
  }
  out.push(whole.subarray(at));
  return out;
}

export function streamDecoderSuite(t: Test, h: StreamDecoderHarness): void {
  const whole = Buffer.concat(h.capture);
  const tx = h.tx ?? [];
  const fixedClock = (): DecoderOptions => ({ now: () => T0, timeBase: 'device' });

  t.test('a fresh decoder: nothing out, nothing counted, no link freshness', async (t) => {
    const d = h.make();
    t.same(d.push(new Uint8Array(0), T0), []);
    t.same(d.stats(), { frames: 0, bytes: 0, errors: {} });
    t.equal(d.lastFrameAt(), undefined);
    t.same(d.flush(), []);
    t.equal(
      Object.values(d.recordCounts()).reduce((a, b) => a + b, 0),
      0,
      'no records',
    );
    t.same(d.unmapped(), {});
  });

  t.test('the session decodes: observations out, frames and bytes counted, no error', async (t) => {
    const d = h.make();
    for (const c of tx) d.pushTx(c);
    const obs: Observation[] = [];
    h.capture.forEach((c, i) => obs.push(...d.push(c, T0 + i * 100)));
    obs.push(...d.flush());
    t.ok(obs.length > 0, `${obs.length} observations`);
    t.ok(
      obs.every((o) => ['numeric', 'wave', 'alarm', 'setting'].includes(o.kind)),
      'canonical kinds',
    );
    const s = d.stats();
    t.same(s.errors, {}, 'no error');
    t.ok(s.frames > 0, `${s.frames} frames`);
    t.equal(s.bytes, whole.length, 'every device byte counted, host bytes not');
    t.ok(Object.values(d.recordCounts()).reduce((a, b) => a + b, 0) > 0, 'records counted');
    counters(t, 'recordCounts', d.recordCounts(), false);
    counters(t, 'unmapped', d.unmapped(), true);
    t.type(d.profileId(), 'string', 'a profile is in use');
  });

  t.test('the result does not depend on how the bytes are chunked', async (t) => {
    const ref = run(h.make(fixedClock()), tx, [whole]);
    const n = whole.length;
    const cutSets: [string, number[]][] = [
      ['as captured', []],
      ['halves', [n >> 1]],
      ['thirteen pieces', Array.from({ length: 12 }, (_, i) => Math.floor(((i + 1) * n) / 13))],
      ['prime steps', Array.from({ length: Math.min(2000, Math.floor(n / 7)) }, (_, i) => (i + 1) * 7)],
    ];
    const asCaptured = run(h.make(fixedClock()), tx, h.capture);
    t.equal(asCaptured, ref, 'as captured');
    for (const [name, cuts] of cutSets.slice(1)) t.equal(run(h.make(fixedClock()), tx, recut(whole, cuts)), ref, name);
    const head = whole.subarray(0, Math.min(whole.length, 4096));
    const bytewise = Array.from({ length: head.length }, (_, i) => head.subarray(i, i + 1));
    t.equal(run(h.make(fixedClock()), tx, [...bytewise, whole.subarray(head.length)]), ref, 'one byte at a time (first 4 KiB)');
  });

  t.test('garbage is counted by kind and costs no good frame', async (t) => {
    const clean = h.make(fixedClock());
    const cleanObs = JSON.stringify([...tx.flatMap((c) => clean.pushTx(c)), ...clean.push(whole), ...clean.flush()]);
    const d = h.make(fixedClock());
    const obs = [...tx.flatMap((c) => d.pushTx(c)), ...d.push(h.garbage), ...d.push(whole), ...d.flush()];
    const s = d.stats();
    t.ok(Object.keys(s.errors).length > 0, 'counted');
    counters(t, 'errors', s.errors, true);
    t.equal(s.frames, clean.stats().frames, 'every good frame decoded');
    t.equal(s.bytes, whole.length + h.garbage.length);
    t.equal(JSON.stringify(obs), cleanObs, 'the same observations as without the garbage');
  });

  t.test('link freshness: the receive time of the last good frame, declared once in the contract', async (t) => {
    const d = h.make();
    d.push(h.garbage, T0 - 5000);
    t.equal(d.lastFrameAt(), undefined, 'garbage is no sign of life');
    h.capture.forEach((c, i) => d.push(c, T0 + i * 100));
    const last = T0 + (h.capture.length - 1) * 100;
    t.equal(d.lastFrameAt(), last, 'the chunk that completed the last frame');
    d.push(h.garbage, last + 60_000);
    t.equal(d.lastFrameAt(), last, 'garbage afterwards does not move it');
    const clocked = h.make({ now: () => T0 + 777 });
    clocked.push(whole);
    t.equal(clocked.lastFrameAt(), T0 + 777, 'without a receive time: the decoder clock');
  });

  t.test('host → device bytes are not device bytes', async (t) => {
    const d = h.make();
    const obs = d.pushTx(whole);
    t.ok(Array.isArray(obs));
    t.equal(d.stats().bytes, 0);
    t.equal(d.stats().frames, 0);
    t.equal(d.lastFrameAt(), undefined);
  });
}
