import t from 'tap';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { AlarmObs, NumericObs, Observation } from '../../../../schemas/src/observation.js';
import { encodeLine, formatValue, parseLine, parseValue } from './line.js';
import { modelFromKeys } from './decoder.js';
import { MasimoStreamDecoder } from './stream-decoder.js';
import { masimo } from './index.js';

// Real lines quoted in shared/protocols/pulse-oximeters.md §5.1.
const RAD8 = '02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800';
const RAD7 =
  '03/17/16 19:19:36 SN=---------- SPO2=098% BPM=123 PI=00.55 SPCO=--% SPMET=--.-% SPHB=--.- SPOC=-- RESVD=--- DESAT=-- PIDELTA=+-- PVI=--- ALARM=000000 EXC=0000C00 EXC1=00000000';

const nums = (obs: Observation[]): Record<string, NumericObs> =>
  Object.fromEntries(obs.filter((o): o is NumericObs => o.kind === 'numeric').map((o) => [o.vendorCode, o]));
const feed = (d: MasimoStreamDecoder, ...lines: string[]): Observation[] => d.push(Buffer.from(lines.map((l) => `${l}\r\n`).join(''), 'latin1'));

t.test('real Rad-8 line: values by key, % stripped, dashes → null + invalid, SET mode is no exception', async (t) => {
  const d = new MasimoStreamDecoder();
  const obs = feed(d, RAD8);
  const n = nums(obs);
  t.same([n.SPO2.value, n.SPO2.mdc, n.SPO2.code, n.SPO2.unit], [98, 'MDC_PULS_OXIM_SAT_O2', 150456, '%']);
  t.same([n.BPM.value, n.BPM.code, n.BPM.unit], [97, 149530, '/min']);
  t.same([n.PI.value, n.PI.code, n.PI.unit], [3.6, 150488, '%']);
  for (const k of ['SPCO', 'SPMET', 'DESAT', 'PIDELTA']) t.same([n[k].value, n[k].flags], [null, ['invalid']], k);
  t.equal(n.SPO2.flags, undefined, 'EXC 0x800 alone: no flag');
  t.equal(obs.filter((o) => o.kind === 'alarm').length, 0);
  t.equal(n.SPO2.t, Date.UTC(2016, 1, 22, 22, 47, 45));
  t.equal(n.SPO2.tDevice, n.SPO2.t);
  t.same(d.identity(), { vendor: 'Masimo', model: 'Rad-8', serial: '0000056661' });
  t.equal(d.profileId(), 'masimo/rad-8/ascii1');
  t.same(d.stats().errors, {});
});

t.test('real Radical-7 line: PI without %, EXC 0x400 low SIQ → questionable + technical alarm, RESVD ignored', async (t) => {
  const d = new MasimoStreamDecoder();
  const obs = feed(d, RAD7);
  const n = nums(obs);
  t.same([n.SPO2.value, n.BPM.value, n.PI.value], [98, 123, 0.55]);
  t.same(n.SPO2.flags, ['questionable']);
  t.same(n.SPHB.value, null);
  t.notOk(n.RESVD, 'reserved token not published');
  const alarms = obs.filter((o): o is AlarmObs => o.kind === 'alarm');
  t.same(
    alarms.map((a) => [a.text, a.phase, a.source, a.vendorCode]),
    [['Low signal IQ', 'start', 'technical', 'EXC.0x400']],
  );
  t.same(d.identity(), { vendor: 'Masimo', model: 'Radical-7' }, 'dashed SN is no serial');
  t.equal(d.profileId(), 'masimo/radical-7/ascii1');
});

t.test('exceptions: sensor off voids values, alarm start then end; interference → artifact', async (t) => {
  const d = new MasimoStreamDecoder();
  feed(d, '01/01/20 10:00:00 SPO2=097% BPM=080 PI=02.00% ALARM=0000 EXC=000800');
  const off = feed(d, '01/01/20 10:00:01 SPO2=097% BPM=080 PI=02.00% ALARM=0000 EXC=000820');
  t.same(nums(off).SPO2.value, null);
  t.same(nums(off).SPO2.flags, ['invalid']);
  t.same(
    off.filter((o) => o.kind === 'alarm').map((a) => [(a as AlarmObs).text, (a as AlarmObs).phase]),
    [['Sensor off patient', 'start']],
  );
  t.equal(feed(d, '01/01/20 10:00:02 SPO2=--- BPM=--- PI=--.--% ALARM=0000 EXC=000820').filter((o) => o.kind === 'alarm').length, 0, 'no repeat while on');
  const back = feed(d, '01/01/20 10:00:03 SPO2=096% BPM=081 PI=02.10% ALARM=0000 EXC=000810');
  t.same(
    back.filter((o) => o.kind === 'alarm').map((a) => [(a as AlarmObs).text, (a as AlarmObs).phase]),
    [
      ['Interference detected', 'start'],
      ['Sensor off patient', 'end'],
    ],
  );
  t.same(nums(back).SPO2.flags, ['artifact']);
  t.equal(nums(back).SPO2.value, 96);
  t.equal(d.identity()?.model, 'Radical-5');
});

t.test('tokens by key, not by column: reordered and extra tokens; unknown numeric token kept as unmapped', async (t) => {
  const d = new MasimoStreamDecoder({ profileId: 'masimo/radical-7/ascii1' });
  const n = nums(feed(d, '05/05/21 08:00:00 EXC=000800 PVI=012 BPM=070 NEWKEY=42 SPO2=099% SPHB=13.4'));
  t.same([n.SPO2.value, n.BPM.value, n.PVI.value, n.SPHB.value, n.SPHB.unit], [99, 70, 12, 13.4, 'g/dL']);
  t.same([n.NEWKEY.value, n.NEWKEY.mdc, n.NEWKEY.flags], [42, null, ['unmapped']]);
  t.same(d.unmapped(), { NEWKEY: 1 });
});

t.test('bad input is counted and never costs the next good line', async (t) => {
  const d = new MasimoStreamDecoder();
  const obs = feed(d, 'hello world', '13/45/16 22:47:45 SPO2=098%', '02/22/16 22:47:45 SPO2=9x8% BPM BPM=080 EXC=zz', RAD8);
  t.same(d.stats().errors, { 'line-format': 2, token: 1, value: 1, 'hex-field': 1 });
  t.equal(d.stats().frames, 2);
  t.equal(nums(obs).SPO2.value, 98, 'the last (good) line wins');
});

t.test('Root: model from explicit profile (prints the Radical-7 key set)', async (t) => {
  const d = new MasimoStreamDecoder({ profileId: 'masimo/root/ascii1' });
  feed(d, RAD7);
  t.equal(d.identity()?.model, 'Root');
  t.equal(d.profileId(), 'masimo/root/ascii1');
  t.equal(modelFromKeys(['SN', 'SPO2', 'PVI']), 'Radical-7');
});

t.test('line codec: encode is the inverse of parse; number shapes', async (t) => {
  t.equal(formatValue(3.6, { int: 2, dec: 2, pct: true }), '03.60%');
  t.equal(formatValue(null, { int: 2, dec: 1, pct: true }), '--.-%');
  t.equal(formatValue(null, { int: 2, sign: true }), '+--');
  t.equal(formatValue(-3, { int: 2, sign: true }), '-03');
  t.equal(formatValue(-0.2, { int: 2, sign: true }), '+00', 'no negative zero');
  t.equal(formatValue(0xc00, { int: 7, hex: true }), '0000C00');
  t.same(parseValue('+--'), { kind: 'absent' });
  t.same(parseValue('-03'), { kind: 'number', value: -3 });
  const line = encodeLine(Date.UTC(2016, 1, 22, 22, 47, 45), [
    ['SPO2', '098%'],
    ['PI', '03.60%'],
  ]);
  t.equal(line, '02/22/16 22:47:45 SPO2=098% PI=03.60%\r\n');
  const p = parseLine(line.trimEnd());
  t.ok(!('error' in p) && p.tDevice === Date.UTC(2016, 1, 22, 22, 47, 45) && p.tokens.get('PI') === '03.60%');
});

t.test('session: listens only, lastFrameAt = rx time of the last valid line, gateway time base', async (t) => {
  const s = masimo.createSession({ now: () => 5 });
  const written: Uint8Array[] = [];
  s.start({ write: (b) => written.push(b) });
  s.tick(1000);
  t.equal(s.lastFrameAt(), undefined);
  s.onBytes(Buffer.from('garbage\r\n'), 1000);
  t.equal(s.lastFrameAt(), undefined, 'an invalid line is no frame');
  const obs = s.onBytes(Buffer.from(`${RAD8}\r\n`), Date.UTC(2016, 1, 22, 22, 47, 45, 300));
  t.equal(s.lastFrameAt(), Date.UTC(2016, 1, 22, 22, 47, 45, 300));
  t.equal((obs[0] as NumericObs).t, Date.UTC(2016, 1, 22, 22, 47, 45), 'device clock within tolerance: used as is');
  s.stop();
  t.same(written, [], 'nothing ever written');
  t.same(masimo.serialDefaults, { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false });
});

t.test('decode output passes shared/tools/check-decode-output', async (t) => {
  const d = new MasimoStreamDecoder();
  const ndjson =
    feed(d, RAD8, RAD7.replace('03/17/16', '02/22/16'))
      .map((o) => JSON.stringify(o))
      .join('\n') + '\n';
  const tool = resolve(import.meta.dirname, '../../../../../shared/tools/check-decode-output');
  const out = execFileSync('/usr/bin/python3', [tool], { input: ndjson, encoding: 'utf8' });
  t.match(out, /numeric/);
});

t.test('gateway time base: a device clock an hour off is corrected in whole seconds and flagged', async (t) => {
  const d = new MasimoStreamDecoder({ timeBase: 'gateway', clockToleranceMs: 5000 });
  const dev = Date.UTC(2016, 1, 22, 22, 47, 45);
  let last: NumericObs | undefined;
  for (let i = 0; i < 3; i++) {
    const line = `${RAD8.replace('22:47:45', `22:47:4${5 + i}`)}\r\n`;
    last = nums(d.push(Buffer.from(line), dev + i * 1000 + 3_600_000 + 120)).SPO2;
  }
  t.equal(last!.tDevice, dev + 2000);
  t.equal(last!.t, dev + 2000 + 3_600_000);
  t.same(last!.flags, ['clock-offset']);
  t.equal(d.clockOffsetMs(), -3_600_120);
});
