import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HexlogRecorder, recordPaths, hexLine } from './hexlog-recorder.js';

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
  t.same(rec.counters, { rxChunks: 2, txChunks: 1, bytes: 6, droppedLines: 0, writeErrors: 0 });
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
  t.same([...recordPaths('/x/cap.hexlog', ['a', 'b'])], [['a', '/x/cap.a.hexlog'], ['b', '/x/cap.b.hexlog']]);
  t.same([...recordPaths('/x/cap', ['a', 'b'])].map((e) => e[1]), ['/x/cap.a.hexlog', '/x/cap.b.hexlog']);
  t.equal(hexLine('RX', Uint8Array.from([1])), 'RX 01\n');
});
