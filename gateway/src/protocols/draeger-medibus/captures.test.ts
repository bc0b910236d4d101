// Hand checks on the real Atlan A350 XL captures (in ../shared/captures, named by the case.json
// files under firmware-profiles/draeger/testcases; the values behind the golden expected.ndjson),
// and the decode output contract checked with shared/tools/check-decode-output.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import type { Observation, WaveObs } from '../../../../schemas/src/observation.js';
import { decodeCase, REPO_ROOT } from '../../../../test/helpers/golden-case.js';

async function decode(testcase: string): Promise<{ obs: Observation[]; summary: Record<string, unknown>; raw: string }> {
  const { code, out, err, lines, summary } = await decodeCase(`draeger/testcases/${testcase}`);
  if (code !== 0) throw new Error(err);
  return { obs: lines.map((l) => JSON.parse(l) as Observation), summary, raw: out };
}

const samples = (obs: Observation[], vc: string): number[] =>
  obs.filter((o): o is WaveObs => o.kind === 'wave' && o.vendorCode === vc).flatMap((w) => w.samples as number[]);

t.test('real Atlan session: identification, realtime config from ESC S, streams from the host ESC T', async (t) => {
  const { obs, summary, raw } = await decode('atlan-a350xl-session');
  t.same(summary.identity, { vendor: 'Draeger', model: 'A3XX', firmware: '02.11:06.00', serial: '5555' });
  t.equal(summary.profile, 'draeger/atlan/a350');
  t.same(summary.errors, {});
  t.match(summary.records, { 'cmd:device-id': 1, 'cmd:settings': 1, 'cmd:icc': 1, 'ans:rt-config': 2 }, 'device commands seen: ESC R, ESC ), final ICC');
  const paw = samples(obs, 'rt.00');
  const flow = samples(obs, 'rt.01');
  const o2 = samples(obs, 'rt.05');
  t.equal(paw.length, 220);
  t.equal(flow.length, 220);
  t.equal(o2.length, 220);
  t.ok(Math.abs(paw[0] - 13.92) < 0.01, `Paw starts at 13.92 mbar (${paw[0]})`);
  t.ok(Math.max(...paw) > 21 && Math.max(...paw) < 23, `peak Paw ~22 mbar (${Math.max(...paw)})`);
  t.ok(Math.min(...paw) > 2 && Math.min(...paw) < 3.5, `PEEP level ~3 mbar (${Math.min(...paw)})`);
  t.ok(Math.max(...flow) > 19 && Math.max(...flow) < 25, `inspiratory flow ~20-23 L/min (${Math.max(...flow)})`);
  t.ok(Math.min(...flow) < -40 && Math.min(...flow) > -50, `expiratory flow peak ~-44 L/min (${Math.min(...flow)})`);
  t.ok(
    o2.every((v) => v === 0),
    'O2 channel is bin 0 throughout this capture',
  );
  const w = obs.find((o): o is WaveObs => o.kind === 'wave' && o.vendorCode === 'rt.00')!;
  t.match(w, { mdc: 'MDC_PRESS_AWAY', unit: 'mbar', rateHz: 50, offset: -21 }, 'honest unit: mbar');
  t.ok(Math.abs(w.scale - 142 / 4095) < 1e-12, 'scale from the device ESC S answer');
  t.match(obs[0], { kind: 'setting', name: 'breathPhase', value: 'inspiration' }, 'C6 breath marker');
  const checked = execFileSync(join(REPO_ROOT, '../shared/tools/check-decode-output'), { input: raw }).toString();
  t.match(checked, /0 not conforming/);
});

t.test('real Atlan single frames: date/time without space, NAK, interleaved ESC R, empty CP1', async (t) => {
  const { obs, summary } = await decode('atlan-a350xl-misc-frames');
  t.same(summary.errors, {});
  t.equal(summary.frames, 8);
  t.match(summary.records, { 'ans:datetime': 1, 'ans:device-id': 2, 'ans:data-cp1': 1, 'ans:nak': 2, 'cmd:device-id': 1, 'cmd:icc': 1 });
  t.match(summary.identity, { model: 'A3XX', firmware: '02.10:06.00' });
  t.same(obs, [{ kind: 'setting', name: 'deviceTime', value: '2026-08-21T15:27:12.000Z', t: Date.UTC(2026, 7, 21, 15, 27, 12), vendorCode: 'datetime' }]);
});
