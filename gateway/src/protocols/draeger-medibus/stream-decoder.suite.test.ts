import t from 'tap';
import { streamDecoderSuite } from '../stream-decoder.suite.js';
import { CMD, encodeCommand, encodeResponse } from './frame.js';
import { draegerMedibus } from './index.js';
import { encodeAlarms } from './messages.js';

// the device's side: its id, measured data and an alarm, as answers to the host's requests
const capture = [
  encodeResponse(CMD.DEVICE_ID, "5555'A3XX'02.11:06.00"),
  encodeResponse(CMD.DATA_CP1, 'DC  72EB  98'),
  encodeResponse(CMD.ALARMS_CP1, encodeAlarms([{ priority: 3, code: 0x21, text: 'MV LOW' }])),
  encodeResponse(CMD.DATA_CP1, 'DC  73EB  97'),
];

streamDecoderSuite(t, {
  make: (o) => draegerMedibus.createDecoder({ ...o }),
  capture,
  tx: [encodeCommand(CMD.DEVICE_ID), encodeCommand(CMD.DATA_CP1)],
  garbage: Buffer.from('xyz\r'),
});
