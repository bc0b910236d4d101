import t from 'tap';
import { pyAck } from '../../../../test/helpers/python-hl7.js';
import { ackCode, buildAck } from './ack.js';
import { comp, comps, escapeHl7, parseHl7, unescapeHl7, Hl7ParseError, DEFAULT_SEPS } from './hl7.js';
import { checkTimeZone, formatHl7Time, parseHl7Time } from './hl7-time.js';

const GE =
  'MSH|^~\\&|B40^080019FFFE1443EC^EUI-64|GE|||20261122013855+0100||ORU^R01^ORU_R01|MSG0001|P|2.6|||NE|AL||UNICODE UTF-8|||PCD_DEC_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO\r' +
  'PV1||I|OR3^^BED1\rOBR|1|||182777000^monitoring of patient^SCT|||20261122013850+0100\r' +
  'OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.22.1.1|97|262688^MDC_DIM_PERCENT^MDC|||||R|||||||080019FFFE1443EC^B40_GE\r';

t.test('separators from MSH, HL7 field numbering, components', async (t) => {
  const m = parseHl7(GE);
  t.equal(m.segments.length, 4);
  const msh = m.segments[0];
  t.equal(comp(m, msh, 1), '|');
  t.equal(comp(m, msh, 2), '^~\\&');
  t.equal(comp(m, msh, 3), 'B40');
  t.equal(comp(m, msh, 3, 2), '080019FFFE1443EC');
  t.equal(comp(m, msh, 10), 'MSG0001');
  t.equal(comp(m, msh, 12), '2.6');
  t.equal(comp(m, msh, 15), 'NE');
  const obx = m.segments[3];
  t.same(comps(m, obx, 3), ['150456', 'MDC_PULS_OXIM_SAT_O2', 'MDC']);
  t.equal(comp(m, obx, 5), '97');
  t.equal(comp(m, obx, 18, 2), 'B40_GE');
});

t.test('other separators, LF / CRLF terminators, junk before MSH', async (t) => {
  const alt = '\u2028\ufeffMSH#$*@%#A$1##\r\nOBX#1#NM#1$x$MDC##4*5\nPID#\r';
  const m = parseHl7(alt);
  t.equal(m.seps.field, '#');
  t.equal(m.seps.component, '$');
  t.equal(m.seps.repetition, '*');
  t.equal(m.seps.escape, '@');
  t.equal(m.seps.subcomponent, '%');
  t.equal(m.skipped, 2);
  t.same(
    m.segments.map((s) => s.id),
    ['MSH', 'OBX', 'PID'],
  );
  t.equal(comp(m, m.segments[1], 5), '4', 'first repetition');
  t.equal(comp(m, m.segments[0], 3, 2), '1');
});

t.test('escape sequences round trip', async (t) => {
  const s = 'a|b^c&d~e\\f\rg';
  const e = escapeHl7(s, DEFAULT_SEPS);
  t.equal(e, 'a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\.br\\g');
  t.equal(unescapeHl7(e, DEFAULT_SEPS), 'a|b^c&d~e\\f\ng');
  t.equal(unescapeHl7('\\X4142\\C\\H\\bold\\N\\', DEFAULT_SEPS), 'ABCbold');
  const m = parseHl7('MSH|^~\\&|A\\S\\B|||||||ORU^R01|1|P|2.6\r');
  t.equal(comp(m, m.segments[0], 3), 'A^B');
});

t.test('malformed messages throw coded parse errors', async (t) => {
  for (const [text, kind] of [
    ['hello', 'no-msh'],
    ['MSH', 'bad-msh'],
    ['MSH|AB|x|y|z', 'bad-msh'],
    ['MSH|^~\\&|A\rob x|1\r', 'bad-segment'],
  ] as const) {
    const err = t.throws(() => parseHl7(text)) as unknown;
    t.ok(err instanceof Hl7ParseError && err.kind === kind, `${JSON.stringify(text)} → ${kind}`);
  }
});

t.test('HL7 time: stated offset wins, else the profile zone', async (t) => {
  t.equal(parseHl7Time('20261122013855+0100'), Date.UTC(2026, 10, 22, 0, 38, 55));
  t.equal(parseHl7Time('20261122013855.25-0230'), Date.UTC(2026, 10, 22, 4, 8, 55, 250));
  t.equal(parseHl7Time('20261122013855'), Date.UTC(2026, 10, 22, 1, 38, 55));
  t.equal(parseHl7Time('20261122013855', '+0200'), Date.UTC(2026, 10, 21, 23, 38, 55));
  t.equal(parseHl7Time('20260715120000', 'Europe/Berlin'), Date.UTC(2026, 6, 15, 10), 'CEST');
  t.equal(parseHl7Time('20261215120000', 'Europe/Berlin'), Date.UTC(2026, 11, 15, 11), 'CET');
  t.equal(parseHl7Time('202611'), Date.UTC(2026, 10, 1));
  t.equal(parseHl7Time('2026x'), undefined);
  t.equal(formatHl7Time(Date.UTC(2026, 10, 22, 0, 38, 55)), '20261122003855+0000');
  t.equal(formatHl7Time(Date.UTC(2026, 10, 22, 0, 38, 55, 7), '+0100', true), '20261122013855.007+0100');
  t.throws(() => checkTimeZone('Mars/Olympus'));
  t.doesNotThrow(() => checkTimeZone('-0500'));
});

t.test('ACK policy: original / enhanced / none / auto from MSH-15/16', async (t) => {
  const m = parseHl7(GE); // NE|AL
  t.equal(ackCode('original', m, 'ok'), 'AA');
  t.equal(ackCode('original', m, 'reject'), 'AR');
  t.equal(ackCode('enhanced', m, 'error'), 'CE');
  t.equal(ackCode('none', m, 'ok'), undefined);
  t.equal(ackCode('auto', m, 'ok'), 'AA', 'NE|AL → application ACK');
  const mr = parseHl7('MSH|^~\\&|MINDRAY||||||ORU^R01|7|P|2.6|||AL|NE\r');
  t.equal(ackCode('auto', mr, 'ok'), 'CA', 'AL|NE → accept ACK');
  const plain = parseHl7('MSH|^~\\&|X||||||ORU^R01|7|P|2.3.1\r');
  t.equal(ackCode('auto', plain, 'ok'), 'AA', 'empty MSH-15/16 → original mode');
  const never = parseHl7('MSH|^~\\&|X||||||ORU^R01|7|P|2.6|||NE|NE\r');
  t.equal(ackCode('auto', never, 'ok'), undefined);
  t.equal(ackCode('auto', undefined, 'reject'), 'AR', 'unparseable → original-mode reject');
});

/** [MSH-9, MSA-1, MSA-2, MSA-3] as python3-hl7 reads the ACK */
function pythonParse(text: string): string[] {
  const a = pyAck(text);
  return [a.type, a.code, a.controlId, a.text];
}

t.test('ACKs and NAKs parse with python3-hl7 (independent check)', async (t) => {
  const m = parseHl7(GE);
  const aa = buildAck(m, 'AA', { nowMs: Date.UTC(2026, 10, 22), controlId: 'A1' });
  t.same(pythonParse(aa), ['ACK^R01^ACK', 'AA', 'MSG0001', '']);
  t.match(aa, /^MSH\|\^~\\&\|ORLINK\|\|B40\^080019FFFE1443EC\^EUI-64\|GE\|20261122000000\+0000\|\|ACK\^R01\^ACK\|A1\|P\|2\.6\r/);
  const ae = buildAck(m, 'AE', { nowMs: 0, controlId: 'A2', text: 'bad value | in OBX-5' });
  const p = pythonParse(ae);
  t.same(p.slice(1, 3), ['AE', 'MSG0001']);
  t.equal(p[3], 'bad value \\F\\ in OBX-5', 'separator in the text escaped (python keeps escapes)');
  t.match(ae, /\rERR\|\|\|207\^Application internal error\^HL70357\|E\|\|\|\|bad value/);
  const ar = buildAck(undefined, 'AR', { nowMs: 0, controlId: 'A3', text: 'message rejected: no MSH segment' });
  t.same(pythonParse(ar).slice(0, 3), ['ACK', 'AR', '']);
});
