/**
 * Seeded round trip (CONVENTIONS rule 2): physiology → simulator encoder (every vendor style) →
 * MLLP → random re-chunking → framer → parser → profile auto-identification → mapping, compared
 * with the simulator's produced truth; sentinels come out as null + 'invalid'.
 */
import t from 'tap';
import type { NumericObs } from '../../../../schemas/src/observation.js';
import { PhysiologyModel } from '../../../../simulators/src/physiology/index.js';
import { encodeOru } from '../../../../simulators/src/hl7-mllp/encoder.js';
import { VENDORS, VENDOR_NAMES } from '../../../../simulators/src/hl7-mllp/vendors.js';
import { mllpWrap } from './mllp.js';
import { Hl7StreamDecoder } from './stream-decoder.js';
import { randInt, rng } from '../ge-dri/test-rng.js';

const SEED = 20261122;

for (const name of VENDOR_NAMES) {
  t.test(`${name}: encode → re-chunk → decode equals the produced truth`, async (t) => {
    const style = VENDORS[name];
    const r = rng(SEED + name.length);
    const start = Date.UTC(2026, 10, 22, 8, 0, 0);
    const model = new PhysiologyModel({ seed: SEED, startMs: start, nibpIntervalMin: 1 });
    const parts: Buffer[] = [];
    const truth = [];
    let sentinels = 0;
    for (let i = 0; i < 40; i++) {
      const snap = model.at(start + i * 5000);
      const sentinel = i % 5 === 4;
      if (sentinel) sentinels++;
      const e = encodeOru(style, snap, { controlId: `C${i}`, sentinel });
      parts.push(mllpWrap(e.text));
      truth.push(...e.produced);
    }
    const wire = Buffer.concat(parts);
    const dec = new Hl7StreamDecoder(name === 'mindray-pds' ? { profileId: style.profile } : {});
    const got: NumericObs[] = [];
    for (let at = 0; at < wire.length;) {
      const n = randInt(r, 1, 300);
      for (const o of dec.push(wire.subarray(at, at + n), start)) if (o.kind === 'numeric') got.push(o);
      at += n;
    }
    t.equal(dec.profileId(), style.profile, 'profile identified');
    t.equal(dec.stats().frames, 40);
    const valued = got.filter((o) => o.value !== null);
    t.same(
      valued.map((o) => ({ kind: o.kind, mdc: o.mdc, value: o.value, unit: o.unit, t: o.t, vendorCode: o.vendorCode })),
      truth,
    );
    t.ok(
      valued.every((o) => !o.flags),
      'no flags on valid values',
    );
    const nulls = got.filter((o) => o.value === null);
    t.equal(nulls.length, sentinels, 'each sentinel → one absent value');
    t.ok(
      nulls.every((o) => o.flags?.includes('invalid') && o.mdc !== null),
      'absent values flagged invalid, still mapped',
    );
    t.same(dec.unmapped(), {}, 'every code mapped');
    const replies = dec.takeForSession().map((b) => b.toString('utf8'));
    if (style.expectAck) {
      t.equal(replies.length, 40, 'one ACK per message');
      t.ok(
        replies.every((a, i) => a.includes(`\rMSA|${style.expectAck}|C${i}`)),
        `every ACK is MSA|${style.expectAck}|<MSH-10>`,
      );
    } else t.equal(replies.length, 0, 'no ACK expected');
  });
}

t.test('seeded faults between good messages cost no good reading', async (t) => {
  const style = VENDORS['ge-b40'];
  const r = rng(SEED);
  const start = Date.UTC(2026, 10, 22, 9, 0, 0);
  const model = new PhysiologyModel({ seed: SEED, startMs: start });
  const parts: Buffer[] = [];
  const truth = [];
  const injected: Record<string, number> = {};
  const faults: [string, () => Buffer][] = [
    ['garbage', () => Buffer.from(Array.from({ length: randInt(r, 1, 40) }, () => randInt(r, 0x21, 0x7e)))],
    ['no-msh', () => mllpWrap('NOT HL7 AT ALL')],
    ['bad-version', () => mllpWrap('MSH|^~\\&|B40||||||ORU^R01|Z|P|9.9\r')],
    ['truncated', () => Buffer.from('\x0bMSH|^~\\&|B40|cut', 'latin1')],
    ['oversize', () => mllpWrap('MSH|' + 'x'.repeat(5000))],
  ];
  for (let i = 0; i < 60; i++) {
    if (r() < 0.4) {
      const [kind, make] = faults[randInt(r, 0, faults.length - 1)];
      injected[kind] = (injected[kind] ?? 0) + 1;
      parts.push(make());
    }
    const e = encodeOru(style, model.at(start + i * 2000), { controlId: `F${i}` });
    parts.push(mllpWrap(e.text));
    truth.push(...e.produced);
  }
  const wire = Buffer.concat(parts);
  const dec = new Hl7StreamDecoder({ maxMessageBytes: 4096 });
  const got: NumericObs[] = [];
  for (let at = 0; at < wire.length;) {
    const n = randInt(r, 1, 500);
    for (const o of dec.push(wire.subarray(at, at + n), start)) if (o.kind === 'numeric') got.push(o);
    at += n;
  }
  t.same(
    got.map((o) => ({ kind: o.kind, mdc: o.mdc, value: o.value, unit: o.unit, t: o.t, vendorCode: o.vendorCode })),
    truth,
    'every good reading decoded',
  );
  t.same(dec.stats().errors, injected, `faults counted by kind ${JSON.stringify(injected)}`);
  const acks = dec.takeForSession().map((b) => b.toString());
  t.equal(acks.filter((a) => a.includes('MSA|AA|F')).length, 60, 'every good message acknowledged');
  t.equal(acks.filter((a) => a.includes('MSA|AR|')).length, (injected['no-msh'] ?? 0) + (injected['bad-version'] ?? 0), 'bad messages rejected');
});
