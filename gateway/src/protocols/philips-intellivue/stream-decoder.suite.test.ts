import t from 'tap';
import { streamDecoderSuite } from '../stream-decoder.suite.js';
import { mdsCreateEvent, nuObs, pollReplyMessages } from './encode.js';
import { frameMessage } from './fcs.js';
import { philipsIntelliVue } from './index.js';
import { ATTR, MOC } from './nomenclature.js';

const ABS = Date.UTC(2026, 0, 1, 8);
const REL0 = 1_000_000;
// the monitor's side over MIB/RS-232: MDS create, then a numerics poll reply every second
const msgs: Buffer[] = [mdsCreateEvent({ invokeId: 1, manufacturer: 'Philips', model: 'MP50', absTime: ABS, relTime: REL0 })];
for (let k = 0; k < 5; k++) {
  msgs.push(
    ...pollReplyMessages(k + 2, { pollNumber: 1, sequenceNo: k, relTime: REL0 + k * 8000, objType: MOC.VMO_METRIC_NU }, [
      { handle: 1, avas: [[ATTR.NU_VAL_OBS, nuObs({ physioId: 0x4182, unitCode: 0x0aa0, value: 60 + k, exponent: 0 })]] },
      { handle: 2, avas: [[ATTR.NU_VAL_OBS, nuObs({ physioId: 0x4bb8, unitCode: 0x0220, value: 97, exponent: 0 })]] },
    ]),
  );
}

streamDecoderSuite(t, {
  make: (o) => philipsIntelliVue.createDecoder({ ...o }),
  capture: msgs.map(frameMessage),
  garbage: Buffer.from([1, 2, 3, 0x7d, 0xc1]),
});
