import t from 'tap';
import { encodeRtConfig, encodeRtEnable, encodeRtSelection, encodeRtValue, parseRtConfig, parseRtSelection, RtParser, type RtEvent } from './realtime.js';

const ATLAN_S =
  '00   20000-  21  121FFF01   20000- 181  181FFF05   20000    0  100FFF06   20000    0  120FFF07   20000    0   20FFF08   20000    0  100FFF0A   20000    0   20FFF2A   20000    0   20FFF';

t.test('ESC S answer of the real Atlan', async (t) => {
  const { channels, bad } = parseRtConfig(Buffer.from(ATLAN_S));
  t.equal(bad, 0);
  t.same(
    channels.map((c) => c.code),
    [0x00, 0x01, 0x05, 0x06, 0x07, 0x08, 0x0a, 0x2a],
  );
  t.same(channels[0], { code: 0, intervalUs: 20000, min: -21, max: 121, maxBin: 4095 });
  t.same(channels[1], { code: 1, intervalUs: 20000, min: -181, max: 181, maxBin: 4095 });
  t.equal(encodeRtConfig(channels), ATLAN_S, 'encoder writes the Atlan layout byte for byte');
  t.equal(parseRtConfig(Buffer.from(ATLAN_S.slice(0, 30))).bad, 1, 'partial record counted');
});

t.test('ESC T selection and the enable sequence', async (t) => {
  const sel = parseRtSelection(Buffer.from('0001010105010600070008000A002A00'));
  t.same(
    sel?.filter((s) => s.multiplier).map((s) => s.code),
    [0, 1, 5],
  );
  t.equal(encodeRtSelection(sel!), '0001010105010600070008000A002A00');
  t.equal(parseRtSelection(Buffer.from('000')), undefined);
  t.same([...encodeRtEnable(3)], [0xd0, 0xc3, 0xc0, 0xc2, 0xc0, 0xc1, 0xc7, 0xc0, 0xc0]);
  t.same([...encodeRtEnable(6)], [0xd0, 0xc3, 0xc0, 0xc2, 0xc3, 0xc1, 0xcf, 0xc0, 0xc0]);
});

t.test('byte stream: the real start of the Atlan stream', async (t) => {
  const p = new RtParser();
  const ev: RtEvent[] = [];
  p.push(Buffer.from('D0C6C0C0C0D7AF8F9AA38080D7BB8F9CA38080', 'hex'), ev);
  t.same(ev[0], { kind: 'breath', phase: 'inspiration' });
  const cycles = ev.filter((e) => e.kind === 'cycle') as Extract<RtEvent, { kind: 'cycle' }>[];
  t.equal(cycles.length, 2);
  t.same(
    [...cycles[0].values],
    [
      [1, 1007],
      [2, 2266],
      [3, 0],
    ],
    'bin = b1&3F | (b2&3F)<<6',
  );
  // physical: Paw 1007/4095·142 − 21 = 13.92 mbar, flow 2266/4095·362 − 181 = 19.32 L/min
  t.equal(Number(((1007 / 4095) * 142 - 21).toFixed(2)), 13.92);
  t.same(p.errors, {});
});

t.test('streams 5–8 via C4, value round trip, errors counted', async (t) => {
  const p = new RtParser();
  const ev: RtEvent[] = [];
  const vals = [0, 1, 63, 64, 2047, 4095].map(encodeRtValue).flat();
  p.push(Buffer.from([0xdf, 0xc4, 0xc3, ...vals]), ev);
  t.same(
    [...(ev[0] as Extract<RtEvent, { kind: 'cycle' }>).values],
    [
      [1, 0],
      [2, 1],
      [3, 63],
      [4, 64],
      [5, 2047],
      [6, 4095],
    ],
  );
  const bad: RtEvent[] = [];
  p.push(Buffer.from([0x80, 0x80, 0xd1, 0x81, 0x80, 0x82, 0x80, 0xcf, 0xc0]), bad);
  t.same(p.errors, { 'rt-unexpected-value': 2, 'rt-corrupt': 1 });
  t.same(bad.filter((e) => e.kind === 'cycle').length, 1, 'the good value of the cycle still arrives');
});
