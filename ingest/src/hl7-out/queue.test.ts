import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { openDb, type Db } from '../registry/database.js';
import { OutboundQueue, QueueFullError, type NewMessage } from './queue.js';
import { EndpointSender } from './sender.js';
import { TestEmr } from './test-emr.js';

const logger = pino({ level: 'silent' });

function tempDb(t: { teardown(fn: () => void): void }): { file: string; open: () => Db } {
  const dir = mkdtempSync(join(tmpdir(), 'orlink-hl7q-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'ingest.sqlite');
  return { file, open: () => openDb(file) };
}

const msg = (n: number, endpoint = 'emr'): NewMessage => ({
  endpoint,
  kind: 'pcd01',
  caseId: 'c1',
  window: { from: n * 1000, to: (n + 1) * 1000 },
  build: (id) => `MSH|^~\\&|ORLINK||||20261208010000+0000||ORU^R01^ORU_R01|${id}|P|2.6\rOBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.0.0.1|${n}\r`,
});

function sender(q: OutboundQueue, port: number, o: Partial<{ ackTimeoutMs: number; maxAttempts: number }> = {}): EndpointSender {
  return new EndpointSender({
    name: 'emr',
    queue: q,
    logger,
    idlePollMs: 20,
    retryMinMs: 10,
    retryMaxMs: 40,
    ackTimeoutMs: o.ackTimeoutMs ?? 2000,
    maxAttempts: o.maxAttempts ?? 3,
    target: { host: '127.0.0.1', port, connectTimeoutMs: 500 },
  });
}

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('in order, one at a time; AA deletes the row and records the ACK', async (t) => {
  const db = openDb(':memory:');
  const q = new OutboundQueue(db, 1 << 20);
  const emr = new TestEmr();
  await emr.start(0);
  t.teardown(() => emr.stop());
  const ids = q.enqueue([msg(1), msg(2), msg(3)]).map((m) => m.controlId);
  const s = sender(q, emr.port);
  s.start();
  await until('3 ACKed', () => q.head('emr') === null);
  await s.close();
  t.same(
    emr.received.map((r) => r.controlId),
    ids,
  );
  const st = q.status(['emr'])[0];
  t.equal(st.queued, 0);
  t.equal(st.acked, 3);
  t.equal(st.lastAckCode, 'AA');
});

t.test('AE: resent up to maxAttempts, then dead with the reason; AR: dead at once; the queue goes on', async (t) => {
  const db = openDb(':memory:');
  const q = new OutboundQueue(db, 1 << 20);
  const emr = new TestEmr();
  await emr.start(0);
  t.teardown(() => emr.stop());
  const [a, b, c] = q.enqueue([msg(1), msg(2), msg(3)]);
  emr.answer = (r) => (r.controlId === a.controlId ? 'AE' : r.controlId === b.controlId ? 'AR' : 'AA');
  const s = sender(q, emr.port, { maxAttempts: 3 });
  s.start();
  await until('all settled', () => q.head('emr') === null);
  await s.close();
  t.same(
    emr.received.map((r) => r.controlId),
    [a.controlId, a.controlId, a.controlId, b.controlId, c.controlId],
    'AE thrice, AR once, then the next',
  );
  const dead = q.deadLetters();
  t.same(
    dead.map((d) => [d.controlId, d.ackCode]),
    [
      [b.controlId, 'AR'],
      [a.controlId, 'AE'],
    ],
  );
  t.match(dead[1].reason, /AE 3 times.*test AE/);
  t.equal(dead[1].attempts, 3);
  t.match(dead[0].reason, /AR: rejected/);
  t.equal(q.status(['emr'])[0].dead, 2);
  // retry of a dead letter: back in the queue, sent next
  emr.answer = () => 'AA';
  t.ok(q.retryDead(a.id));
  t.notOk(q.retryDead(c.id), 'only a dead letter can be retried');
  const s2 = sender(q, emr.port);
  s2.start();
  await until('retried', () => q.head('emr') === null);
  await s2.close();
  t.equal(emr.received.at(-1)?.controlId, a.controlId);
  t.equal(q.status(['emr'])[0].dead, 1);
});

t.test('no ACK within the timeout: resent with the same control id, never dead-lettered for it', async (t) => {
  const db = openDb(':memory:');
  const q = new OutboundQueue(db, 1 << 20);
  const emr = new TestEmr();
  await emr.start(0);
  t.teardown(() => emr.stop());
  const [a] = q.enqueue([msg(1)]);
  let silent = 4;
  emr.answer = () => (silent-- > 0 ? 'none' : 'AA');
  const s = sender(q, emr.port, { ackTimeoutMs: 100, maxAttempts: 1 });
  s.start();
  await until('ACKed at last', () => q.head('emr') === null);
  await s.close();
  t.same(
    emr.received.map((r) => r.controlId),
    Array(5).fill(a.controlId),
  );
  t.equal(q.deadLetters().length, 0);
  t.equal(s.stats.transportFailures, 4);
});

t.test('restart: what was not ACKed is sent again after reopening the database, same control ids, in order', async (t) => {
  const { open } = tempDb(t);
  const emr = new TestEmr();
  await emr.start(0);
  t.teardown(() => emr.stop());
  emr.answer = () => 'none'; // first message goes out and waits for an ACK that never comes
  let db = open();
  let q = new OutboundQueue(db, 1 << 20);
  const ids = q.enqueue([msg(1), msg(2), msg(3)]).map((m) => m.controlId);
  let s = sender(q, emr.port, { ackTimeoutMs: 60_000 });
  s.start();
  await until('first sent', () => emr.received.length === 1);
  t.equal(q.head('emr')?.state, 'sent', 'awaiting its ACK');
  await s.close();
  db.close();
  await emr.stop();

  db = open();
  q = new OutboundQueue(db, 1 << 20);
  t.equal(q.head('emr')?.controlId, ids[0], 'still the head after the restart');
  emr.answer = () => 'AA';
  s = sender(q, emr.port);
  s.start();
  await until('down endpoint retried', () => s.stats.transportFailures >= 2);
  await emr.start();
  await until('all ACKed', () => q.head('emr') === null);
  await s.close();
  db.close();
  t.same(
    emr.received.map((r) => r.controlId),
    [ids[0], ...ids],
    'the unacked head resent once with the same MSH-10, then the rest',
  );
});

t.test('bounded size: a refused enqueue is counted and leaves nothing behind, marks included', async (t) => {
  const db = openDb(':memory:');
  const one = Buffer.byteLength(msg(1).build('OL1'));
  const q = new OutboundQueue(db, one * 2 + 4);
  q.enqueue([msg(1)], [{ endpoint: 'emr', caseId: 'c1', kind: 'pcd01', coveredTo: 2000 }]);
  q.enqueue([msg(2)], [{ endpoint: 'emr', caseId: 'c1', kind: 'pcd01', coveredTo: 3000 }]);
  t.throws(() => q.enqueue([msg(3)], [{ endpoint: 'emr', caseId: 'c1', kind: 'pcd01', coveredTo: 4000 }]), QueueFullError);
  t.equal(q.refusedFull, 1);
  t.equal(q.mark('emr', 'c1', 'pcd01'), 3000, 'mark not moved: the window is produced again later');
  t.equal(q.status(['emr'])[0].queued, 2);
  t.ok(q.pendingBytes() <= one * 2 + 4);
  // a dead letter frees its room
  q.dead(q.head('emr')!.id, 'test', 'AR');
  q.enqueue([msg(3)], [{ endpoint: 'emr', caseId: 'c1', kind: 'pcd01', coveredTo: 4000 }]);
  t.equal(q.mark('emr', 'c1', 'pcd01'), 4000);
});
