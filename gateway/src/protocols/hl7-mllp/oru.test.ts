/** OBX-5 numbers that overflow a double (regression from test/fuzz: `1e400` was published as ±Infinity). */
import t from 'tap';
import type { NumericObs } from '../../../../schemas/src/observation.js';
import { mllpWrap } from './mllp.js';
import { Hl7StreamDecoder } from './stream-decoder.js';

t.test('an OBX-5 that overflows to Infinity is a bad value: null + invalid, counted', async (t) => {
  // the minimised fuzz crasher (test/fuzz), then the same with a 400-digit number and a finite control
  const hr = (id: string, v: string): string => `MSH|^~\\&|||||||ORU^R01|${id}|P|2.3.1|\rOBX||NM|101^HR|2000|${v}||||||F`;
  const msgs = ['MSH|^\\&|||||||ORU^R01|2||2.3\rOBX|||2||1e400', hr('204', '-' + '9'.repeat(400)), hr('205', '1e400'), hr('206', '72')];
  const d = new Hl7StreamDecoder({ profileId: 'hl7/mindray/pds' });
  const obs = msgs.flatMap((m) => d.push(mllpWrap(m), 1_790_000_000_000)).filter((o): o is NumericObs => o.kind === 'numeric');
  t.same(
    obs.map((o) => [o.mdc, o.value, o.flags ?? []]),
    [
      [null, null, ['invalid', 'unmapped']],
      ['MDC_ECG_HEART_RATE', null, ['invalid']],
      ['MDC_ECG_HEART_RATE', null, ['invalid']],
      ['MDC_ECG_HEART_RATE', 72, []],
    ],
  );
  t.ok(
    obs.every((o) => o.value === null || Number.isFinite(o.value)),
    'never ±Infinity',
  );
  t.equal(d.stats().errors['bad-value'], 3, 'each counted as a bad value');
});
