// A monitor re-associated within the 256 ms wave period its previous poll already sent: the new
// association's first wave reply carries no wave, so it must not count as having sent the waves'
// static attributes (scale, sample period). It once did, and a fresh gateway driver then decoded
// no wave at all after a quick reconnect (found by test/faults/every-protocol).
import t from 'tap';
import { encodeAarq, encodeMdsCreateResult, encodePoll } from '../../../gateway/src/protocols/philips-intellivue/requests.js';
import { MOC } from '../../../gateway/src/protocols/philips-intellivue/nomenclature.js';
import { IntelliVueStreamDecoder } from '../../../gateway/src/protocols/philips-intellivue/stream-decoder.js';
import { IntelliVueMonitor } from './monitor.js';

/** The monitor's periodic wave replies, driven by hand (its poll timers are not used here). */
interface PollDriver {
  polls: Map<number, unknown>;
  reply(objType: number, poll: unknown): void;
}

function waveCounts(gapMs: number): number[] {
  let now = 1_800_000_000_000;
  const mon = new IntelliVueMonitor({ seed: 1, model: 'MP70', now: () => now });
  let dec = new IntelliVueStreamDecoder({ framing: 'lan' });
  const waves = [0, 0];
  let assoc = 0;
  mon.on('send', (m: Buffer) => {
    for (const o of dec.push(m, now)) if (o.kind === 'wave') waves[assoc]!++;
  });
  const wavePoll = (inv: number) => encodePoll({ invokeId: inv, pollNumber: inv, objType: MOC.VMO_METRIC_SA_RT, durationTicks: 30 * 8000 });
  mon.receive(encodeAarq());
  mon.receive(encodeMdsCreateResult(1));
  mon.receive(wavePoll(2)); // a reply for the current period at once
  now += gapMs;
  assoc = 1;
  dec = new IntelliVueStreamDecoder({ framing: 'lan' }); // a fresh gateway driver, as after a reopen
  mon.receive(encodeAarq());
  mon.receive(encodeMdsCreateResult(1));
  mon.receive(wavePoll(3));
  const drv = mon as unknown as PollDriver;
  for (let i = 0; i < 8; i++) {
    now += 256;
    drv.polls.forEach((p) => drv.reply(MOC.VMO_METRIC_SA_RT, p));
  }
  mon.close();
  return waves;
}

t.test('waves decode after a re-association inside the same wave period', async (t) => {
  const [first, quick] = waveCounts(10);
  t.ok(first > 0, `first association: ${first} waves decoded`);
  t.ok(quick > 0, `re-associated 10 ms later: ${quick} waves decoded from the next 8 replies`);
  const [, slow] = waveCounts(300);
  t.ok(slow > 0, `re-associated 300 ms later: ${slow} waves decoded`);
});
