import t from 'tap';
import { CMD, encodeCommand, encodeResponse } from './frame.js';
import { encodeAlarms, encodeTexts } from './messages.js';
import { encodeRtConfig, encodeRtValue } from './realtime.js';
import { MedibusStreamDecoder } from './stream-decoder.js';

const ID = encodeResponse(CMD.DEVICE_ID, "5555'A3XX'02.11:06.00");

t.test('profile: generic before the device id, family after; explicit id wins', async (t) => {
  const d = new MedibusStreamDecoder();
  t.equal(d.profileId(), 'draeger/generic/medibus');
  d.push(ID, 1);
  t.equal(d.profileId(), 'draeger/atlan/a350');
  t.same(d.identity(), { vendor: 'Draeger', model: 'A3XX', firmware: '02.11:06.00', serial: '5555' });
  const unknown = new MedibusStreamDecoder();
  unknown.push(encodeResponse(CMD.DEVICE_ID, "0001'Evita4'04.00"), 1);
  t.equal(unknown.profileId(), 'draeger/generic/medibus', 'unknown model → generic profile');
  const fixed = new MedibusStreamDecoder({ profileId: 'draeger/fabius/medibus' });
  fixed.push(ID, 1);
  t.equal(fixed.profileId(), 'draeger/fabius/medibus');
});

t.test('limits, settings, text, alarm transitions, CP2 unmapped', async (t) => {
  const d = new MedibusStreamDecoder();
  const at = (b: Buffer, ms: number) => d.push(b, ms);
  t.match(at(encodeResponse(CMD.LOW_LIMITS_CP1, 'E6  25'), 1), [
    { kind: 'setting', name: 'MDC_CONC_AWAY_CO2_ET.limit-low', value: 25, unit: 'mm[Hg]', vendorCode: 'limit.low.cp1.E6' },
  ]);
  t.match(at(encodeResponse(CMD.SETTINGS, '01   VC02  500'), 2), [
    { name: 'set.01', value: 'VC' },
    { name: 'set.02', value: 500 },
  ]);
  t.match(at(encodeResponse(CMD.TEXT, encodeTexts([{ code: 5, text: 'VC-CMV' }])), 3), [{ name: 'text.05', value: 'VC-CMV' }]);
  const a = encodeAlarms([{ priority: 3, code: 0x21, text: 'MV LOW' }]);
  t.match(at(encodeResponse(CMD.ALARMS_CP1, a), 4), [{ kind: 'alarm', phase: 'start', priority: 'high', text: 'MV LOW', vendorCode: 'alarm.cp1.21', t: 4 }]);
  t.same(at(encodeResponse(CMD.ALARMS_CP1, a), 5), [], 'still active: nothing new');
  t.match(at(encodeResponse(CMD.ALARMS_CP1, encodeAlarms([{ priority: 1, code: 0x21, text: 'MV LOW' }])), 6), [{ phase: 'update', priority: 'low' }]);
  t.match(at(encodeResponse(CMD.ALARMS_CP1), 7), [{ phase: 'end', vendorCode: 'alarm.cp1.21', t: 7 }]);
  t.match(at(encodeResponse(CMD.DATA_CP2, '10  42'), 8), [{ mdc: null, value: 42, vendorCode: 'cp2.10', flags: ['unmapped'] }]);
  t.match(d.unmapped(), { 'cp2.10': 1, 'set.01': 1 });
});

t.test('realtime without ESC S uses the profile; an unmapped realtime code is kept', async (t) => {
  const d = new MedibusStreamDecoder({ timeBase: 'device' });
  d.setSelection([
    { code: 0x00, multiplier: 1 },
    { code: 0x1c, multiplier: 1 },
  ]);
  const cycles: number[] = [];
  for (let i = 0; i < 3; i++) cycles.push(0xd3, ...encodeRtValue(2048), ...encodeRtValue(100));
  d.push(Buffer.from(cycles));
  const obs = d.push(encodeCommand(CMD.NOP));
  t.match(obs[0], { kind: 'wave', vendorCode: 'rt.00', unit: 'mbar', t0: 0 });
  t.ok(Math.abs((obs[0] as { samples: number[] }).samples[0] - ((2048 * 142) / 4095 - 21)) < 1e-6);
  t.match(obs[1], { kind: 'wave', vendorCode: 'rt.1C', mdc: null, flags: ['unmapped'], samples: [100, 100, 100] });
  t.same(d.stats().errors, {});
});

t.test('ESC S from the device overrides the profile range; gateway time base anchors at receive time', async (t) => {
  const d = new MedibusStreamDecoder({ timeBase: 'gateway' });
  d.push(encodeResponse(CMD.RT_CONFIG, encodeRtConfig([{ code: 0, intervalUs: 10000, min: -10, max: 90, maxBin: 0xfff }])), 1000);
  d.setSelection([{ code: 0, multiplier: 1 }]);
  const chunk: number[] = [];
  for (let i = 0; i < 5; i++) chunk.push(0xd1, ...encodeRtValue(4095));
  d.push(Buffer.from(chunk), 2000);
  const [w] = d.push(encodeCommand(CMD.NOP), 2001);
  t.match(w, { rateHz: 100, t0: 1960, samples: [90, 90, 90, 90, 90], offset: -10 }, 'last cycle of the chunk at its receive time');
});

t.test('seeded garbage never throws and never costs the next good frame', async (t) => {
  let seed = 12345;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const d = new MedibusStreamDecoder();
  let good = 0;
  for (let i = 0; i < 300; i++) {
    const junk = Buffer.from(Array.from({ length: Math.floor(rnd() * 60) }, () => Math.floor(rnd() * 256)));
    t.doesNotThrow(() => d.push(junk, i));
    d.push(Buffer.from([0x0d]), i); // end whatever the junk started
    const obs = d.push(encodeResponse(CMD.DATA_CP1, 'DC  72'), i);
    if (obs.some((o) => o.kind === 'numeric' && o.vendorCode === 'cp1.DC' && o.value === 72)) good++;
  }
  t.equal(good, 300, 'every good frame after garbage decoded');
  const errs = d.stats().errors;
  t.ok(Object.values(errs).reduce((a, b) => a + b, 0) > 100, `garbage counted by kind: ${JSON.stringify(errs)}`);
});
