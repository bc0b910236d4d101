// Shared framer cases (splits, garbage, checksum, oversize, caps, reset): framer.suite.test.ts.
import t from 'tap';
import { CMD, encodeCommand, encodeResponse } from './frame.js';
import { MedibusFramer, type FramerEvent } from './framer.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const frames = (evs: FramerEvent[]): string[] =>
  evs
    .filter((e) => e.kind === 'frame')
    .map((e) => {
      const f = (e as Extract<FramerEvent, { kind: 'frame' }>).frame;
      return f.kind === 'command' ? `cmd ${f.cmd.toString(16)} ${f.args.toString('latin1')}` : `ans ${f.echo.toString(16)} ${f.data.toString('latin1')}`;
    });

t.test('checksums of the digest examples', async (t) => {
  t.same(encodeCommand(CMD.ICC), hex('1B 51 36 43 0D'));
  t.same(encodeCommand(CMD.NOP), hex('1B 30 34 42 0D'));
  t.same(encodeCommand(CMD.DATA_CP1), hex('1B 24 33 46 0D'));
  t.same(encodeResponse(CMD.DATA_CP1), hex('01 24 32 35 0D'));
  t.same(encodeResponse(CMD.ICC), hex('01 51 35 32 0D'));
  t.same(encodeResponse(0x15), hex('01 15 31 36 0D'));
  t.same(encodeCommand(CMD.RT_CONFIGURE, '0001010105010600070008000A002A00').subarray(-3, -1).toString(), 'B1', 'ESC T of the real session');
});

t.test('a truncated frame restarted by SOH/ESC is counted', async (t) => {
  const f = new MedibusFramer();
  const evs = f.push(Buffer.concat([hex('01 24 44 43'), encodeResponse(CMD.DATA_CP1), hex('1B 52'), encodeCommand(CMD.NOP)]));
  t.same(frames(evs), ['ans 24 ', 'cmd 30 ']);
  t.same(f.stats().errors, { truncated: 2 });
});

t.test('real Atlan: device ESC R inside its device-id answer, split over two reads', async (t) => {
  const f = new MedibusFramer();
  const evs = [...f.push(hex('01 52 35 35 35 35 27 41 33 58 58 27 30 32 2E 31 30 3A 30 1B 52 36 44 0D')), ...f.push(hex('36 2E 30 30 42 38 0D'))];
  t.same(frames(evs), ['cmd 52 ', "ans 52 5555'A3XX'02.10:06.00"]);
  t.same(f.stats().errors, {});
});

t.test('realtime bytes pass through in wire order, even inside a frame', async (t) => {
  const f = new MedibusFramer();
  const evs = f.push(hex('D7 AF 8F 01 24 D0 80 80 32 35 0D 9A'));
  t.same(
    evs.map((e) => (e.kind === 'rt' ? `rt ${e.bytes.toString('hex')}` : 'frame')),
    ['rt d7af8fd08080', 'frame', 'rt 9a'],
  );
  t.same(f.stats().errors, {});
});
