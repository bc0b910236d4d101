/**
 * Seeded round trip: encoder (the simulator's side) → serial frames → random re-chunking → framer →
 * decoder → profile mapping equals the input; and the decode CLI output passes the shared checker.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import t from 'tap';
import type { NumericObs, Observation } from '../../../../schemas/src/observation.js';
import { decodeCase } from '../../../../test/helpers/golden-case.js';
import { alertList, mdsCreateEvent, nuObs, pollReplyMessages, type PollObject } from './encode.js';
import { frameMessage } from './fcs.js';
import { ATTR, MOC } from './nomenclature.js';
import { IntelliVueStreamDecoder } from './stream-decoder.js';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), a | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const IDS = [
  [0x4182, 0x0aa0],
  [0x4bb8, 0x0220],
  [0x50b0, 0x0f20],
  [0x4b64, 0x17a0],
  [0x4a13, 0x0f20],
  [0xf04e, 0x0200],
  [0x5220, 0x0220],
] as const;

for (const seed of [1, 2, 3, 42, 4242]) {
  t.test(`seed ${seed}`, async (t) => {
    const r = rng(seed);
    const abs = Date.UTC(2026, 0, 1) + Math.floor((r() * 1e9) / 10) * 10;
    const rel0 = Math.floor(r() * 2 ** 31);
    const want: { vendorCode: string; value: number; t: number }[] = [];
    const msgs: Buffer[] = [mdsCreateEvent({ invokeId: 1, manufacturer: 'Philips', model: 'MP50', absTime: abs, relTime: rel0 })];
    for (let k = 0; k < 20; k++) {
      const rel = (rel0 + k * 8000 + Math.floor(r() * 8) * 8) >>> 0;
      const objects: PollObject[] = IDS.map(([id, unit], i) => {
        const exponent = -Math.floor(r() * 3);
        const value = Math.round((r() * 400 - 50) * 10 ** -exponent) / 10 ** -exponent;
        want.push({ vendorCode: `0x${id.toString(16).toUpperCase().padStart(4, '0')}`, value, t: abs + (rel - rel0) / 8 });
        return { handle: i + 1, avas: [[ATTR.NU_VAL_OBS, nuObs({ physioId: id, unitCode: unit, value, exponent })]] };
      });
      msgs.push(...pollReplyMessages(k + 2, { pollNumber: 1, sequenceNo: k, relTime: rel, objType: MOC.VMO_METRIC_NU }, objects, 20 + Math.floor(r() * 200)));
    }
    const wire = Buffer.concat(msgs.map(frameMessage));
    const d = new IntelliVueStreamDecoder({ now: () => 0 });
    const got: Observation[] = [];
    for (let i = 0; i < wire.length;) {
      const n = 1 + Math.floor(r() * 97);
      got.push(...d.push(wire.subarray(i, i + n)));
      i += n;
    }
    const nums = got as NumericObs[];
    t.same(
      nums.map((o) => ({ vendorCode: o.vendorCode, value: o.value, t: o.t })),
      want,
    );
    t.ok(
      nums.every((o) => o.mdc !== null || o.vendorCode === '0xF04E'),
      'mapped by code',
    );
    t.same(d.stats().errors, {});
    t.equal(d.stats().frames, msgs.length);
  });
}

t.test('orlink decode output of both golden captures passes shared/tools/check-decode-output', async (t) => {
  const tool = resolve(import.meta.dirname, '../../../../../shared/tools/check-decode-output');
  for (const c of ['jvscapture-m8000-serial', 'mpsimulator-mp20-lan']) {
    const { code, out, err } = await decodeCase(`philips/testcases/${c}`);
    t.equal(code, 0, err);
    const res = execFileSync('/usr/bin/python3', [tool], { input: out, encoding: 'utf8' });
    t.match(res, /numeric/, c);
    t.match(res, /wave/, c);
  }
});

t.test('alarm and unmapped observations also pass the shared checker', async (t) => {
  const tool = resolve(import.meta.dirname, '../../../../../shared/tools/check-decode-output');
  const d = new IntelliVueStreamDecoder({ framing: 'lan', now: () => 0 });
  const obs = [
    mdsCreateEvent({ invokeId: 1, manufacturer: 'Philips', model: 'X2', absTime: Date.UTC(2026, 0, 1), relTime: 0 }),
    ...pollReplyMessages(2, { pollNumber: 1, sequenceNo: 1, relTime: 8000, objType: MOC.VMO_AL_MON }, [
      { handle: 1, avas: [[ATTR.AL_MON_T_AL_LIST, alertList([{ code: 0xf0c6, source: 0x4bb8, type: 2, handle: 2, text: 'SpO2 NO SENSOR' }])]] },
    ]),
    ...pollReplyMessages(3, { pollNumber: 2, sequenceNo: 1, relTime: 8000, objType: MOC.VMO_METRIC_NU }, [
      { handle: 3, avas: [[ATTR.NU_VAL_OBS, nuObs({ physioId: 0x7001, unitCode: 0x1234, value: 3 })]] },
    ]),
  ].flatMap((m) => d.push(m));
  t.same(
    obs.map((o) => o.kind),
    ['alarm', 'numeric'],
  );
  t.equal(d.profileId(), 'philips/intellivue-x2/data-export');
  const res = execFileSync('/usr/bin/python3', [tool], { input: obs.map((o) => JSON.stringify(o)).join('\n') + '\n', encoding: 'utf8' });
  t.match(res, /alarm/);
  t.match(JSON.stringify(obs[1]), /"unit":"\{philips-dim-0x1234\}"/);
});
