import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HexlogRecorder, recordPaths, hexLine } from './hexlog-recorder.js';
import { run as decode, parseHexlog } from '../../../cli/decode.js';
import { mllpWrap } from '../protocols/hl7-mllp/mllp.js';
import { parseHl7 } from '../protocols/hl7-mllp/hl7.js';

t.test('writes header comments and RX/TX lines in order', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rec-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'sub', 'cap.hexlog');
  let now = Date.UTC(2026, 0, 1);
  const rec = new HexlogRecorder(file, { deviceId: 'mon1', protocol: 'ge-dri', gatewayId: 'gw1', link: 'tcp:x' }, { now: () => now });
  await rec.open();
  rec.tx(Uint8Array.from([0x7e, 0x01]));
  rec.rx(Buffer.from([0xaa]));
  now += 5000;
  rec.rx(Buffer.from([0x00, 0x10, 0xff]));
  rec.rx(new Uint8Array(0));
  rec.note('link closed\nby watchdog');
  await rec.close();
  await rec.close();
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  t.match(lines[0], /^# orlink hexlog/);
  t.ok(lines.includes('# device: mon1') && lines.includes('# protocol: ge-dri') && lines.includes('# gateway: gw1'));
  t.ok(lines.some((l) => l.startsWith('# gateway-time: 2026-01-01T00:00:00')));
  const data = lines.filter((l) => !l.startsWith('#'));
  t.same(data, ['TX 7e 01', 'RX aa', 'RX 00 10 ff']);
  t.equal(lines.filter((l) => l.startsWith('# t=')).length, 2, 'time marks when traffic resumes');
  t.match(lines.at(-1)!, /link closed by watchdog$/);
  t.same(rec.counters, { rxChunks: 2, txChunks: 1, bytes: 6, droppedLines: 0, writeErrors: 0, redactedSegments: 0 });
  t.notOk(
    lines.some((l) => l.startsWith('# phi:')),
    'no HL7: nothing said about redaction',
  );
  // every non-comment line is RX/TX + hex: what `orlink decode` auto-detects as a hexlog
  t.ok(data.every((l) => /^(RX|TX)( [0-9a-f]{2})+$/.test(l)));
});

t.test('flushes regularly without close', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rec-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'cap.hexlog');
  const rec = new HexlogRecorder(file, { deviceId: 'd', protocol: 'p' }, { flushMs: 20 });
  t.teardown(() => rec.close());
  await rec.open();
  rec.rx(Buffer.from([1]));
  const end = Date.now() + 5000;
  while (!fs.readFileSync(file, 'utf8').includes('RX 01') && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  t.match(fs.readFileSync(file, 'utf8'), 'RX 01');
});

t.test('paths per device', async (t) => {
  t.same([...recordPaths('/x/cap.hexlog', ['a'])], [['a', '/x/cap.hexlog']]);
  t.same(
    [...recordPaths('/x/cap.hexlog', ['a', 'b'])],
    [
      ['a', '/x/cap.a.hexlog'],
      ['b', '/x/cap.b.hexlog'],
    ],
  );
  t.same(
    [...recordPaths('/x/cap', ['a', 'b'])].map((e) => e[1]),
    ['/x/cap.a.hexlog', '/x/cap.b.hexlog'],
  );
  t.equal(hexLine('RX', Uint8Array.from([1])), 'RX 01\n');
});

const mode = (f: string) => fs.statSync(f).mode & 0o777;

for (const umask of [0, 0o277]) {
  t.test(`capture file 0600, directories it creates 0700, existing parents untouched (umask ${umask.toString(8)})`, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rec-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.chmodSync(dir, 0o755);
    const old = process.umask(umask); // 0: the most permissive; 0o277: strips the owner's own bits. Modes must be explicit.
    t.teardown(() => {
      process.umask(old);
    });
    const file = path.join(dir, 'a', 'b', 'cap.hexlog');
    const rec = new HexlogRecorder(file, { deviceId: 'd', protocol: 'ge-dri' });
    await rec.open();
    rec.rx(Buffer.from([1, 2]));
    await rec.close();
    t.equal(mode(file), 0o600, 'file 0600');
    t.equal(mode(path.join(dir, 'a')), 0o700, 'created dir 0700');
    t.equal(mode(path.join(dir, 'a', 'b')), 0o700, 'created dir 0700');
    t.equal(mode(dir), 0o755, 'the existing parent is not ours to change');
    // an existing capture with wide modes is tightened when appended to
    const wide = path.join(dir, 'wide.hexlog');
    fs.writeFileSync(wide, '# old\n');
    fs.chmodSync(wide, 0o644);
    const again = new HexlogRecorder(wide, { deviceId: 'd', protocol: 'ge-dri' });
    await again.open();
    await again.close();
    t.equal(mode(wide), 0o600);
  });
}

// a GE B40-style ORU^R01 with the patient segments a ward monitor sends
const ORU = (id: string, hr: number) =>
  [
    `MSH|^~\\&|B40^080019FFFE1443EC^EUI-64|GE|ORLINK||20261122083000+0100||ORU^R01^ORU_R01|${id}|P|2.6|||NE|AL`,
    'PID|1||MRN4711^^^HOSP^MR||Doe^John^^^^^L||19700101|M',
    'PV1|1|I|OR3^^BED1||||0815^House^Greg||||||||||||VN-123456',
    'NK1|1|Doe^Jane|SPO',
    'OBR|1|MSG0001^ORLINK||182777000^monitoring of patient^SCT|||20261122083000+0100',
    `OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.5.1.1|${hr}|264864^/min^MDC|||||R`,
    'OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.22.1.1|97|262688^%^MDC|||||R',
    'OBX|3|ST|184327^MDC_ATTR_MODE_OP^MDC|1.0.0.0|Monitoring||||||R',
  ].join('\r') + '\r';

async function decodeFile(file: string): Promise<{ out: string; summary: Record<string, unknown> }> {
  let out = '';
  let err = '';
  const code = await decode(['--protocol', 'hl7-mllp', '--input', file], {
    out: (l) => {
      out += l;
    },
    err: (l) => {
      err += l;
    },
  });
  if (code !== 0) throw new Error(`decode failed: ${err}`);
  return { out, summary: (JSON.parse(err) as { summary: Record<string, unknown> }).summary };
}

t.test('HL7 capture: PID/PV1/NK1 redacted even when split across chunks; decodes to the same observations', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rec-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const wire = Buffer.concat([mllpWrap(ORU('MSG0001', 68)), mllpWrap(ORU('MSG0002', 71))]);
  // the bytes as a socket might deliver them: cut inside the PID name, the MRN and the MLLP trailer
  const cuts = [
    0,
    wire.indexOf('Doe') + 1,
    wire.indexOf('MRN') + 2,
    wire.indexOf('0815') + 2,
    wire.indexOf(0x1c) + 1,
    wire.lastIndexOf('Joh') + 2,
    wire.length,
  ].sort((x, y) => x - y);
  const chunks = cuts.slice(1).map((end, i) => wire.subarray(cuts[i], end));
  t.ok(Buffer.concat(chunks).equals(wire) && chunks.length === 6);
  const record = async (file: string, keepPhi: boolean) => {
    const rec = new HexlogRecorder(file, { deviceId: 'b40', protocol: 'hl7-mllp' }, { keepPhi });
    await rec.open();
    for (const c of chunks) rec.rx(c);
    rec.tx(mllpWrap('MSH|^~\\&|ORLINK||B40||20261122083000||ACK^R01|A1|P|2.6\rMSA|AA|MSG0001\r'));
    await rec.close();
    return rec;
  };
  const redacted = path.join(dir, 'redacted.hexlog');
  const clear = path.join(dir, 'lab.hexlog');
  const rec = await record(redacted, false);
  await record(clear, true);

  const text = fs.readFileSync(redacted, 'utf8');
  const bytes = Buffer.concat(
    parseHexlog(text)
      .chunks.filter((c) => c.dir === 'RX')
      .map((c) => c.bytes),
  );
  for (const phi of ['Doe', 'John', 'Jane', 'MRN4711', '19700101', 'House', 'VN-123456']) {
    t.notOk(bytes.includes(phi), `'${phi}' not in the recorded bytes`);
    t.notOk(
      text.includes(
        Buffer.from(phi)
          .toString('hex')
          .replace(/(..)(?!$)/g, '$1 '),
      ),
      `'${phi}' not in the file as hex`,
    );
  }
  t.match(bytes.toString(), 'PID|REDACTED||REDACTED||REDACTED||REDACTED|REDACTED\r', 'PID-3 and PID-5 replaced, field count kept');
  t.match(bytes.toString(), 'PV1|1|I|OR3^^BED1||||REDACTED|');
  t.match(text, /^# phi: redacted/m);
  t.equal(rec.counters.redactedSegments, 6, 'PID, PV1, NK1 of both messages');
  // same segments and field count; every segment other than PID/PV1/NK1 byte for byte
  const shape = (b: Buffer) =>
    b
      .toString()
      .split(/[\x0b\x1c]/)
      .filter((m) => m.startsWith('MSH'))
      .map((m) => parseHl7(m).segments);
  const got = shape(bytes);
  const want = shape(wire);
  t.same(
    got.map((m) => m.map((seg) => `${seg.id}:${seg.fields.length}`)),
    want.map((m) => m.map((seg) => `${seg.id}:${seg.fields.length}`)),
  );
  t.same(
    got.map((m) => m.filter((seg) => !['PID', 'PV1', 'NK1'].includes(seg.id))),
    want.map((m) => m.filter((seg) => !['PID', 'PV1', 'NK1'].includes(seg.id))),
  );
  t.equal(mode(redacted), 0o600);
  t.match(fs.readFileSync(clear, 'utf8'), /^# phi: KEPT/m, 'the lab capture says it holds patient data');
  t.ok(Buffer.concat(parseHexlog(fs.readFileSync(clear, 'utf8')).chunks.map((c) => c.bytes)).includes('Doe^John'), 'opt-out keeps the bytes');

  const a = await decodeFile(redacted);
  const b = await decodeFile(clear);
  t.ok(a.out.split('\n').filter(Boolean).length >= 6, 'observations decoded from the redacted capture');
  t.equal(a.out, b.out, 'same NDJSON observations as the unredacted capture');
  t.same(a.summary.errors, b.summary.errors);
  t.same(a.summary.errors, {});
  t.equal(a.summary.frames, 2);
});
