import t from 'tap';
import { decodeEnvelope } from '../../../schemas/src/envelope.js';
import type { NumericObs, WaveObs } from '../../../schemas/src/observation.js';
import { MemoryOutbox } from '../outbox/memory-outbox.js';
import { silentLogger } from '../log.js';
import type { DeviceSessionStatus } from '../session/device-session.js';
import { Batcher } from './batcher.js';
import { splitWave, mergeWaves } from './waves.js';

const T0 = 1_700_000_000_000;
const num = (v: number, t = T0): NumericObs => ({ kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, value: v, unit: '/min', t, vendorCode: 'hr' });
const wave = (n: number, t0 = T0, rateHz = 100): WaveObs => ({
  kind: 'wave',
  mdc: 'MDC_ECG_ELEC_POTL_II',
  code: 131074,
  unit: 'mV',
  t0,
  rateHz,
  samples: Array.from({ length: n }, (_, i) => i / 100),
  scale: 0.01,
  offset: 0,
  vendorCode: 'ecg',
});
const status = (id: string, link: DeviceSessionStatus['link'] = 'streaming'): DeviceSessionStatus => ({
  id,
  protocol: 'fake',
  link,
  frames: 10,
  errors: 1,
  errorsByKind: { garbage: 1 },
  observations: 0,
  reconnects: 0,
  watchdogTrips: 0,
  bytesRx: 0,
  bytesTx: 0,
  profile: 'ge/s5',
  identity: { vendor: 'ge', model: 's5', firmware: '1.0' },
  clockOffsetMs: -20.4,
});

async function setup(opts: { maxBytes?: number; segmentBytes?: number; maxPending?: number; maxEnvelopeBytes?: number } = {}) {
  const outbox = new MemoryOutbox({ maxBytes: opts.maxBytes ?? 1 << 24, segmentBytes: opts.segmentBytes ?? 1 << 20 });
  await outbox.open();
  let statuses = [status('mon1'), status('vent1', 'connecting')];
  let now = T0;
  let mono = 0;
  const b = new Batcher({
    mono: () => mono,
    gatewayId: 'gw1',
    bootId: 'boot-a',
    intervalMs: 20,
    outbox,
    devices: () => statuses,
    logger: silentLogger(),
    now: () => now,
    heartbeatMs: 10_000,
    ...(opts.maxPending ? { maxPending: opts.maxPending } : {}),
    ...(opts.maxEnvelopeBytes ? { maxEnvelopeBytes: opts.maxEnvelopeBytes } : {}),
  });
  const envs = async () => (await outbox.peek(0, 1000)).map((r) => ({ seq: r.seq, readings: r.readings, env: decodeEnvelope(r.payload) }));
  return {
    outbox,
    b,
    envs,
    setStatuses: (s: DeviceSessionStatus[]) => {
      statuses = s;
    },
    tick: (ms: number) => {
      now += ms;
      mono += ms;
    },
    jumpWall: (ms: number) => {
      now += ms;
    },
  };
}

t.test('one envelope per interval with a batch and status per device', async (t) => {
  const { b, envs } = await setup();
  b.add('mon1', [num(80), num(81)]);
  b.add('mon1', [{ kind: 'alarm', mdc: null, code: null, text: 'HR high', priority: 'high', source: 'physiological', phase: 'start', t: T0 }]);
  b.add('vent1', [{ kind: 'setting', name: 'peep', value: 5, unit: 'cm[H2O]', t: T0 }]);
  const seqs = await b.flush();
  const [e] = await envs();
  t.same(seqs, [e.seq]);
  t.equal(e.env.seq, e.seq, 'the envelope carries the outbox seq');
  t.equal(e.env.bootId, 'boot-a');
  t.equal(e.env.gatewayId, 'gw1');
  t.equal(e.readings, 4);
  const [mon, vent] = e.env.devices;
  t.equal(mon.deviceId, 'mon1');
  t.same(
    mon.numerics.map((n) => n.value),
    [80, 81],
  );
  t.equal(mon.alarms.length, 1);
  t.equal(mon.profileId, 'ge/s5');
  t.same(mon.status, { link: 'streaming', model: 's5', firmware: '1.0', clockOffsetMs: -20, frames: 10, errors: 1 });
  t.equal(vent.settings[0].value, 5);
  t.equal(vent.status?.link, 'connecting');
  t.same(b.stats, { envelopes: 1, observations: 4, droppedObservations: 0, appendErrors: 0, splits: 0, clockJumps: 0 });
});

t.test('idle: no envelope unless a status changed or the heartbeat is due', async (t) => {
  const { b, envs, setStatuses, tick } = await setup();
  await b.flush(); // first flush: status is new
  t.equal((await envs()).length, 1);
  await b.flush();
  t.equal((await envs()).length, 1, 'nothing new → nothing written');
  setStatuses([status('mon1', 'stalled'), status('vent1', 'connecting')]);
  await b.flush();
  t.equal((await envs()).length, 2, 'status change → envelope');
  tick(10_000);
  await b.flush();
  t.equal((await envs()).length, 3, 'heartbeat');
});

t.test('waves: contiguous fragments merged, blocks cut to ≤ 1 s', async (t) => {
  const { b, envs } = await setup();
  b.add('mon1', [wave(100, T0), wave(150, T0 + 1000), wave(10, T0 + 60_000)]);
  await b.flush();
  const w = (await envs())[0].env.devices[0].waves;
  t.same(
    w.map((x) => x.samples.length),
    [100, 100, 50, 10],
  );
  t.same(
    w.map((x) => x.t0),
    [T0, T0 + 1000, T0 + 2000, T0 + 60_000],
  );
  t.equal(w[1].samples[0], 0, 'second fragment starts a new block at its own first sample');
  t.same(
    splitWave(wave(125, T0, 62.5)).map((x) => [x.samples.length, x.t0]),
    [
      [62, T0],
      [62, T0 + 992],
      [1, T0 + 1984],
    ],
  );
  t.equal(mergeWaves([wave(10, T0), wave(10, T0 + 500)]).length, 2, 'a gap is not merged');
});

t.test('overflow of the pending buffer is counted, not silent', async (t) => {
  const { b, envs } = await setup({ maxPending: 5 });
  b.add(
    'mon1',
    Array.from({ length: 8 }, (_, i) => num(i)),
  );
  await b.flush();
  t.equal(b.stats.droppedObservations, 3);
  t.equal((await envs())[0].env.devices[0].numerics.length, 5);
});

t.test('an envelope too large for the outbox is split, nothing lost', async (t) => {
  const { b, envs } = await setup({ maxBytes: 1 << 20, segmentBytes: 2048 });
  b.add(
    'mon1',
    Array.from({ length: 200 }, (_, i) => num(i, T0 + i)),
  );
  const seqs = await b.flush();
  t.ok(seqs.length > 1, `${seqs.length} envelopes`);
  const all = (await envs()).flatMap((e) => e.env.devices.flatMap((d) => d.numerics.map((n) => n.value)));
  t.same(
    all,
    Array.from({ length: 200 }, (_, i) => i),
  );
  t.ok(b.stats.splits > 0);
  t.equal(b.stats.droppedObservations, 0);
});

t.test('envelopes stay under mqtt.maxEnvelopeBytes (the broker packet limit): split, nothing lost', async (t) => {
  const { b, envs, outbox } = await setup({ maxEnvelopeBytes: 4096 });
  b.add('mon1', [...Array.from({ length: 400 }, (_, i) => num(i, T0 + i)), wave(250)]);
  const seqs = await b.flush();
  const recs = await outbox.peek(0, 1000);
  t.ok(seqs.length > 2, `${seqs.length} envelopes`);
  t.ok(
    recs.every((r) => r.payload.length <= 4096),
    `largest ${Math.max(...recs.map((r) => r.payload.length))} bytes`,
  );
  const all = (await envs()).flatMap((e) => e.env.devices.flatMap((d) => d.numerics.map((n) => n.value)));
  t.same(
    all,
    Array.from({ length: 400 }, (_, i) => i),
    'every reading once, in order',
  );
  t.equal(
    (await envs()).flatMap((e) => e.env.devices.flatMap((d) => d.waves)).reduce((n, w) => n + w.samples.length, 0),
    250,
  );
  t.equal(b.stats.droppedObservations, 0);
  t.ok(b.stats.splits > 0);
  // one observation that alone exceeds the limit cannot be split: dropped and counted, never sent
  const one = await setup({ maxEnvelopeBytes: 4096 });
  one.b.add('mon1', [wave(5000, T0, 10_000)]);
  t.same(await one.b.flush(), []);
  t.equal(one.b.stats.appendErrors, 1);
  t.equal(one.b.stats.droppedObservations, 1);
});

t.test('the default envelope cap leaves room for topic and header under the broker default', async (t) => {
  const { MAX_ENVELOPE_BYTES } = await import('../../../schemas/src/gateway-config.js');
  const { brokerLimitDefaults } = await import('../../../schemas/src/ingest-config.js');
  // topic: prefix + site/room/bed/gateway ids (≤ 64 chars each) + '/data'; header ≤ 5 + 2 + 2 bytes
  const worstTopic = 'orlink/v1'.length + 4 * 65 + '/data'.length;
  t.ok(MAX_ENVELOPE_BYTES + worstTopic + 9 <= brokerLimitDefaults().maxPacketBytes);
});

t.test('timer flushes and stop() writes the last batch', async (t) => {
  const { b, envs } = await setup();
  b.start();
  b.add('mon1', [num(1)]);
  const end = Date.now() + 5000;
  while ((await envs()).length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  t.equal((await envs()).length, 1);
  b.add('mon1', [num(2)]);
  await b.stop();
  const last = (await envs()).at(-1)!;
  t.same(
    last.env.devices[0].numerics.map((n) => n.value),
    [2],
  );
});

t.test('a gateway clock jump flags the readings of that interval and is counted', async (t) => {
  const { b, envs, tick, jumpWall } = await setup();
  b.add('mon1', [num(1)]);
  await b.flush();
  tick(1000);
  b.add('mon1', [num(2)]);
  await b.flush();
  jumpWall(-60_000); // NTP step backwards
  b.add('mon1', [num(3)]);
  await b.flush();
  const e = await envs();
  t.same(
    e.map((x) => x.env.devices[0].numerics[0].flags ?? []),
    [[], [], ['clock-jump']],
  );
  t.equal(b.stats.clockJumps, 1);
});
