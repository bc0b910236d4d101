import t from 'tap';
import { parseHl7 } from '../protocols/hl7-mllp/hl7.js';
import { mllpWrap } from '../protocols/hl7-mllp/mllp.js';
import { Hl7Redactor, REDACTED_MARKER } from './hl7-redactor.js';

const PHI = ['Doe', 'John', 'MRN4711', 'ACC-99', 'Smith', 'Anna', '19700101', 'Main St', 'Dr. House', 'VN-123456', 'POLICY-77', 'Jane', '555-0100'];

const MSG =
  [
    'MSH|^~\\&|B40^080019FFFE1443EC^EUI-64|GE|ORLINK||20261122083000+0100||ORU^R01^ORU_R01|MSG0001|P|2.6|||NE|AL',
    'PID|1||MRN4711^^^HOSP^MR~ACC-99^^^HOSP^AN||Doe^John^Q^^^^L|Smith^Anna|19700101|M|||1 Main St^^Town||555-0100',
    'PD1|||Town Practice',
    'NK1|1|Doe^Jane|SPO|1 Main St',
    'PV1|1|I|OR3^^BED1||||0815^Dr. House^Greg|||||||||||||VN-123456',
    'GT1|1||Doe^John',
    'IN1|1|POLICY-77|INS1|Insurer',
    'OBR|1|MSG0001^ORLINK||182777000^monitoring of patient^SCT|||20261122083000+0100',
    'OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.5.1.1|68|264864^/min^MDC|||||R',
    'OBX|2|ST|184327^MDC_ATTR_MODE_OP^MDC|1.0.0.0|Monitoring||||||R',
  ].join('\r') + '\r';

function redactAll(chunks: Uint8Array[]): Buffer {
  const r = new Hl7Redactor();
  return Buffer.concat([...chunks.map((c) => r.push(c)), r.end()]);
}

const fieldCounts = (text: string) => parseHl7(text).segments.map((s) => `${s.id}:${s.fields.length}`);

t.test('patient segments redacted, structure kept, everything else byte for byte', async (t) => {
  const r = new Hl7Redactor();
  const out = Buffer.concat([r.push(Buffer.from(MSG)), r.end()]).toString('latin1');
  for (const p of PHI) t.notOk(out.includes(p), `'${p}' gone`);
  t.same(fieldCounts(out), fieldCounts(MSG), 'same segments, same field count each');
  const lines = out.split('\r');
  t.equal(
    lines[1],
    `PID|${REDACTED_MARKER}||${REDACTED_MARKER}||${REDACTED_MARKER}|${REDACTED_MARKER}|${REDACTED_MARKER}|${REDACTED_MARKER}|||${REDACTED_MARKER}||${REDACTED_MARKER}`,
    'each non-empty field → one marker (no length, no components), empty fields stay empty',
  );
  t.match(lines[4], /^PV1\|1\|I\|OR3\^\^BED1\|\|\|\|REDACTED\|/, 'PV1-1..3 kept (the bed filter reads PV1-3), the doctor redacted');
  const orig = MSG.split('\r');
  for (const i of [0, 7, 8, 9]) t.equal(lines[i], orig[i], `${orig[i].slice(0, 3)} untouched`);
  t.same(r.stats, { segments: 6, fields: 21 }, 'PID 8 + PD1 1 + NK1 4 + PV1 2 + GT1 2 + IN1 4 fields');
});

t.test('the same bytes whatever the chunking: split at every offset, MLLP framed, several messages', async (t) => {
  const wire = Buffer.concat([mllpWrap(MSG), Buffer.from('\r\n'), mllpWrap(MSG.replace('MSG0001', 'MSG0002'))]);
  const whole = redactAll([wire]);
  for (const p of PHI) t.notOk(whole.includes(p), `'${p}' gone`);
  let same = 0;
  for (let i = 1; i < wire.length; i++) if (redactAll([wire.subarray(0, i), wire.subarray(i)]).equals(whole)) same++;
  t.equal(same, wire.length - 1, 'every two-piece split gives the same output');
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let k = 0; k < 50; k++) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < wire.length;) {
      const n = 1 + Math.floor(rnd() * 40);
      chunks.push(wire.subarray(i, i + n));
      i += n;
    }
    if (!redactAll(chunks).equals(whole)) {
      t.fail(`random chunking ${k} differs`);
      return;
    }
  }
  t.pass('50 random chunkings give the same output');
  t.equal(whole.filter((b) => b === 0x0b).length, 2, 'MLLP start bytes kept');
});

t.test('other separators, junk before the id, text outside MLLP blocks, UTF-8 names', async (t) => {
  const hashSep = 'MSH#^~\\&#APP#FAC#####ORU^R01#1#P#2.5\rPID#1##MRN4711##Doe^John\rOBX#1#NM#147842^HR^MDC##70\r';
  const out = redactAll([Buffer.from(hashSep)]).toString();
  t.notMatch(out, /MRN4711|Doe|John/);
  t.match(out, `PID#${REDACTED_MARKER}##${REDACTED_MARKER}##${REDACTED_MARKER}\r`);
  t.match(out, 'OBX#1#NM#147842^HR^MDC##70');

  const junk = Buffer.concat([Buffer.from('\u2028PID|1||MRN4711||Doe^John\r', 'utf8'), Buffer.from('garbage PID|1||MRN4711||Doe^John\r')]);
  const j = redactAll([junk]).toString();
  t.notMatch(j, /MRN4711|Doe/, 'stray bytes before the segment id do not hide it (in or outside a block)');

  const utf8 = Buffer.from('MSH|^~\\&|A|B|||||ORU^R01|1|P|2.6\rPID|1||中文4711||李^小龙|\rPV1|1|I|病房3^^床1|||||王医生\r', 'utf8');
  const u = redactAll([utf8]);
  const text = u.toString('utf8');
  t.notMatch(text, /中文|李|小龙|王医生/);
  t.match(text, 'PV1|1|I|病房3^^床1|||||REDACTED', 'multi-byte text in kept fields intact');
  t.same(fieldCounts(text), fieldCounts(utf8.toString('utf8')));

  // a segment longer than the head buffer before its separator: passed through, nothing lost
  const long = `ZZZ${'x'.repeat(200)}|a\rPID|1||MRN4711\r`;
  t.equal(redactAll([Buffer.from(long)]).toString(), `ZZZ${'x'.repeat(200)}|a\rPID|REDACTED||REDACTED\r`);
  // an unfinished head at the end of a capture holds no field content and is written as is
  const r = new Hl7Redactor();
  t.equal(r.push(Buffer.from('OBX|1\rPI')).toString(), 'OBX|1\r');
  t.equal(r.end().toString(), 'PI');
});
