/** IntelliVueStreamDecoder counters across framing detection (regression from test/fuzz). */
import t from 'tap';
import { IntelliVueStreamDecoder } from './stream-decoder.js';

t.test('bytes pushed before the LAN framing is known stay counted (fuzz crasher: RX ef, RX 00 08)', async (t) => {
  const d = new IntelliVueStreamDecoder({ now: () => 0 });
  t.same(d.push(Buffer.from([0xef])), [], 'framing undecided: the byte goes to the MIB framer');
  t.same(d.push(Buffer.from([0x00, 0x08])), [], 'an SPDU-like first byte: LAN');
  t.equal(d.detectedFraming(), 'lan');
  const s = d.stats();
  t.equal(s.bytes, 3, 'every byte pushed is counted');
  t.equal(s.errors.garbage, 1, 'the stray byte stays counted as garbage');
  t.equal(s.frames, 1, 'one datagram');
});
