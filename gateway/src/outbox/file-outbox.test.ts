import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FileOutbox } from './file-outbox.js';
import { outboxSuite } from './outbox.suite.js';
import { HEADER_BYTES } from './record-codec.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function tmp(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outbox-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
const segFiles = (dir: string) =>
  fs
    .readdirSync(dir)
    .filter((f) => f.startsWith('seg-'))
    .sort();

t.test('abstract suite', async (t) => {
  const base = tmp(t);
  outboxSuite(t, (o) => new FileOutbox({ dir: fs.mkdtempSync(path.join(base, 'ob-')), ...o }));
});

t.test('reopen resends only unacked records and continues the seq', async (t) => {
  const dir = tmp(t);
  const a = new FileOutbox({ dir, maxBytes: 1 << 20, segmentBytes: 4096 });
  await a.open();
  const seqs: number[] = [];
  for (let i = 0; i < 50; i++) seqs.push(await a.append(enc(`rec-${i}`), { readings: i }));
  for (const s of seqs.slice(0, 20)) a.ack(s);
  a.ack(seqs[30]); // out of order: may be resent after restart (at-least-once), never lost
  await a.close();
  const b = new FileOutbox({ dir, maxBytes: 1 << 20, segmentBytes: 4096 });
  await b.open();
  t.teardown(() => b.close());
  const recs = await b.peek(0, 100);
  t.same(
    recs.map((r) => r.seq),
    seqs.slice(20),
    'unacked from the watermark on',
  );
  t.equal(dec(recs[0].payload), 'rec-20');
  t.equal(recs[5].readings, 25);
  t.equal(await b.append(enc('next')), seqs.at(-1)! + 1);
});

t.test('fully acked segments are deleted', async (t) => {
  const dir = tmp(t);
  const ob = new FileOutbox({ dir, maxBytes: 1 << 20, segmentBytes: 1024 });
  await ob.open();
  t.teardown(() => ob.close());
  const seqs: number[] = [];
  for (let i = 0; i < 60; i++) seqs.push(await ob.append(new Uint8Array(100)));
  const before = segFiles(dir).length;
  t.ok(before >= 5, `${before} segments`);
  for (const s of seqs) ob.ack(s);
  t.equal(segFiles(dir).length, 1, 'only the active segment is left');
});

t.test('torn last record: truncated at every byte offset, never replayed as garbage', async (t) => {
  const dir = tmp(t);
  const ob = new FileOutbox({ dir, maxBytes: 1 << 20, segmentBytes: 1 << 16 });
  await ob.open();
  for (let i = 0; i < 3; i++) await ob.append(enc(`good-${i}`));
  const lastPayload = enc('the-last-record-payload');
  await ob.append(lastPayload);
  await ob.close();
  const file = path.join(dir, segFiles(dir)[0]);
  const full = fs.readFileSync(file);
  const lastLen = HEADER_BYTES + lastPayload.length;
  const cut0 = full.length - lastLen;
  for (let cut = cut0; cut < full.length; cut++) {
    fs.writeFileSync(file, full.subarray(0, cut));
    for (const f of segFiles(dir)) if (path.join(dir, f) !== file) fs.rmSync(path.join(dir, f));
    const re = new FileOutbox({ dir, maxBytes: 1 << 20, segmentBytes: 1 << 16 });
    await re.open();
    const recs = await re.peek(0, 100);
    const ok = recs.length === 3 && recs.every((r, i) => dec(r.payload) === `good-${i}`);
    if (!ok) t.fail(`cut at ${cut}: ${recs.map((r) => dec(r.payload))}`);
    if (fs.statSync(file).size !== cut0) t.fail(`cut at ${cut}: file not truncated`);
    if (re.stats.truncatedBytes !== cut - cut0) t.fail(`cut at ${cut}: truncatedBytes ${re.stats.truncatedBytes}`);
    const next = await re.append(enc('after'));
    if (next !== 4) t.fail(`cut at ${cut}: next seq ${next}`);
    await re.close();
  }
  t.pass(`${full.length - cut0} offsets checked`);
});

t.test('a flipped bit in a record is detected by the CRC', async (t) => {
  const dir = tmp(t);
  const ob = new FileOutbox({ dir, maxBytes: 1 << 20, segmentBytes: 1 << 16 });
  await ob.open();
  for (let i = 0; i < 4; i++) await ob.append(enc(`rec-${i}`));
  await ob.close();
  const file = path.join(dir, segFiles(dir)[0]);
  const buf = fs.readFileSync(file);
  const recLen = HEADER_BYTES + 5;
  buf[2 * recLen + HEADER_BYTES + 1] ^= 0x01; // payload of the third record
  fs.writeFileSync(file, buf);
  const re = new FileOutbox({ dir, maxBytes: 1 << 20, segmentBytes: 1 << 16 });
  await re.open();
  t.teardown(() => re.close());
  t.same(
    (await re.peek(0, 10)).map((r) => dec(r.payload)),
    ['rec-0', 'rec-1'],
  );
  t.equal(re.stats.corruptSegments, 1);
  t.equal(re.stats.truncatedBytes, 2 * recLen);
});

t.test('kill -9 while appending: every record reported durable survives, no garbage', async (t) => {
  const dir = tmp(t);
  const child = fork(path.join(here, 'testdata', 'append-loop.ts'), [dir], {
    execArgv: ['--import=tsx'],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const durable: number[] = [];
  let buf = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('child produced too few records')), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) if (l) durable.push(Number(l));
      if (durable.length >= 300) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      reject(new Error('child exited early'));
    });
  });
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  const ob = new FileOutbox({ dir, maxBytes: 1 << 26, segmentBytes: 1 << 16 });
  await ob.open();
  t.teardown(() => ob.close());
  const recs = await ob.peek(0, 1_000_000);
  const have = new Map(recs.map((r) => [r.seq, dec(r.payload)]));
  const missing = durable.filter((s) => have.get(s) !== `payload-${s}-`.padEnd(100, 'x'));
  t.same(missing, [], `${durable.length} durable records all present and intact`);
  t.ok(
    recs.every((r) => dec(r.payload) === `payload-${r.seq}-`.padEnd(100, 'x')),
    'no garbage replayed',
  );
  const seqs = recs.map((r) => r.seq);
  t.same(
    seqs,
    [...seqs].sort((a, b) => a - b),
    'in order',
  );
});

for (const umask of [0, 0o277]) {
  t.test(`owner-only on disk whatever the umask (${umask.toString(8)}): dirs 0700, segments and ack 0600; an old wide outbox tightened`, async (t) => {
    const base = tmp(t);
    fs.chmodSync(base, 0o755);
    const old = process.umask(umask);
    t.teardown(() => {
      process.umask(old);
    });
    const mode = (f: string) => fs.statSync(f).mode & 0o777;
    const dir = path.join(base, 'var', 'outbox');
    const ob = new FileOutbox({ dir, maxBytes: 1 << 20, segmentBytes: 1024, ackPersistMs: 1 });
    await ob.open();
    const seqs: number[] = [];
    for (let i = 0; i < 40; i++) seqs.push(await ob.append(enc(`reading-${i}`.padEnd(60, '.'))));
    ob.ack(seqs[0]);
    await ob.close();
    t.equal(mode(path.join(base, 'var')), 0o700, 'created parent 0700');
    t.equal(mode(dir), 0o700, 'outbox dir 0700');
    t.equal(mode(base), 0o755, 'an existing parent is left alone');
    const files = fs.readdirSync(dir);
    t.ok(segFiles(dir).length >= 2 && files.includes('ack'), `segments and ack written (${files.join(', ')})`);
    for (const f of files) t.equal(mode(path.join(dir, f)), 0o600, `${f} 0600`);

    // an outbox left by an older version with 0755/0644
    fs.chmodSync(dir, 0o755);
    for (const f of files) fs.chmodSync(path.join(dir, f), 0o644);
    const again = new FileOutbox({ dir, maxBytes: 1 << 20, segmentBytes: 1024 });
    await again.open();
    await again.close();
    t.equal(mode(dir), 0o700, 'dir tightened on open');
    for (const f of segFiles(dir)) t.equal(mode(path.join(dir, f)), 0o600, `${f} tightened on open`);
  });
}
