import t from 'tap';
import { CMD, encodeCommand, encodeResponse } from './frame.js';
import { MedibusSession } from './session.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function rig(options: Record<string, unknown> = {}) {
  let now = 1_000_000;
  const sent: Buffer[] = [];
  const s = new MedibusSession({ now: () => now, options });
  s.start({ write: (b) => sent.push(Buffer.from(b)) });
  const take = (): string[] => sent.splice(0).map((b) => b.toString('hex'));
  const rx = (b: Buffer): void => {
    s.onBytes(b, now);
  };
  return {
    s,
    take,
    rx,
    advance: (ms: number) => {
      now += ms;
      s.tick(now);
    },
    now: () => now,
  };
}

const ICC = encodeCommand(CMD.ICC).toString('hex');
const ICC_ACK = encodeResponse(CMD.ICC).toString('hex');

t.test('handshake with the real Atlan quirks: device ICC, ESC R inside the id answer, ESC ) before ESC S answer', async (t) => {
  const r = rig({ waves: ['00', '01', '05'] });
  t.same(r.take(), [ICC], 'ICC first');
  r.rx(encodeCommand(CMD.ICC));
  t.same(r.take(), [ICC_ACK], 'device ICC acknowledged, no second ICC while ours is pending');
  r.rx(encodeResponse(CMD.ICC));
  t.same(r.take(), ['1b5236440d'], 'then ESC R');
  r.rx(hex('01 52 35 35 35 35 27 41 33 58 58 27 30 32 2E 31 30 3A 30 1B 52 36 44 0D'));
  t.same(r.take(), ['0152' + '35330d'], 'the device ESC R inside its answer is answered at once (empty id)');
  r.rx(hex('36 2E 30 30 42 38 0D'));
  t.equal(r.s.decoder().profileId(), 'draeger/atlan/a350', 'profile from the device id');
  t.same(r.take(), [encodeCommand(CMD.RT_CONFIG).toString('hex')], 'then ESC S');
  r.rx(encodeCommand(CMD.SETTINGS));
  t.same(r.take(), [encodeResponse(CMD.SETTINGS).toString('hex')], 'device ESC ) answered empty');
  r.rx(encodeResponse(CMD.RT_CONFIG, '00   20000-  21  121FFF01   20000- 181  181FFF05   20000    0  100FFF06   20000    0  120FFF'));
  t.same(r.take(), [encodeCommand(CMD.RT_CONFIGURE, '0001010105010600').toString('hex')], 'ESC T with the chosen codes, the rest off');
  r.rx(encodeResponse(CMD.RT_CONFIGURE));
  t.same(r.take()[0], encodeCommand(CMD.DATA_CP1).toString('hex'), 'Atlan profile: no enable sequence; polling starts with CP1');
  t.equal(r.s.state(), 'polling');
});

function polling() {
  const r = rig({ waves: [] });
  r.rx(encodeResponse(CMD.ICC));
  r.rx(encodeResponse(CMD.DEVICE_ID, "5555'A3XX'02.11:06.00"));
  r.take();
  return r;
}

t.test('poll loop, measured data decoded, NOP keep-alive, device NOP answered', async (t) => {
  const r = polling();
  t.equal(r.s.state(), 'polling');
  r.advance(10);
  r.rx(encodeResponse(CMD.DATA_CP1, 'DC  72EB  98B9 5.8E6  36'));
  const obs = r.s.onBytes(Buffer.alloc(0), r.now());
  t.same(obs, []);
  const sent = r.take().map((h) => Buffer.from(h, 'hex').toString('latin1').slice(1, 2));
  t.ok(sent.includes("'"), 'alarms requested after CP1');
  r.rx(encodeResponse(CMD.ALARMS_CP1));
  r.rx(encodeResponse(CMD.SETTINGS));
  r.rx(encodeResponse(CMD.TEXT));
  r.rx(encodeResponse(CMD.DATETIME, '15:27:1221-AUG-26'));
  r.take();
  r.rx(encodeCommand(CMD.NOP));
  t.same(r.take(), ['0130' + '33310d'], 'device NOP answered 01 30 33 31 0D');
  r.advance(600);
  r.advance(500);
  t.ok(r.take().includes(encodeCommand(CMD.DATA_CP1).toString('hex')), 'next poll after pollMs');
});

t.test('measured data through the session carry MDC codes and mbar', async (t) => {
  const r = polling();
  r.advance(10);
  const obs = r.s.onBytes(encodeResponse(CMD.DATA_CP1, '7D  19DC  72EB    83 480'), r.now());
  t.match(obs[0], { mdc: 'MDC_VENT_PRESS_AWAY_MAX', code: 151973, value: 19, unit: 'mbar', vendorCode: 'cp1.7D' });
  t.match(obs[1], { mdc: 'MDC_ECG_HEART_RATE', value: 72, unit: '/min' });
  t.match(obs[2], { mdc: 'MDC_PULS_OXIM_SAT_O2', value: null, flags: ['invalid'] }, 'blank value = not available, never 0');
  t.match(obs[3], { mdc: null, code: null, value: 480, vendorCode: 'cp1.83', flags: ['unmapped'] });
});

t.test('NAK re-initialises; no valid frame for 3 s re-initialises; 3 timeouts re-initialise', async (t) => {
  const r = polling();
  r.advance(10);
  r.take();
  r.rx(hex('01 15 31 36 0D'));
  t.same(r.take(), [], 'NAK → re-init, but at most one ICC per second');
  r.advance(1000);
  t.same(r.take(), [ICC], 'then ICC');
  t.equal(r.s.state(), 'init');
  r.rx(encodeResponse(CMD.ICC));
  r.rx(encodeResponse(CMD.DEVICE_ID, "5555'A3XX'02.11:06.00"));
  r.take();
  for (let i = 0; i < 31; i++) r.advance(100);
  t.ok(r.take().includes(ICC), 'silent device → ICC again after the link timeout');
  t.ok((r.s.counters['reinit-link-timeout'] ?? 0) + (r.s.counters['reinit-timeouts'] ?? 0) + (r.s.counters['reinit-handshake-timeout'] ?? 0) >= 1);
  t.equal(r.s.counters['reinit-nak'], 1);
});

t.test('options are validated (fatal config errors)', async (t) => {
  t.throws(() => new MedibusSession({ options: { waves: ['ZZ'] } }), { code: 'GW_ERR_MEDIBUS_CONFIG' });
  t.throws(() => new MedibusSession({ options: { pollMs: 5 } }), { code: 'GW_ERR_MEDIBUS_CONFIG' });
});

t.test('NOP keep-alive when idle (slow poll)', async (t) => {
  const r = rig({ waves: [], pollMs: 10000 });
  r.rx(encodeResponse(CMD.ICC));
  r.rx(encodeResponse(CMD.DEVICE_ID, "5555'A3XX'02.11:06.00"));
  r.advance(1);
  for (const c of [CMD.DATA_CP1, CMD.ALARMS_CP1, CMD.SETTINGS, CMD.TEXT, CMD.DATETIME]) r.rx(encodeResponse(c));
  r.take();
  r.advance(1100);
  t.same(r.take(), [encodeCommand(CMD.NOP).toString('hex')], 'NOP after 1 s idle');
  r.rx(encodeResponse(CMD.NOP));
  r.advance(1100);
  t.same(r.take(), [encodeCommand(CMD.NOP).toString('hex')], 'and again');
});

t.test('link going away: flush() hands out the realtime samples already read (open blocks, cycle in progress)', async (t) => {
  const { ManualClock } = await import('../../../../simulators/src/ge-dri/clock.js');
  const { memoryLinkPair } = await import('../../../../simulators/src/link/memory-link.js');
  const { MedibusSimulator } = await import('../../../../simulators/src/draeger-medibus/simulator.js');
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 6; i++) await new Promise((r) => setImmediate(r));
  };
  const clock = new ManualClock(Date.UTC(2026, 9, 2, 17, 41, 5, 0));
  const { device, host } = memoryLinkPair();
  const sim = new MedibusSimulator({ seed: 7, clock, waveBlockSamples: 1 });
  let produced = 0;
  sim.on('produced', (r: { kind: string; samples?: number[] }) => {
    if (r.kind === 'wave') produced += r.samples!.length;
  });
  sim.attach(device);
  sim.start();
  t.teardown(async () => {
    await sim.close();
    device.destroy();
    host.destroy();
  });
  const session = new MedibusSession({ now: () => clock.now() });
  let emitted = 0;
  host.on('data', (c: Buffer) => {
    for (const o of session.onBytes(c, clock.now())) if (o.kind === 'wave') emitted += o.samples.length;
  });
  session.start({ write: (b) => host.write(b) });
  for (let ms = 0; ms < 10_300; ms += 100) {
    clock.advance(100);
    if (ms % 250 === 0) session.tick(clock.now());
    await settle();
  }
  t.ok(produced > 1000, `the workstation streamed realtime samples (${produced})`);
  t.ok(emitted < produced, `some are held in open blocks before the flush (${produced - emitted})`);
  const flushed = session.flush().filter((o) => o.kind === 'wave');
  for (const o of flushed) if (o.kind === 'wave') emitted += o.samples.length;
  t.equal(emitted, produced, 'after flush() every sample the device sent has been emitted');
  t.same(session.flush(), [], 'a second flush has nothing left');
});
