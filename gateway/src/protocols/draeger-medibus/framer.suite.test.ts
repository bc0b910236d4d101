import t from 'tap';
import { framerSuite } from '../framer.suite.js';
import { CMD, encodeCommand, encodeResponse } from './frame.js';
import { MedibusFramer, type FramerEvent } from './framer.js';

const key = (e: FramerEvent): string => {
  if (e.kind === 'rt') return `rt ${e.bytes.toString('hex')}`;
  const f = e.frame;
  return f.kind === 'command' ? `cmd ${f.cmd.toString(16)} ${f.args.toString('latin1')}` : `ans ${f.echo.toString(16)} ${f.data.toString('latin1')}`;
};

framerSuite(t, {
  make: (o) => new MedibusFramer({ maxFrameBytes: o?.maxFrameBytes }),
  key,
  samples: [
    { wire: encodeResponse(CMD.DATA_CP1, 'DC  72EB  98'), key: 'ans 24 DC  72EB  98' },
    { wire: encodeCommand(CMD.NOP), key: 'cmd 30 ' },
    { wire: encodeCommand(CMD.RT_CONFIGURE, '0001010105010600070008000A002A00'), key: `cmd ${CMD.RT_CONFIGURE.toString(16)} 0001010105010600070008000A002A00` },
  ],
  garbage: Buffer.from('xyz\r'),
  corrupt: {
    damage: (w) => {
      w[w.length - 2] ^= 1;
      return w;
    },
    kind: 'checksum',
  },
  oversize: { maxFrameBytes: 64, wire: encodeResponse(CMD.DATA_CP1, 'DC  72'.repeat(40)) },
  endless: { open: Buffer.from([0x1b]), filler: Buffer.alloc(1000, 0x41) },
});
