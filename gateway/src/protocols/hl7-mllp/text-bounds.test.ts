/**
 * Free text from the wire is bounded before it enters an envelope: OBX string values (settings),
 * MDIL alert texts, labels and unknown unit text are cut and counted `text-truncated`; an
 * over-long code drops its OBX (`code-too-long`); message-type counts cannot grow without bound.
 */
import t from 'tap';
import type { AlarmObs, NumericObs, Observation, SettingObs } from '../../../../schemas/src/observation.js';
import { mllpWrap } from './mllp.js';
import { MAX_CODE_CHARS, MAX_TEXT_CHARS, MAX_UNIT_CHARS, boundText } from './oru.js';
import { Hl7StreamDecoder } from './stream-decoder.js';

const T0 = Date.UTC(2026, 10, 22, 8, 30);
const msh = (id: string, type = 'ORU^R01^ORU_R01') => `MSH|^~\\&|GEN|FAC|||20261122083000+0000||${type}|${id}|P|2.6|||NE|AL`;
const long = (c: string, n: number) => c.repeat(n);

t.test('string values, alert texts, labels and unknown units are cut and counted; short ones untouched', async (t) => {
  const text =
    [
      msh('M1'),
      'PV1||I|OR3^^BED1',
      'OBR|1|||182777000^monitoring^SCT|||20261122083000+0000',
      `OBX|1|ST|184327^MDC_ATTR_MODE_OP^MDC|1.0.0.0|${long('x', 5000)}||||||R`,
      'OBX|2|ST|184328^MDC_ATTR_OTHER^MDC|1.0.0.0|Monitoring||||||R',
      `OBX|3|NM|147842^${long('L', 1000)}^MDC|1.5.1.1|68|264864^/min^MDC|||||R`,
      `OBX|4|NM|150456^SpO2^MDC|1.22.1.1|97|999999^${long('u', 300)}^LOCAL|||||R`,
      `OBX|5|TX|0002-1234^Red Alarm^MDIL-ALERT||${long('A', 1000)}||||||R`,
      `OBX|6|TX|0002-1235^${long('Y', 400)}^MDIL-ALERT||||||||R`,
    ].join('\r') + '\r';
  const d = new Hl7StreamDecoder();
  const obs: Observation[] = d.push(mllpWrap(text), T0);
  const set = obs.filter((o): o is SettingObs => o.kind === 'setting');
  const num = obs.filter((o): o is NumericObs => o.kind === 'numeric');
  const alarms = obs.filter((o): o is AlarmObs => o.kind === 'alarm');
  t.equal(set[0].value, long('x', MAX_TEXT_CHARS), 'setting value cut at 256');
  t.equal(set[1].value, 'Monitoring', 'a short value untouched');
  t.equal(num[0].label, long('L', MAX_TEXT_CHARS), 'label cut');
  t.equal(num[0].value, 68, 'the value itself is unaffected');
  t.equal(num[1].unit, `{${long('u', MAX_UNIT_CHARS)}}`, 'unknown unit text cut at 64');
  t.equal(alarms[0].text, long('A', MAX_TEXT_CHARS), 'alert text cut');
  t.equal(alarms[1].text, long('Y', MAX_TEXT_CHARS), 'alert label used as text, cut');
  t.equal(d.stats().errors['text-truncated'], 5);
  for (const o of obs) t.ok(JSON.stringify(o).length < 1200, `${o.kind} bounded`);
  t.match(d.takeForSession()[0].toString(), /MSA\|AA\|M1/, 'still acknowledged AA');
});

t.test('an over-long code drops its OBX (never cut: two codes would merge); the others decode', async (t) => {
  const text =
    [
      msh('M2'),
      'PV1||I|OR3^^BED1',
      `OBX|1|NM|${long('9', MAX_CODE_CHARS + 1)}^HR^99VENDOR|1.5.1.1|68||||||R`,
      `OBX|2|NM|147842^HR^MDC|1.5.${long('7', 200)}.1|70|264864^/min^MDC|||||R`,
      `OBX|3|TX|${long('F', 300)}^Red Alarm^MDIL-ALERT||Asystole||||||R`,
      'OBX|4|NM|147842^HR^MDC|1.5.1.1|71|264864^/min^MDC|||||R',
    ].join('\r') + '\r';
  const d = new Hl7StreamDecoder();
  const obs = d.push(mllpWrap(text), T0);
  t.same(
    obs.map((o) => (o as NumericObs).value),
    [71],
  );
  t.equal(d.stats().errors['code-too-long'], 3);
});

t.test('message-type counts hold at most 32 kinds of ≤ 16 chars; protocol level bounded', async (t) => {
  const d = new Hl7StreamDecoder();
  for (let i = 0; i < 100; i++) d.push(mllpWrap(`${msh(`Q${i}`, `Z${i}^${long('q', i % 3 ? 5 : 40)}`)}\r`), T0);
  const counts = d.recordCounts();
  t.ok(Object.keys(counts).length <= 33, `${Object.keys(counts).length} keys`);
  t.ok(Object.keys(counts).every((k) => k.length <= 16));
  t.equal(
    Object.values(counts).reduce((a, b) => a + b, 0),
    100,
    'every message still counted',
  );
  const e = new Hl7StreamDecoder();
  e.push(
    mllpWrap(
      [`MSH|^~\\&|GEN|FAC|||20261122083000+0000||ORU^R01|V1|P|2.${long('5', 500)}`, 'OBX|1|NM|147842^HR^MDC|1.5.1.1|71|264864^/min^MDC|||||R'].join('\r') +
        '\r',
    ),
    T0,
  );
  t.ok((e.identity()?.protocolLevel ?? '').length <= 16);
});

t.test('boundText never splits a surrogate pair', async (t) => {
  const errs: string[] = [];
  const s = `${'a'.repeat(9)}😀😀`;
  t.equal(boundText(s, 10, errs), 'a'.repeat(9));
  t.equal(boundText(s, 11, errs), `${'a'.repeat(9)}😀`);
  t.equal(boundText('short', 10, errs), 'short');
  t.same(errs, ['text-truncated', 'text-truncated']);
});
