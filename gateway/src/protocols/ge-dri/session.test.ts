import t from 'tap';
import { encodePhdbRecord, encodeWaveRecord } from './encode.js';
import { frameRecord } from './frame.js';
import { DriFramer } from './framer.js';
import { geDri } from './index.js';
import { parseRequest, type HostRequest } from './requests.js';
import { GeDriSession } from './session.js';

function capture(): { io: { write(b: Uint8Array): void }; requests(): HostRequest[] } {
  const framer = new DriFramer();
  const got: HostRequest[] = [];
  return {
    io: {
      write: (b) => {
        for (const r of framer.push(b)) got.push(parseRequest(r));
      },
    },
    requests: () => got.splice(0),
  };
}

const T = 1_700_000_000;

t.test('start sends PHDB + wave requests at every configured level, then the monitor level only', async (t) => {
  let now = T * 1000;
  const s = geDri.createSession({ profileId: 'ge/s5/dri-2003', now: () => now, options: { waves: ['ECG1', 'PLETH'], intervalS: 10 } });
  const c = capture();
  s.start(c.io);
  const first = c.requests();
  t.same(
    first.filter((r) => r.kind === 'phdb').map((r) => r.kind === 'phdb' && [r.driLevel, r.intervalS, r.classMask, r.recordType]),
    [
      [9, 10, 14, 1],
      [8, 10, 14, 1],
      [7, 10, 14, 1],
    ],
  );
  t.same(
    first.filter((r) => r.kind === 'wave').map((r) => r.kind === 'wave' && [r.driLevel, r.reqType, r.waveIds]),
    [
      [9, 1, []],
      [8, 1, []],
      [7, 1, []],
      [9, 0, [1, 8]],
      [8, 0, [1, 8]],
      [7, 0, [1, 8]],
    ],
    'a running wave stream is stopped first, so the monitor restarts it on a whole second',
  );
  s.tick(now + 1000);
  t.same(c.requests(), [], 'nothing re-sent within the retry window');
  now += 5000;
  s.tick(now);
  t.equal(c.requests().length, 6, 'no answer yet → re-sent after 5 s');
  const obs = s.onBytes(frameRecord(encodePhdbRecord({ time: T + 5, driLevel: 8, classes: { basic: { spo2: { fields: { spo2: 9700 } } } } })), now);
  t.ok(obs.some((o) => o.kind === 'numeric' && o.vendorCode === 'spo2.spo2' && o.value === 97));
  t.equal(s.lastFrameAt(), now);
  s.tick(now + 59_000);
  t.same(c.requests(), [], 'answering monitor: refresh only every refreshS');
  s.tick(now + 60_000);
  const refresh = c.requests();
  t.same(
    refresh.map((r) => r.kind !== 'other' && r.driLevel),
    [8, 8],
    "refresh at the monitor's own level",
  );
  s.stop();
  const stop = c.requests();
  t.same(stop, [
    { kind: 'wave', reqType: 1, waveIds: [], driLevel: 8 },
    { kind: 'phdb', recordType: 1, intervalS: 0, classMask: 0, driLevel: 8 },
  ]);
  s.stop();
  t.same(c.requests(), [], 'stop is idempotent');
});

t.test('a wall clock that steps back does not stall the refresh', async (t) => {
  let wall = T * 1000;
  const s = new GeDriSession({ profileId: 'ge/s5/dri-2003', now: () => wall, options: { waves: ['ECG1'], intervalS: 1 } });
  const c = capture();
  s.start(c.io);
  c.requests();
  s.onBytes(frameRecord(encodePhdbRecord({ time: T, driLevel: 8, classes: { basic: { spo2: { fields: { spo2: 9700 } } } } })), wall);
  wall -= 3_600_000; // −1 h step
  s.tick(wall);
  wall += 59_000;
  s.tick(wall);
  t.same(c.requests(), [], 'no refresh within refreshS');
  wall += 1000;
  s.tick(wall);
  t.same(
    c.requests().map((r) => r.kind),
    ['phdb', 'wave'],
    'refresh refreshS after the step, not an hour later',
  );
});

t.test('auto profile: defaults of the best GE profile, sent at every level a GE profile names', async (t) => {
  const s = geDri.createSession({});
  const c = capture();
  s.start(c.io);
  const reqs = c.requests();
  t.same(
    reqs.filter((r) => r.kind === 'phdb').map((r) => r.kind === 'phdb' && [r.driLevel, r.intervalS, r.classMask]),
    [
      [10, 5, 14],
      [9, 5, 14],
      [8, 5, 14],
      [7, 5, 14],
    ],
  );
  t.same(
    reqs.find((r) => r.kind === 'wave' && r.reqType === 0),
    { kind: 'wave', reqType: 0, waveIds: [1, 8, 9], driLevel: 10 },
    'ECG1 + PLETH + CO2',
  );
});

t.test('rejects wave configs beyond the monitor limits with a clear error', async (t) => {
  t.throws(() => geDri.createSession({ options: { waves: ['ECG1', 'ECG2', 'ECG3'] } }), { code: 'GW_ERR_GE_DRI_CONFIG', message: /900 samples\/s/ });
  t.throws(() => geDri.createSession({ options: { waves: ['CO2', 'O2', 'N2O', 'AA', 'AWP', 'FLOW', 'RESP', 'VOL', 'PLETH'] } }), {
    message: /at most 8 waves/,
  });
  t.throws(() => geDri.createSession({ options: { waves: ['NOPE'] } }), { message: /unknown GE DRI wave/ });
  t.throws(() => geDri.createSession({ options: { intervalS: 0 } }), { message: /intervalS/ });
  t.throws(() => geDri.createSession({ options: { waves: ['PLETH', 8] } }), { message: /twice/ });
  t.doesNotThrow(() => geDri.createSession({ options: { waves: ['ECG1', 'INVP1', 'PLETH', 9, 'AWP'] } }), 'ids and names, 550 samples/s');
});

t.test('gateway time base: device time within tolerance, whole-second offset beyond, tDevice kept', async (t) => {
  const s = geDri.createSession({ profileId: 'ge/carescape-b650/dri-2009', options: { waves: [] } });
  const rec = (time: number) => frameRecord(encodePhdbRecord({ time, classes: { basic: { spo2: { fields: { spo2: 9700 } } } } }));
  const near = s.onBytes(rec(T), T * 1000 + 1200)[0];
  t.same([near.kind === 'numeric' && near.t, near.kind === 'numeric' && near.flags], [T * 1000, undefined]);
  const s2 = geDri.createSession({ profileId: 'ge/carescape-b650/dri-2009', options: { waves: [] }, clockToleranceMs: 5000 });
  const far = s2.onBytes(rec(T), T * 1000 + 3_600_400)[0];
  t.ok(far.kind === 'numeric');
  if (far.kind === 'numeric') {
    t.equal(far.t, T * 1000 + 3_600_000, 'offset rounded to whole seconds');
    t.equal(far.tDevice, T * 1000);
    t.same(far.flags, ['clock-offset']);
  }
  t.equal(s2.decoder().clockOffsetMs(), -3_600_400);
  const w = s2.onBytes(frameRecord(encodeWaveRecord({ time: T + 1, channels: [{ waveId: 8, samples: [1, 2] }] })), T * 1000 + 3_601_400)[0];
  t.ok(w.kind === 'wave' && w.t0 === (T + 1) * 1000 + 3_600_000);
});
